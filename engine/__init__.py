"""CNN Studio engine: the model of the work, pure Python + Keras. Never imports Qt."""


def _version() -> str:
    """The version written in pyproject.toml: from the installed metadata (a pip install or
    a frozen app, which carries it), else from pyproject.toml itself (a bare source tree)."""
    from importlib import metadata

    try:
        return metadata.version("cnn-studio")
    except metadata.PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0.0.0+unknown"


__version__ = _version()
