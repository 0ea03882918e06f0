#!/bin/sh
# make meta-test: tests/meta_check.sh VERSION PC_FILE, from the repository
# root. The license is stated the same way everywhere (LICENSE-MIT and
# LICENSE-APACHE, SPDX "MIT OR Apache-2.0" in the header, the Cargo and
# Python metadata, the .pc file and the README); every package carries the
# library's version; what the README's commands write stays out of git.
set -eu
version=$1 pc=$2
spdx="MIT OR Apache-2.0"
fail() { echo "meta-test: $*" >&2; exit 1; }

grep -q "^MIT License" LICENSE-MIT || fail "LICENSE-MIT is not the MIT license"
grep -q "Apache License" LICENSE-APACHE && grep -q "Version 2.0, January 2004" LICENSE-APACHE ||
	fail "LICENSE-APACHE is not the Apache License 2.0"
[ "$(head -n 1 include/libsds.h)" = "/* SPDX-License-Identifier: $spdx */" ] ||
	fail "include/libsds.h does not start with the SPDX line"
grep -qx "license = \"$spdx\"" examples/rust/Cargo.toml || fail "examples/rust/Cargo.toml: license is not $spdx"
grep -qx "license = { text = \"$spdx\" }" examples/python/pyproject.toml ||
	fail "examples/python/pyproject.toml: license is not $spdx"
grep -q "^Description: .*($spdx)" "$pc" || fail "$pc: the description does not name $spdx"
sed -n '/^## License/,$p' README.md | grep -q "$spdx" || fail "README.md: no License section naming $spdx"

grep -qx "version = \"$version\"" examples/rust/Cargo.toml || fail "examples/rust/Cargo.toml: version is not $version"
grep -qx "version = \"$version\"" examples/python/pyproject.toml ||
	fail "examples/python/pyproject.toml: version is not $version"

if git rev-parse --git-dir >/dev/null 2>&1; then
	git check-ignore -q report/summary.md || fail "report/ (sds-sim -report report/ in the README) is not ignored"
fi
echo "meta-test: license $spdx and version $version stated everywhere"
