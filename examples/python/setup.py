"""Builds the libsds package with a copy of this checkout's build/libsds.so
inside it (run `make` first), so the installed package needs no
environment variable and no system install of the library. Without
build/libsds.so the package is built without it and uses the installed
library (`make install`). Metadata: pyproject.toml."""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

BUILT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "libsds.so")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        if os.path.exists(BUILT):
            shutil.copyfile(BUILT, os.path.join(self.build_lib, "libsds", "libsds.so"))
        else:
            print(f"libsds: {os.path.normpath(BUILT)} not built: the package will use the installed library")


class MaybeBinaryDistribution(Distribution):
    def has_ext_modules(self):
        # A wheel carrying the .so is specific to this platform.
        return os.path.exists(BUILT)


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=MaybeBinaryDistribution)
