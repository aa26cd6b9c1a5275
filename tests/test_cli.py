"""``python -m sklearn_mf demo`` on real data and without it."""

import subprocess
import sys

import pytest

from sklearn_mf import _cli


@pytest.fixture
def small_grid(monkeypatch):
    monkeypatch.setattr(_cli, "_GRID", {"n_components": [4], "alpha": [0.05, 0.1]})


def test_demo_falls_back_to_planted_data_when_movielens_is_unreachable(
    monkeypatch, capsys, small_grid
):
    def unreachable(*args, **kwargs):
        raise OSError("no copy here and no network")

    monkeypatch.setattr(_cli, "fetch_movielens", unreachable)
    result = _cli.main(["demo", "--no-download"])
    out = capsys.readouterr().out
    assert result == 0
    assert "could not be reached" in out and "make_ratings" in out
    assert "Best parameters: {'alpha'" in out


def test_demo_on_movielens(ml100k, capsys, small_grid):
    result = _cli.demo("100k", download=False)
    out = capsys.readouterr().out
    assert "MovieLens 100k: 100,000 ratings" in out
    assert set(result["best_params"]) == {"n_components", "alpha"}
    assert 0.85 < result["best_rmse"] < 1.0


def test_module_entry_point_rejects_unknown_commands():
    done = subprocess.run(
        [sys.executable, "-m", "sklearn_mf", "train"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
