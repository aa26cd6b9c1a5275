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


# The file commands: fit, predict, recommend, evaluate.


@pytest.fixture
def files(tmp_path):
    import pandas as pd

    from sklearn_mf.datasets import make_ratings

    X, y, _ = make_ratings(n_users=40, n_items=30, n_ratings=600, random_state=0)
    table = pd.DataFrame({"who": X[:, 0], "what": X[:, 1], "stars": y})
    table.iloc[:500].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[500:].to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def _run(*argv):
    return _cli.main([str(a) for a in argv])


COLUMNS = ["--user-column", "who", "--item-column", "what"]


def test_fit_predict_recommend_evaluate_on_files(files, capsys):
    import json

    import pandas as pd

    model = files / "model.joblib"
    params = '{"n_components": 3, "alpha": 0.1, "random_state": 0}'
    fit = [files / "train.csv", "--model", model, "--rating-column", "stars"]
    assert _run("fit", *fit, "--params", params, *COLUMNS) == 0
    assert json.loads(capsys.readouterr().out)["ratings"] == 500
    assert (
        _run("predict", model, files / "test.csv", "--out", files / "p.csv", *COLUMNS)
        == 0
    )
    predicted = pd.read_csv(files / "p.csv")
    assert predicted.columns.tolist() == ["who", "what", "prediction"]
    assert len(predicted) == 100 and predicted["prediction"].notna().all()
    assert (
        _run(
            "recommend", model, "--users", "0,1,999", "--n", 3, "--out", files / "r.csv"
        )
        == 0
    )
    recommended = pd.read_csv(files / "r.csv")
    assert recommended["user"].tolist() == [0] * 3 + [1] * 3 + [999] * 3
    assert recommended["rank"].tolist() == [1, 2, 3] * 3
    capsys.readouterr()
    evaluate = [model, files / "test.csv", "--rating-column", "stars", "--k", 5]
    assert _run("evaluate", *evaluate, *COLUMNS) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {"rmse", "mae", "ndcg@5", "map@5"} <= set(scores)


def test_file_errors_name_the_file_column_and_line(files, capsys):
    import pandas as pd

    model = files / "model.joblib"
    assert _run("fit", files / "missing.csv", "--model", model) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err
    assert _run("fit", files / "train.csv", "--model", model) == 2
    assert "train.csv: no column 'user'" in capsys.readouterr().err
    table = pd.read_csv(files / "train.csv").astype({"stars": object})
    table.loc[3, "stars"] = "lots"
    table.to_csv(files / "bad.csv", index=False)
    fit = [files / "bad.csv", "--model", model, "--rating-column", "stars", *COLUMNS]
    assert _run(*["fit", *fit]) == 2
    assert "bad.csv, column 'stars', line 5: 'lots' is not a finite number" in (
        capsys.readouterr().err
    )
    assert _run("predict", files / "nope.joblib", files / "test.csv", "--out", "x") == 2
    assert "no such model file" in capsys.readouterr().err


def test_parquet_tables_where_pyarrow_is_installed(files, capsys):
    import json

    import pandas as pd

    pytest.importorskip("pyarrow")
    pd.read_csv(files / "train.csv").to_parquet(files / "train.parquet")
    model = files / "model.joblib"
    fit = [files / "train.parquet", "--model", model, "--rating-column", "stars"]
    assert _run("fit", *fit, "--params", '{"n_components": 2}', *COLUMNS) == 0
    assert json.loads(capsys.readouterr().out)["ratings"] == 500
