"""The README's quick start runs as written, without warnings."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs(ml100k):
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["scores"].shape == (5,)
    assert -namespace["scores"].mean() < 0.95
    assert namespace["search"].predict(namespace["new"]).shape == (3,)
