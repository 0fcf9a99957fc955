"""What every installer is made from: one version, the icon set, the desktop entry, the
per-OS installer scripts. (The full frozen build is tests/packaging/test_frozen_package.py.)"""

import configparser
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

sys.path.insert(0, str(PACKAGING))
import make_icons  # noqa: E402  (packaging/ is scripts, not a package: it would shadow `packaging`)


def test_the_version_comes_from_pyproject(capsys):
    from desktop.launcher import main
    from engine import __version__

    assert __version__ == PYPROJECT_VERSION
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"cnn-studio {PYPROJECT_VERSION}"


def test_a_bare_source_tree_reads_the_version_from_pyproject(tmp_path):
    """Without installed metadata (a checkout on PYTHONPATH) the version is still pyproject's."""
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    script = ("import importlib.metadata as m\n"
              "def missing(name): raise m.PackageNotFoundError(name)\n"
              "m.version = missing\n"
              "import engine; print(engine.__version__)")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert out.stdout.strip() == PYPROJECT_VERSION


def test_about_box_shows_the_version(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    seen = []

    def read_and_close():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.accept()
        else:
            QTimer.singleShot(20, read_and_close)

    QTimer.singleShot(20, read_and_close)
    about = next(action for action in window.menuBar().actions() if action.text() == "&Help")
    next(action for action in about.menu().actions() if action.text() == "&About CNN Studio").trigger()
    assert seen and f"CNN Studio</b> {PYPROJECT_VERSION}" in seen[0]


def test_installer_file_names_carry_the_version():
    import linux_packages
    import make_package

    assert make_package.version() == PYPROJECT_VERSION
    assert linux_packages.deb_file_name(PYPROJECT_VERSION, "amd64") == f"cnn-studio_{PYPROJECT_VERSION}_amd64.deb"
    assert linux_packages.tarball_file_name(PYPROJECT_VERSION, "x86_64") == \
        f"cnn-studio-{PYPROJECT_VERSION}-linux-x86_64.tar.gz"
    iss = (PACKAGING / "windows" / "cnn-studio.iss").read_text()
    assert "OutputBaseFilename=CNN-Studio-{#AppVersion}-setup" in iss
    assert PYPROJECT_VERSION not in iss  # passed in by make_package.py, never written twice
    assert "/DAppVersion={version()}" in (PACKAGING / "make_package.py").read_text()


def test_icon_set_has_every_size_each_os_needs():
    from PIL import Image

    for size in make_icons.LINUX_SIZES:
        with Image.open(make_icons.hicolor_png(size)) as png:
            assert png.size == (size, size) and png.mode == "RGBA"
    with Image.open(ICONS / "cnn-studio.ico") as ico:
        assert {(s, s) for s in make_icons.WINDOWS_SIZES} <= set(ico.info["sizes"])
    with Image.open(ICONS / "cnn-studio.icns") as icns:
        assert max(icns.info["sizes"]) >= (512, 512, 2)  # 1024 px for Retina


def test_committed_icons_match_the_svg(qapp):
    """The PNGs are renderings of the SVG as it is now (rerun make_icons.py after editing it)."""
    from PIL import Image, ImageChops

    for size in (16, 48, 256):
        fresh = Image.open(io.BytesIO(make_icons.render_png(size))).convert("RGBA")
        committed = Image.open(make_icons.hicolor_png(size)).convert("RGBA")
        assert ImageChops.difference(fresh, committed).getbbox() is None


def test_window_icon_is_the_app_icon(qapp):
    from desktop.__main__ import app_icon

    sizes = {size.width() for size in app_icon().availableSizes()}
    assert set(make_icons.LINUX_SIZES) <= sizes


def test_desktop_entry_launches_the_installed_command():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "linux" / "cnn-studio.desktop")
    fields = entry["Desktop Entry"]
    assert fields["Type"] == "Application" and fields["Name"] == "CNN Studio"
    assert fields["Exec"].split()[0] == "cnn-studio"
    assert fields["Icon"] == make_icons.hicolor_png(48).stem
    assert fields["Categories"].endswith(";")
    launcher = (PACKAGING / "linux" / "cnn-studio.sh").read_text()
    assert 'exec /opt/cnn-studio/cnn-studio "$@"' in launcher
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(PACKAGING / "linux" / "cnn-studio.desktop")], check=True)


def test_windows_and_macos_installers_reference_files_that_exist():
    iss = (PACKAGING / "windows" / "cnn-studio.iss").read_text()
    icon = re.search(r"^SetupIconFile=(.+)$", iss, re.M).group(1).strip()
    assert (PACKAGING / "windows" / icon.replace("\\", "/")).resolve() == (ICONS / "cnn-studio.ico").resolve()
    assert 'Name: "{group}\\CNN Studio"; Filename: "{app}\\cnn-studio.exe"' in iss
    assert "{uninstallexe}" in iss
    spec = (PACKAGING / "cnn-studio.spec").read_text()
    assert '"cnn-studio.icns"' in spec and "BUNDLE(" in spec and "cnn-studio-cli" in spec
    workflow = (ROOT / ".github" / "workflows" / "package.yml").read_text()
    for job in ("linux:", "windows:", "macos:"):
        assert job in workflow
    assert workflow.count("self-test") >= 3
