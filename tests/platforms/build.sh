#!/bin/sh
# make platforms-test: tests/platforms/build.sh GOOS/GOARCH SKIP, from the
# repository root. Builds for that platform, with CGO_ENABLED=0, every
# package of the core (./sds/...) and of the Go binding (./bindings/sds, a
# module of its own), but those whose directories SKIP lists (not meant to
# build there). Packages are compiled, not linked into programs.
set -eu
platform=$1 skip=$2
export GOOS="${platform%/*}" GOARCH="${platform#*/}" CGO_ENABLED=0
go=${GO:-go}
fail() { echo "platforms-test ($platform): $*" >&2; exit 1; }
listed() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

root=$($go list -m -f '{{.Dir}}')
core=""
for dir in $($go list -f '{{.Dir}}' ./sds/... | sed "s|^$root/|./|"); do
	listed "$skip" "$dir" || core="$core $dir"
done
# shellcheck disable=SC2086
$go build $core || fail "the core does not build"
built="$core"
if ! listed "$skip" ./bindings/sds; then
	(cd bindings/sds && $go build ./...) || fail "bindings/sds does not build"
	built="$built ./bindings/sds"
fi
echo "platforms-test: $platform builds:$built${skip:+; not meant to: $skip}"
