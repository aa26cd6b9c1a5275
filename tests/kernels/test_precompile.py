"""The install's precompiled kernels cover a default fit: a fresh process whose
numba cache holds them compiles nothing on its first fit, predict and score."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[2] / "setup.py"

# Each case in a process of its own: numba reuses a loaded specialisation for
# arguments that convert to it (contiguous to strided, writable to read-only), so
# an earlier case could stand in for a missing one.
FIRST_FIT = """
import json, sys
import numpy as np
from numba.core import event
compiled = []

class Compilations(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass

from sklearn_mf import MatrixFactorization
from sklearn_mf._solvers import _als
from sklearn_mf.datasets import make_ratings

case = sys.argv[1]
X, y, _ = make_ratings(n_ratings=3000, as_frame=case == "frame", random_state=0)
if case in ("read-only", "read-only columns"):
    if case == "read-only columns":
        X = np.asfortranarray(X)
    X.flags.writeable = y.flags.writeable = False
if case == "float32 gathers":
    _als.FLOAT32_GATHER_BYTES = 0
event.register("numba:compile", Compilations())
model = MatrixFactorization(random_state=0).fit(X[:2500], y[:2500])
model.predict(X[2500:])
model.score(X[2500:], y[2500:])
print(json.dumps(compiled))
"""


@pytest.fixture(scope="module")
def precompiled_cache(tmp_path_factory):
    """A numba cache holding what the install's build step compiles, run as the
    build runs it (setup.py, without sklearn, scipy and pandas)."""
    spec = importlib.util.spec_from_file_location("sklearn_mf_setup", SETUP)
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    cache = str(tmp_path_factory.mktemp("numba_cache"))
    setup.precompile_kernels({"NUMBA_CACHE_DIR": cache})
    assert os.listdir(cache)
    return cache


@pytest.mark.parametrize(
    "case", ["array", "frame", "read-only", "read-only columns", "float32 gathers"]
)
def test_a_default_first_fit_compiles_nothing_after_precompilation(
    precompiled_cache, case
):
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FIT, case],
        env={**os.environ, "NUMBA_CACHE_DIR": precompiled_cache},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
