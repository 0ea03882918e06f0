#!/bin/sh
# make dist-test: tests/dist/check.sh VERSION TARBALL ARCH CC [RUN...], from
# the repository root. Checks a tarball of make dist (mk/dist.mk): the
# files it holds, that its libraries are built for ARCH, and that a C
# program built with CC against the unpacked tree, through pkg-config
# alone, runs (under RUN, an emulator, when given) against the shared and
# the static library.
set -eu
version=$1 tarball=$2 arch=$3 cc=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "dist-test ($arch): $*" >&2; exit 1; }
name=libsds-$version-linux-$arch

# 1. Exactly these files, under one directory named like the tarball.
want="$name/
$name/LICENSE-APACHE
$name/LICENSE-MIT
$name/README
$name/include/
$name/include/libsds.h
$name/lib/
$name/lib/libsds.a
$name/lib/libsds.so
$name/lib/libsds.so.0
$name/lib/libsds.so.$version
$name/lib/pkgconfig/
$name/lib/pkgconfig/libsds.pc"
got=$(tar -tzf "$tarball")
[ "$got" = "$want" ] || fail "$tarball holds:
$got
instead of:
$want"

# 2. Unpacked, then moved: nothing in it may name where it was made.
tar -C "$tmp" -xzf "$tarball"
mv "$tmp/$name" "$tmp/moved"
root=$tmp/moved lib=$tmp/moved/lib
[ "$(readlink "$lib/libsds.so.0")" = "libsds.so.$version" ] || fail "libsds.so.0 does not link to libsds.so.$version"
[ "$(readlink "$lib/libsds.so")" = "libsds.so.0" ] || fail "libsds.so does not link to libsds.so.0"
readelf -d "$lib/libsds.so.$version" | grep -q 'SONAME.*\[libsds.so.0\]' || fail "no soname libsds.so.0"
case $arch in amd64) machine="X86-64" ;; arm64) machine="AArch64" ;; *) fail "unknown arch" ;; esac
readelf -h "$lib/libsds.so.$version" | grep -q "Machine:.*$machine" || fail "libsds.so is not built for $machine"
cmp -s include/libsds.h "$root/include/libsds.h" || fail "include/libsds.h differs from the source's"
grep -q "^libsds $version for linux/$arch" "$root/README" || fail "README does not name libsds $version for linux/$arch"
grep -Eq 'glibc [0-9]+\.[0-9]+ or later' "$root/README" || fail "README names no glibc version"

# 3. pkg-config finds the tree where it now is.
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion libsds)" = "$version" ] || fail "libsds.pc: version is not $version"
[ "$(cd "$(pkg-config --variable=libdir libsds)" && pwd -P)" = "$(cd "$lib" && pwd -P)" ] ||
	fail "libsds.pc: libdir $(pkg-config --variable=libdir libsds) is not $lib"
[ "$(cd "$(pkg-config --variable=includedir libsds)" && pwd -P)" = "$(cd "$root/include" && pwd -P)" ] ||
	fail "libsds.pc: includedir is not $root/include"

# 4. A program built with pkg-config alone, shared and static, runs.
# shellcheck disable=SC2046
$cc tests/install/hello.c $(pkg-config --cflags --libs libsds) -o "$tmp/hello"
LD_LIBRARY_PATH=$lib "$@" "$tmp/hello" | grep -q "^libsds $version: wrapped" || fail "hello (shared) did not run"
# shellcheck disable=SC2046
$cc tests/install/hello.c $(pkg-config --cflags libsds) "$(pkg-config --variable=libdir libsds)/libsds.a" \
	$(pkg-config --static --libs-only-l libsds | sed 's/-lsds//') -o "$tmp/hello-static"
"$@" "$tmp/hello-static" | grep -q "^libsds $version: wrapped" || fail "hello (static) did not run"
echo "dist-test: $tarball: files, $machine libraries, relocatable pkg-config, a program (shared and static) runs${1:+ under $1}"
