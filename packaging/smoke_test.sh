#!/usr/bin/env bash
# Install the .deb, run the installed app's self-test offscreen, uninstall; exit 0 only if all worked.
#
#   packaging/smoke_test.sh [--system] [dist/cnn-studio_<version>_<arch>.deb]
#
# By default the package goes into a scratch root (dpkg --instdir/--admindir): nothing on
# this machine changes. With --system it is installed on the machine with apt (as root),
# which also proves its Depends line resolves, and removed again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=scratch
if [ "${1:-}" = "--system" ]; then mode=system; shift; fi
deb=${1:-$(ls -t dist/cnn-studio_*.deb 2>/dev/null | head -n 1 || true)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "no .deb found: run 'make package' first" >&2; exit 2; }
deb=$(realpath "$deb")

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "smoke test FAILED: $*" >&2; exit 1; }

echo "package:   $(basename "$deb") ($(stat -c %s "$deb" | awk '{ printf "%.0f", $1 / 1e6 }') MB)"
dpkg-deb --field "$deb" Package Version Architecture Installed-Size Depends | sed 's/^/  /'

# A throwaway home: the self-test must not read or write the user's settings or runs.
scratch_home=$(mktemp -d)
root=""
cleanup() { rm -rf "$scratch_home"; [ -n "$root" ] && rm -rf "$root"; return 0; }
trap cleanup EXIT

started=$(seconds)
if [ "$mode" = system ]; then
    [ "$(id -u)" = 0 ] || fail "--system installs with apt and needs root"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
    prefix=""
    installed=/usr/bin/cnn-studio
else
    root=$(mktemp -d)
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    touch "$root/var/lib/dpkg/status"
    dpkg_scratch() {
        dpkg --instdir="$root" --admindir="$root/var/lib/dpkg" --force-not-root \
             --force-script-chrootless --force-depends --log=/dev/null "$@"
    }
    # The scratch database knows no libraries, so check the Depends line against this machine.
    depends=$(dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep -v '^$')
    for package in $depends; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || fail "dependency $package is not installed on this machine"
    done
    # --force-depends: dpkg complains about every dependency missing from the scratch database.
    dpkg_scratch --install "$deb" >"$scratch_home/dpkg.log" 2>&1 || { cat "$scratch_home/dpkg.log"; fail "dpkg --install"; }
    prefix=$root
    installed=$root/opt/cnn-studio/cnn-studio  # /usr/bin/cnn-studio execs /opt/cnn-studio, absolute
fi
echo "installed: $(elapsed "$started") s ($(du -sb "$prefix/opt/cnn-studio" | awk '{ printf "%.0f", $1 / 1e6 }') MB in /opt/cnn-studio)"

for file in /usr/bin/cnn-studio /usr/share/applications/cnn-studio.desktop \
            /usr/share/icons/hicolor/256x256/apps/cnn-studio.png \
            /usr/share/icons/hicolor/scalable/apps/cnn-studio.svg /opt/cnn-studio/cnn-studio; do
    [ -e "$prefix$file" ] || fail "$file is not installed"
done
grep -q '^exec /opt/cnn-studio/cnn-studio "\$@"' "$prefix/usr/bin/cnn-studio" || fail "launcher does not run /opt/cnn-studio"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$prefix/usr/share/applications/cnn-studio.desktop" || fail "desktop entry invalid"
fi

version=$(HOME=$scratch_home "$installed" --version 2>/dev/null)
[ "$version" = "cnn-studio $(dpkg-deb --field "$deb" Version)" ] || fail "--version says '$version'"
echo "version:   $version"

started=$(seconds)
HOME=$scratch_home XDG_CONFIG_HOME=$scratch_home/.config XDG_DATA_HOME=$scratch_home/.local/share XDG_STATE_HOME=$scratch_home/.local/state \
    QT_QPA_PLATFORM=offscreen "$installed" self-test || fail "the installed app's self-test failed"
echo "self-test: $(elapsed "$started") s"

started=$(seconds)
if [ "$mode" = system ]; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq cnn-studio >/dev/null
else
    dpkg_scratch --remove cnn-studio >"$scratch_home/dpkg.log" 2>&1 || { cat "$scratch_home/dpkg.log"; fail "dpkg --remove"; }
fi
[ ! -e "$prefix/opt/cnn-studio" ] || fail "/opt/cnn-studio is still there after removal"
[ ! -e "$prefix/usr/bin/cnn-studio" ] || fail "/usr/bin/cnn-studio is still there after removal"
echo "removed:   $(elapsed "$started") s"
echo "smoke test passed"
