"""The Linux packages of a frozen CNN Studio: a .deb (dpkg-deb) and a portable .tar.gz.

The .deb installs the one-folder app to /opt/cnn-studio, a `cnn-studio` launcher in
/usr/bin, a desktop entry and the icon in every hicolor size. Its Depends line is not
written by hand: it lists the Debian packages owning the shared libraries that the bundle
links to but PyInstaller leaves to the system (glibc, the GL/EGL and xcb stack), found with
ldd and `dpkg -S` on the build machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ICONS = HERE.parent / "resources" / "icons"
INSTALL_DIR = Path("opt/cnn-studio")
PACKAGE = "cnn-studio"
ELF_MAGIC = b"\x7fELF"
LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)")


def debian_architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def deb_file_name(version: str, architecture: str) -> str:
    return f"{PACKAGE}_{version}_{architecture}.deb"


def tarball_file_name(version: str, machine: str) -> str:
    return f"{PACKAGE}-{version}-linux-{machine}.tar.gz"


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    found.append(path)
    return sorted(found)


def system_libraries(app_dir: Path) -> tuple[set[Path], dict[str, set[str]]]:
    """What the bundle's ELF files load from outside it: (resolved system paths, and the
    libraries found nowhere, each with the bundled files that want them)."""
    app_dir = app_dir.resolve()
    binaries = elf_files(app_dir)
    bundled_names = {path.name for path in binaries} | {
        path.name for path in app_dir.rglob("*.so*") if path.is_symlink()}
    search_path = os.pathsep.join(sorted({str(path.parent) for path in binaries}))
    environment = {**os.environ, "LD_LIBRARY_PATH": search_path}
    external: set[Path] = set()
    missing: dict[str, set[str]] = {}
    for binary in binaries:
        listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True,
                                 env=environment).stdout
        for line in listing.splitlines():
            match = LDD_LINE.match(line)
            if not match:
                continue
            name, target = match.groups()
            if target == "not":  # "libfoo.so.1 => not found"
                if name not in bundled_names:
                    missing.setdefault(name, set()).add(str(binary.relative_to(app_dir)))
            elif not Path(target).resolve().is_relative_to(app_dir):
                external.add(Path(target))
    return external, missing


def owning_packages(paths: set[Path]) -> set[str]:
    """The Debian packages that installed these files (usrmerge: /lib and /usr/lib alike)."""
    candidates: dict[str, Path] = {}
    for path in paths:
        for variant in {path, path.resolve()}:
            text = str(variant)
            candidates[text] = path
            if text.startswith("/usr/lib/"):
                candidates[text.removeprefix("/usr")] = path
            elif text.startswith("/lib"):
                candidates["/usr" + text] = path
    result = subprocess.run(["dpkg", "-S", *sorted(candidates)], capture_output=True, text=True)
    packages, owned = set(), set()
    for line in result.stdout.splitlines():
        names, _, file = line.partition(": ")
        if file in candidates:
            owned.add(candidates[file])
            packages.update(name.split(":")[0].strip() for name in names.split(","))
    unowned = paths - owned
    if unowned:
        raise SystemExit("no Debian package owns these libraries the app needs: "
                         + ", ".join(sorted(map(str, unowned))))
    return packages


def installed_version(package: str) -> str:
    output = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                            text=True, check=True).stdout
    return output.split("-")[0].split("+")[0]


def depends_line(app_dir: Path) -> str:
    external, missing = system_libraries(app_dir)
    essential = {name: wanted for name, wanted in missing.items()
                 if any(_is_essential(path) for path in wanted)}
    if essential:
        details = "; ".join(f"{name} (for {', '.join(sorted(wanted)[:3])})"
                            for name, wanted in sorted(essential.items()))
        raise SystemExit(f"the frozen app needs libraries this machine lacks: {details}. "
                         "Install them (make package does so with apt) and build again.")
    packages = owning_packages(external)
    # Built against this glibc: older ones may lack the symbol versions the bundle uses.
    return ", ".join(f"{name} (>= {installed_version(name)})" if name == "libc6" else name
                     for name in sorted(packages))


def _is_essential(bundled_file: str) -> bool:
    """Qt plugins that only some systems can use may want libraries a desktop need not have
    (GTK for the GNOME theme, a compositor's server side, framebuffer, VNC, printing, SQL);
    Qt skips such a plugin when it cannot load. Everything else must resolve."""
    optional = ("platformthemes/libqgtk3", "platforms/libqeglfs", "platforms/libqlinuxfb",
                "platforms/libqvnc", "platforms/libqminimalegl", "egldeviceintegrations/",
                "generic/", "wayland-graphics-integration-server/", "printsupport/",
                "sqldrivers/")
    return not any(part in bundled_file for part in optional)


def control_file(project: dict, architecture: str, installed_kib: int, depends: str) -> str:
    maintainer = project["maintainers"][0]
    homepage = project.get("urls", {}).get("Homepage")
    return (f"Package: {PACKAGE}\n"
            f"Version: {project['version']}\n"
            "Section: science\n"
            "Priority: optional\n"
            f"Architecture: {architecture}\n"
            f"Maintainer: {maintainer['name']} <{maintainer['email']}>\n"
            f"Installed-Size: {installed_kib}\n"
            f"Depends: {depends}\n"
            + (f"Homepage: {homepage}\n" if homepage else "")
            + f"Description: {project['description']}\n"
            " CNN Studio is a desktop network builder: drag layer blocks onto a canvas, see every\n"
            " shape, parameter count and mistake as you make it, train the network on built-in\n"
            " offline datasets and watch it learn (curves, filters, feature maps, hand-crafted\n"
            " versus learned features). It bundles its own Python, Keras and TensorFlow.\n")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)  # the app is ~1 GB: staging by hard links costs no disk
    except OSError:
        shutil.copy2(source, target)


def stage_deb(app_dir: Path, stage: Path, project: dict, architecture: str) -> Path:
    """Lay out the package's file tree under stage/ (with DEBIAN/control)."""
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(app_dir, stage / INSTALL_DIR, symlinks=True, copy_function=_link_or_copy)
    launcher = stage / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    shutil.copy(HERE / "linux" / "cnn-studio.sh", launcher)
    launcher.chmod(0o755)
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy(HERE / "linux" / "cnn-studio.desktop", applications / "cnn-studio.desktop")
    hicolor = stage / "usr" / "share" / "icons" / "hicolor"
    shutil.copytree(ICONS / "hicolor", hicolor)
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy(ICONS / "cnn-studio.svg", hicolor / "scalable" / "apps" / "cnn-studio.svg")
    for folder in [stage, *(path for path in stage.rglob("*") if path.is_dir())]:
        folder.chmod(0o755)
    installed_kib = sum(path.lstat().st_size for path in stage.rglob("*") if path.is_file()) // 1024
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir(mode=0o755)
    control.write_text(control_file(project, architecture, installed_kib, depends_line(app_dir)),
                       encoding="utf-8")
    return stage


def build_deb(app_dir: Path, out_dir: Path, project: dict) -> Path:
    architecture = debian_architecture()
    stage = out_dir.parent / "build" / "deb" / f"{PACKAGE}_{architecture}"
    stage_deb(app_dir, stage, project, architecture)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / deb_file_name(project["version"], architecture)
    # xz (what every dpkg reads), multi-threaded; -z6 is dpkg's default level.
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z6", "--build", str(stage), str(deb)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(stage)
    return deb


def build_tarball(app_dir: Path, out_dir: Path, version: str) -> Path:
    """The same folder as dist/cnn-studio/, named cnn-studio-<version>/: unpack and run."""
    machine = os.uname().machine
    tarball = out_dir / tarball_file_name(version, machine)
    compressor = "pigz" if shutil.which("pigz") else "gzip"
    subprocess.run(["tar", "--create", f"--use-compress-program={compressor}", "--owner=0",
                    "--group=0", "--numeric-owner", f"--transform=s,^{app_dir.name},{PACKAGE}-{version},",
                    "--file", str(tarball), "--directory", str(app_dir.parent), app_dir.name],
                   check=True)
    return tarball
