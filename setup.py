"""Build step: compile the default fit's kernels into numba's cache at install.

The package itself is declared in pyproject.toml. An editable install (the one the
README gives) then runs ``sklearn_mf._kernels._precompile``, so that a fresh
environment's first fit loads its kernels from the cache next to the sources instead
of compiling them (docs/install.rst, "The first fit"). Other installs skip it: numba
finds a cache by the path and time stamp of the sources it was built from, which
copying the package into site-packages changes.
"""

import importlib
import sys
import types
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE = Path(__file__).resolve().parent / "sklearn_mf"


def precompile_kernels() -> None:
    """Run the kernels' precompilation without sklearn_mf/__init__.py, whose imports
    (scikit-learn, pandas) the isolated build environment does not have."""
    saved = {
        name: module for name, module in sys.modules.items() if "sklearn_mf" in name
    }
    package = types.ModuleType("sklearn_mf")
    package.__path__ = [str(PACKAGE)]
    sys.modules["sklearn_mf"] = package
    try:
        importlib.import_module("sklearn_mf._kernels._precompile").compile_default_fit()
    finally:
        for name in [name for name in sys.modules if "sklearn_mf" in name]:
            del sys.modules[name]
        sys.modules.update(saved)


class BuildPyAndPrecompile(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            return
        try:
            precompile_kernels()
        except Exception as error:  # the package works without it, only slower at first
            self.announce(
                f"sklearn_mf: kernels not precompiled ({error!r}); the first fit "
                "will compile them",
                level=3,
            )


setup(cmdclass={"build_py": BuildPyAndPrecompile})
