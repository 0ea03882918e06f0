#!/bin/sh
# make install-test: tests/install/check.sh MAKE CC VERSION, from the
# repository root, once the library is built. See mk/install.mk.
set -eu
make=$1 cc=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-test: $*" >&2; exit 1; }

# 1. An install into a prefix of its own.
prefix=$tmp/prefix
$make --no-print-directory install PREFIX="$prefix" >/dev/null
lib=$prefix/lib
[ -f "$lib/libsds.so.$version" ] && [ ! -L "$lib/libsds.so.$version" ] || fail "no $lib/libsds.so.$version"
[ "$(readlink "$lib/libsds.so.0")" = "libsds.so.$version" ] || fail "libsds.so.0 does not link to libsds.so.$version"
[ "$(readlink "$lib/libsds.so")" = "libsds.so.0" ] || fail "libsds.so does not link to libsds.so.0"
readelf -d "$lib/libsds.so.$version" | grep -q 'SONAME.*\[libsds.so.0\]' || fail "installed library has no soname libsds.so.0"
[ -f "$lib/libsds.a" ] && [ -f "$prefix/include/libsds.h" ] || fail "libsds.a or libsds.h not installed"
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --variable=prefix libsds)" = "$prefix" ] || fail "libsds.pc: prefix is not $prefix"
[ "$(pkg-config --modversion libsds)" = "$version" ] || fail "libsds.pc: version is not $version"

# 2. A program built with pkg-config alone, against the shared library
# (found through LD_LIBRARY_PATH, as the README says for such a prefix)...
# shellcheck disable=SC2046
$cc tests/install/hello.c $(pkg-config --cflags --libs libsds) -o "$tmp/hello"
LD_LIBRARY_PATH=$lib "$tmp/hello" | grep -q "^libsds $version: wrapped" || fail "hello (shared) did not run"
LD_LIBRARY_PATH=$lib ldd "$tmp/hello" | grep -q "libsds.so.0 => $lib/libsds.so.0" || fail "hello does not load $lib/libsds.so.0"
# ... and against the archive.
# shellcheck disable=SC2046
$cc tests/install/hello.c $(pkg-config --cflags libsds) "$(pkg-config --variable=libdir libsds)/libsds.a" \
	$(pkg-config --static --libs-only-l libsds | sed 's/-lsds//') -o "$tmp/hello-static"
"$tmp/hello-static" | grep -q "^libsds $version: wrapped" || fail "hello (static) did not run"
! ldd "$tmp/hello-static" | grep -q libsds || fail "hello-static loads libsds.so"

# 3. Uninstall leaves nothing.
$make --no-print-directory uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"

# 4. A staged install: files under DESTDIR, naming the final paths only.
stage=$tmp/stage
$make --no-print-directory install DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib/multiarch >/dev/null
[ -f "$stage/usr/lib/multiarch/libsds.so.$version" ] || fail "DESTDIR/LIBDIR not honoured"
[ -f "$stage/usr/include/libsds.h" ] || fail "DESTDIR/PREFIX not honoured for the header"
pc=$stage/usr/lib/multiarch/pkgconfig/libsds.pc
grep -qx 'prefix=/usr' "$pc" && grep -qx 'libdir=/usr/lib/multiarch' "$pc" || fail "staged libsds.pc: $(cat "$pc")"
! grep -q "$tmp" "$pc" || fail "staged libsds.pc names DESTDIR"
$make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr LIBDIR=/usr/lib/multiarch >/dev/null
left=$(find "$stage" ! -type d)
[ -z "$left" ] || fail "staged uninstall left: $left"
echo "install-test: install, pkg-config build (shared and static), DESTDIR and uninstall work"
