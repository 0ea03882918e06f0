#!/bin/sh
# mk/deps.sh PART: makes sure the tools a part of the build needs are
# there, installing the missing ones with Debian's apt-get when it can (as
# root, or through sudo without a password) unless SDS_NO_INSTALL is set;
# otherwise it names what is missing and fails. Go and make are assumed.
#
#   lib   (make, make run)  a C compiler for cgo: gcc, libc6-dev
#   test  (make test)       lib, and valgrind, pkg-config, python3 with
#                           venv, setuptools and wheel (Debian's, for the
#                           pip install test), cargo with Rust 1.63
#                           (Debian bookworm's), nim, and for the arm64
#                           build and tests (mk/arm64.mk) the aarch64 cross
#                           compiler and C library and qemu-user
#   ARCH=arm64 (make ARCH=arm64, on another machine): the aarch64 cross
#                           compiler and C library
set -eu
part=${1:?usage: mk/deps.sh lib|test}
missing=""
need() { # need PACKAGES... unless the check before it succeeded
	missing="$missing $*"
}
command -v cc >/dev/null 2>&1 || need gcc libc6-dev
cross_arm64=""
if [ "$(uname -m 2>/dev/null)" != aarch64 ] && { [ "$part" = test ] || [ "${ARCH:-}" = arm64 ]; }; then
	cross_arm64=1
	{ command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ -f /usr/aarch64-linux-gnu/include/stdio.h ]; } ||
		need gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
if [ "$part" = test ]; then
	command -v valgrind >/dev/null 2>&1 || need valgrind
	command -v pkg-config >/dev/null 2>&1 || need pkg-config
	command -v python3 >/dev/null 2>&1 || need python3
	/usr/bin/python3 -c 'import venv, ensurepip, setuptools, wheel' >/dev/null 2>&1 ||
		need python3-venv python3-setuptools python3-wheel
	[ -x /usr/bin/cargo ] || need cargo
	command -v nim >/dev/null 2>&1 || need nim
	[ -z "$cross_arm64" ] || command -v qemu-aarch64 >/dev/null 2>&1 || need qemu-user
fi
[ -z "$missing" ] && exit 0

echo "make $part needs these Debian packages:$missing"
if [ -n "${SDS_NO_INSTALL:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install them (apt-get install$missing) and run make again"
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		echo "not root and no password-less sudo: run apt-get install$missing as root, then make again"
		exit 1
	fi
fi
echo "installing them (SDS_NO_INSTALL=1 to only report)"
# shellcheck disable=SC2086
$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
