"""The .deb and .tar.gz assembly, on a one-folder app small enough for every test run (a real
ELF program and a data file); the frozen CNN Studio goes through the same functions in
test_frozen_package.py."""

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
                                reason="Debian packages are built on Linux with dpkg-deb")

import linux_packages  # noqa: E402
import make_package  # noqa: E402


@pytest.fixture
def one_folder_app(tmp_path):
    app = tmp_path / "dist" / "cnn-studio"
    (app / "_internal" / "resources").mkdir(parents=True)
    shutil.copy(shutil.which("true"), app / "cnn-studio")
    (app / "_internal" / "resources" / "note.txt").write_text("bundled data\n")
    return app


def dpkg_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "--field", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_deb_layout_control_and_computed_depends(one_folder_app):
    deb = linux_packages.build_deb(one_folder_app, one_folder_app.parent, make_package.project())
    assert deb.name == f"cnn-studio_{make_package.version()}_{linux_packages.debian_architecture()}.deb"
    assert dpkg_field(deb, "Package") == "cnn-studio"
    assert dpkg_field(deb, "Version") == make_package.version()
    assert dpkg_field(deb, "Maintainer").endswith(">")
    # `true` links to glibc only: that is the whole Depends line, at this machine's version.
    assert dpkg_field(deb, "Depends").startswith("libc6 (>= 2.")
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    entries = {line.split()[-1]: line.split()[:2] for line in listing}
    assert entries["./opt/cnn-studio/cnn-studio"] == ["-rwxr-xr-x", "root/root"]
    assert entries["./usr/bin/cnn-studio"][0] == "-rwxr-xr-x"
    for path in ("./opt/cnn-studio/_internal/resources/note.txt",
                 "./usr/share/applications/cnn-studio.desktop",
                 "./usr/share/icons/hicolor/16x16/apps/cnn-studio.png",
                 "./usr/share/icons/hicolor/512x512/apps/cnn-studio.png",
                 "./usr/share/icons/hicolor/scalable/apps/cnn-studio.svg"):
        assert path in entries
    assert not any((one_folder_app.parent.parent / "build" / "deb").iterdir())  # staging removed


def test_deb_installs_into_a_scratch_root_and_removes_cleanly(one_folder_app, tmp_path):
    deb = linux_packages.build_deb(one_folder_app, one_folder_app.parent, make_package.project())
    root = tmp_path / "root"
    for folder in ("info", "updates"):
        (root / "var" / "lib" / "dpkg" / folder).mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").touch()
    dpkg = ["dpkg", f"--instdir={root}", f"--admindir={root}/var/lib/dpkg", "--force-not-root",
            "--force-script-chrootless", "--force-depends", "--log=/dev/null"]
    subprocess.run([*dpkg, "--install", str(deb)], check=True, capture_output=True)
    installed = root / "opt" / "cnn-studio" / "cnn-studio"
    assert subprocess.run([str(installed)]).returncode == 0  # the bundled program runs
    assert (root / "usr" / "share" / "applications" / "cnn-studio.desktop").is_file()
    subprocess.run([*dpkg, "--remove", "cnn-studio"], check=True, capture_output=True)
    assert not (root / "opt" / "cnn-studio").exists()
    assert not (root / "usr" / "bin" / "cnn-studio").exists()


def test_tarball_holds_the_versioned_folder(one_folder_app):
    tarball = linux_packages.build_tarball(one_folder_app, one_folder_app.parent, make_package.version())
    top = f"cnn-studio-{make_package.version()}"
    with tarfile.open(tarball) as archive:
        members = {member.name: member for member in archive.getmembers()}
    assert members[f"{top}/cnn-studio"].mode & 0o111
    assert members[f"{top}/cnn-studio"].uid == 0
    assert f"{top}/_internal/resources/note.txt" in members
    assert all(name == top or name.startswith(top + "/") for name in members)


def test_libraries_outside_the_bundle_are_found_and_owned(one_folder_app):
    external, missing = linux_packages.system_libraries(one_folder_app)
    assert not missing
    assert any(path.name.startswith("libc.so") for path in external)
    assert "libc6" in linux_packages.owning_packages(external)
