"""Build CNN Studio's installers on the current OS: `make package` (or this script directly).

    .venv/bin/python packaging/make_package.py [--no-freeze]

1. PyInstaller freezes the app into dist/cnn-studio/ (packaging/cnn-studio.spec);
2. then, by OS:
   - Linux: dist/cnn-studio_<version>_<arch>.deb and dist/cnn-studio-<version>-linux-<machine>.tar.gz
     (packaging/linux_packages.py);
   - Windows: dist/CNN-Studio-<version>-setup.exe with Inno Setup (packaging/windows/cnn-studio.iss);
   - macOS: dist/CNN-Studio-<version>-macos-<machine>.dmg with dmgbuild (packaging/macos/dmg_settings.py).
The version in every file name comes from pyproject.toml.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
FROZEN_APP = DIST / "cnn-studio"
MACOS_APP = DIST / "CNN Studio.app"


def project() -> dict:
    """pyproject.toml's [project] table: the one place the name, version and authors live."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def version() -> str:
    return project()["version"]


def machine() -> str:
    """x86_64 / aarch64 / arm64, as the OS names it (the same word `uname -m` prints)."""
    return platform.machine().lower() or "unknown"


def folder_size_bytes(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if not path.is_dir())


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def freeze() -> Path:
    """Run PyInstaller on the spec; return the one-folder app."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller"),
                    str(PACKAGING / "cnn-studio.spec")], check=True, cwd=ROOT)
    if sys.platform.startswith("linux") and shutil.which("strip"):
        strip_symbol_tables(FROZEN_APP / "_internal" / "tensorflow")
    print(f"froze {FROZEN_APP} ({megabytes(folder_size_bytes(FROZEN_APP))}) "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return FROZEN_APP


def strip_symbol_tables(folder: Path) -> None:
    """TensorFlow's Linux libraries ship their static symbol tables (~250 MB): drop them, as
    distributions do (`strip --strip-unneeded` keeps every symbol the loader needs). Only
    TensorFlow's: other wheels' libraries were rewritten by auditwheel, which strip can break."""
    before = folder_size_bytes(folder)
    for library in folder.rglob("*.so*"):
        if library.is_file() and not library.is_symlink():
            stripped = library.with_name(library.name + ".stripped")  # never edit a shared inode
            subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(library)], check=True)
            os.replace(stripped, library)
    print(f"stripped TensorFlow's libraries: {megabytes(before)} -> {megabytes(folder_size_bytes(folder))}",
          flush=True)


def package_windows() -> list[Path]:
    default = Path(os.environ.get("ProgramFiles(x86)", "C:/Program Files (x86)")) / "Inno Setup 6" / "ISCC.exe"
    compiler = shutil.which("iscc") or (str(default) if default.exists() else None)
    if compiler is None:
        raise SystemExit("Inno Setup 6 (ISCC.exe) is needed to build the Windows installer: "
                         "https://jrsoftware.org/isinfo.php (or `choco install innosetup`)")
    subprocess.run([compiler, f"/DAppVersion={version()}", f"/DSourceDir={FROZEN_APP}",
                    f"/DOutputDir={DIST}", str(PACKAGING / "windows" / "cnn-studio.iss")], check=True)
    return [DIST / f"CNN-Studio-{version()}-setup.exe"]


def package_macos() -> list[Path]:
    dmg = DIST / f"CNN-Studio-{version()}-macos-{machine()}.dmg"
    dmg.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "dmgbuild", "-s", str(PACKAGING / "macos" / "dmg_settings.py"),
                    "-D", f"app={MACOS_APP}", "CNN Studio", str(dmg)], check=True)
    return [dmg]


def package_linux() -> list[Path]:
    sys.path.insert(0, str(PACKAGING))
    from linux_packages import build_deb, build_tarball

    return [build_deb(FROZEN_APP, DIST, project()), build_tarball(FROZEN_APP, DIST, version())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-freeze", action="store_true",
                        help="package the dist/cnn-studio/ already built")
    args = parser.parse_args(argv)
    if not args.no_freeze:
        freeze()
    elif not FROZEN_APP.is_dir():
        raise SystemExit(f"{FROZEN_APP} does not exist: run without --no-freeze first")
    builders = {"linux": package_linux, "win32": package_windows, "darwin": package_macos}
    if sys.platform not in builders:
        raise SystemExit(f"no installer is made on {sys.platform}; the frozen app is in {FROZEN_APP}")
    for artifact in builders[sys.platform]():
        print(f"built {artifact} ({megabytes(artifact.stat().st_size)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
