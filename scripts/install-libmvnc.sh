#!/bin/sh
# Installs ncs's drop-in libmvnc the way NCSDK 1.x's `make install` laid Intel's out, so
# unmodified NCSDK v1 programs (linked against libmvnc.so or libmvnc.so.0) and the NCSDK Python
# API (which loads "libmvnc.so") find it:
#
#   PREFIX/lib/libmvnc.so.0          the library (SONAME libmvnc.so.0)
#   PREFIX/lib/libmvnc.so            -> libmvnc.so.0
#   PREFIX/include/mvnc.h            the NCSDK v1 header (our declaration, vendor/mvnc.h)
#   PREFIX/lib/mvnc/MvNCAPI.mvcmd    Intel's firmware, when given (--firmware FILE or $NCS_FIRMWARE)
#
# Usage: scripts/install-libmvnc.sh [--prefix DIR] [--firmware FILE] [--lib FILE]
# (--lib: install this already-built library instead of building target/release/libmvnc.so)
# Default prefix /usr/local. Software sticks need no firmware: run programs with NCS_EMULATE=N.
set -eu
prefix=/usr/local
firmware=${NCS_FIRMWARE:-}
build=yes
lib=
usage="usage: scripts/install-libmvnc.sh [--prefix DIR] [--firmware FILE] [--lib FILE]"
# A usage error: what was wrong, the usage line, exit 2 (as the ncs CLI does).
refuse() {
    echo "install-libmvnc: $1" >&2
    echo "$usage" >&2
    exit 2
}
# The value of option $1 from the remaining arguments; refused when missing or empty.
value_of() {
    [ $# -ge 2 ] && [ -n "$2" ] || refuse "$1 needs a value"
}
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) value_of "$@"; prefix=$2; shift 2 ;;
        --firmware) value_of "$@"; firmware=$2; shift 2 ;;
        --lib) value_of "$@"; lib=$2; build=no; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) refuse "unknown option $1" ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$build" = yes ]; then
    (cd "$root" && cargo build --release -p ncs-libmvnc)
    lib="$root/target/release/libmvnc.so"
fi
[ -f "$lib" ] || { echo "install-libmvnc: $lib not built (cargo build --release -p ncs-libmvnc)" >&2; exit 2; }
if [ -n "$firmware" ] && [ ! -f "$firmware" ]; then
    echo "install-libmvnc: firmware $firmware not found" >&2; exit 2
fi
mkdir -p "$prefix/lib/mvnc" "$prefix/include"
cp "$lib" "$prefix/lib/libmvnc.so.0"
ln -sf libmvnc.so.0 "$prefix/lib/libmvnc.so"
cp "$root/vendor/mvnc.h" "$prefix/include/mvnc.h"
if [ -n "$firmware" ]; then
    cp "$firmware" "$prefix/lib/mvnc/MvNCAPI.mvcmd"
fi
# Refresh the loader cache where it covers the prefix (it does for /usr/local/lib).
if [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then ldconfig 2>/dev/null || true; fi
echo "installed into $prefix: lib/libmvnc.so.0, lib/libmvnc.so, include/mvnc.h${firmware:+, lib/mvnc/MvNCAPI.mvcmd}"
