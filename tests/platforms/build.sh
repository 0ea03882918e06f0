#!/bin/sh
# make platforms-test: tests/platforms/build.sh GOOS/GOARCH SKIP XFAIL WHY,
# from the repository root. Builds for that platform, with CGO_ENABLED=0,
# every package of the core (./sds/...) and of the Go binding
# (./bindings/sds, a module of its own), but those whose directories SKIP
# lists (not meant to build there) and XFAIL lists (expected to fail for
# now: each must still fail, with WHY in its errors, and the check fails
# when one builds, to have it taken off the list). Packages are compiled,
# not linked into programs.
set -eu
platform=$1 skip=$2 xfail=$3 why=$4
export GOOS="${platform%/*}" GOARCH="${platform#*/}" CGO_ENABLED=0
go=${GO:-go}
fail() { echo "platforms-test ($platform): $*" >&2; exit 1; }
listed() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

root=$($go list -m -f '{{.Dir}}')
core=""
for dir in $($go list -f '{{.Dir}}' ./sds/... | sed "s|^$root/|./|"); do
	listed "$skip $xfail" "$dir" || core="$core $dir"
done
# shellcheck disable=SC2086
$go build $core || fail "the core does not build"
built="$core"
if ! listed "$skip $xfail" ./bindings/sds; then
	(cd bindings/sds && $go build ./...) || fail "bindings/sds does not build"
	built="$built ./bindings/sds"
fi
for dir in $xfail; do
	if out=$(cd "$dir" && $go build . 2>&1); then
		fail "$dir now builds: take it off the expected failures (PLATFORM_XFAIL_$platform, mk/platforms.mk)"
	fi
	echo "$out" | grep -q "$why" || fail "$dir: expected to fail for $why only, failed with:
$out"
done
echo "platforms-test: $platform builds:$built${skip:+; not meant to: $skip}${xfail:+; fails for $why, as expected for now: $xfail}"
