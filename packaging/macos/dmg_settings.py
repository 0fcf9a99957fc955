# dmgbuild settings: the .dmg users drag CNN Studio from into Applications.
#   python -m dmgbuild -s packaging/macos/dmg_settings.py -D app="dist/CNN Studio.app" "CNN Studio" out.dmg
# (packaging/make_package.py runs it after PyInstaller has made the .app.)
import os.path

application = defines.get("app", "dist/CNN Studio.app")  # noqa: F821 - dmgbuild provides `defines`
app_name = os.path.basename(application)
icons = os.path.join(os.path.dirname(os.path.abspath(application)), "..", "resources", "icons")

format = "UDZO"  # zlib-compressed, readable on every supported macOS
filesystem = "HFS+"
files = [application]
symlinks = {"Applications": "/Applications"}
icon = os.path.join(icons, "cnn-studio.icns")
icon_locations = {app_name: (140, 160), "Applications": (420, 160)}
background = "builtin-arrow"
window_rect = ((200, 200), (560, 340))
default_view = "icon-view"
show_status_bar = False
show_toolbar = False
icon_size = 96
