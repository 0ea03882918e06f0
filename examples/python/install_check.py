"""make python-install-test: run by the interpreter of a venv where
`pip install ./examples/python` installed the package, from outside the
checkout, with no LIBSDS_PATH. Exits non-zero unless the installed package
works on its own: it loads the library it carries, whose version is the
package's, and two managers exchange a message."""

import importlib.metadata
import os
import sys

assert "LIBSDS_PATH" not in os.environ, "the check must run without LIBSDS_PATH"
import libsds  # noqa: E402

package_dir = os.path.dirname(os.path.abspath(libsds.__file__))
assert package_dir.startswith(os.path.realpath(sys.prefix)) or package_dir.startswith(sys.prefix), \
    f"libsds imported from {package_dir}, not from the installed package under {sys.prefix}"
lib = libsds.load_library()
assert lib.path == os.path.join(package_dir, "libsds.so"), f"loaded {lib.path}, not the library the package carries"
assert lib.version == importlib.metadata.version("libsds"), (lib.version, importlib.metadata.version("libsds"))

with libsds.ReliabilityManager(participant_id="alice") as a, libsds.ReliabilityManager() as b:
    r = b.unwrap(a.wrap("room", "m1", b"hello"))
    assert (r.content, r.delivered, r.sender_id) == (b"hello", True, "alice"), r
print(f"installed libsds {lib.version} works from {os.getcwd()} with the library it carries")
