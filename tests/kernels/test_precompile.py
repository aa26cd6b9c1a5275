"""The install's precompiled kernels cover a default fit: a fresh process whose
numba cache holds them compiles nothing on its first fit and predict."""

import json
import os
import subprocess
import sys

FIRST_FIT = """
import json
from numba.core import event
compiled = []

class Compilations(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass

event.register("numba:compile", Compilations())
from sklearn_mf import MatrixFactorization
from sklearn_mf.datasets import make_ratings

for as_frame, writeable in ((False, True), (False, False), (True, True)):
    X, y, _ = make_ratings(n_ratings=3000, as_frame=as_frame, random_state=0)
    if not writeable:
        X.flags.writeable = y.flags.writeable = False
    model = MatrixFactorization(random_state=0).fit(X[:2500], y[:2500])
    model.predict(X[2500:])
    model.score(X[2500:], y[2500:])
print(json.dumps(compiled))
"""


def _run(code: str, cache: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "NUMBA_CACHE_DIR": cache},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_default_first_fit_compiles_nothing_after_precompilation(tmp_path):
    cache = str(tmp_path / "numba_cache")
    _run(
        "from sklearn_mf._kernels._precompile import compile_default_fit\n"
        "compile_default_fit()",
        cache,
    )
    assert os.listdir(cache)
    assert json.loads(_run(FIRST_FIT, cache).splitlines()[-1]) == []
