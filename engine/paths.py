"""Where the shipped resources live, in a source tree, a wheel or a frozen app."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
TEMPLATES_DIR = RESOURCES_DIR / "templates"
