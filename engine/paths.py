"""Where the shipped resources live, in a source tree, a wheel or a frozen app."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
TEMPLATES_DIR = RESOURCES_DIR / "templates"
ICONS_DIR = RESOURCES_DIR / "icons"


def hicolor_icon_files() -> list[Path]:
    """The app icon's PNG renderings, smallest first (see packaging/make_icons.py)."""
    found = ICONS_DIR.glob("hicolor/*/apps/cnn-studio.png")
    return sorted(found, key=lambda path: int(path.parts[-3].split("x")[0]))
