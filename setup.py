"""Build step: compile the default fit's kernels into numba's cache at install.

The package itself is declared in pyproject.toml. An editable install (the one the
README gives) then runs ``sklearn_mf._kernels._precompile``, so that a fresh
environment's first fit loads its kernels from the cache next to the sources instead
of compiling them (docs/install.rst, "The first fit"). Other installs skip it: numba
finds a cache by the path and time stamp of the sources it was built from, which
copying the package into site-packages changes.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE = Path(__file__).resolve().parent / "sklearn_mf"

# Imports the kernels without sklearn_mf/__init__.py, whose imports the isolated build
# environment does not have (it has numba and NumPy). They are blocked here too, so
# that the test of this step fails if a kernel module comes to need one.
PRECOMPILE = f"""
import sys, types
for name in ("sklearn", "scipy", "pandas"):
    sys.modules[name] = None
package = types.ModuleType("sklearn_mf")
package.__path__ = [{str(PACKAGE)!r}]
sys.modules["sklearn_mf"] = package
from sklearn_mf._kernels._precompile import compile_default_fit
compile_default_fit()
"""


def precompile_kernels(env: dict[str, str] | None = None) -> None:
    """Compile the default fit's kernels into numba's cache, in a child process (so
    that a crash of the compiler cannot end the install); raise if it fails."""
    subprocess.run(
        [sys.executable, "-c", PRECOMPILE],
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
    )


class BuildPyAndPrecompile(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            return
        try:
            precompile_kernels()
        except subprocess.CalledProcessError as error:
            # The package works without it, only its first fit is slower. pip shows
            # this with -v.
            logging.getLogger("sklearn_mf.setup").warning(
                "kernels not precompiled, the first fit will compile them:\n%s",
                error.stderr.decode(errors="replace"),
            )


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildPyAndPrecompile})
