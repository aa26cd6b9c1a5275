"""Tests of fetch_movielens: on the real copies and on small files in each layout."""

import dataclasses
import gzip
import hashlib
import io
import urllib.error
import zipfile

import numpy as np
import pandas as pd
import pytest

from sklearn_mf.datasets import _movielens, fetch_movielens

VARIANTS = ("100k", "1m", "latest-small")

# Verified counts from each folder's SOURCE.txt.
REAL = {
    "100k": dict(
        n=100_000, users=943, items=1_682, mean=3.52986, catalog=1_682, genres=19
    ),
    "1m": dict(
        n=1_000_209, users=6_040, items=3_706, mean=3.581564, catalog=3_883, genres=18
    ),
    "latest-small": dict(
        n=100_836, users=610, items=9_724, mean=3.501557, catalog=9_742, genres=20
    ),
}
USER_COLUMNS = {
    "100k": ["age", "gender", "occupation", "zip"],
    "1m": ["gender", "age", "occupation", "zip"],
    "latest-small": None,
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Never download, and keep sklearn's default data home out of the user's."""

    def refuse(url, path):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(_movielens, "_download", refuse)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))


# -- real data ----------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_real_counts(movielens_home, tmp_path, variant):
    expected = REAL[variant]
    ml = fetch_movielens(variant, data_home=tmp_path, download_if_missing=False)

    assert ml.variant == variant
    assert list(ml.data.columns) == ["user", "item"]
    assert ml.data.dtypes.tolist() == [np.int64, np.int64]
    assert ml.target.name == "rating" and ml.target.dtype == np.float64
    assert list(ml.frame.columns[:3]) == ["user", "item", "rating"]
    assert len(ml.frame) == expected["n"]
    assert ml.frame["user"].nunique() == expected["users"]
    assert ml.frame["item"].nunique() == expected["items"]
    assert ml.target.mean() == pytest.approx(expected["mean"], abs=5e-7)

    assert ml.movies.shape[0] == expected["catalog"]
    assert ml.movies.index.is_unique
    assert set(ml.frame["item"]) <= set(ml.movies.index)
    genres = ml.movies.drop(columns=["title", "year", "release_date"], errors="ignore")
    assert (genres.dtypes == np.int64).all()
    assert genres.shape[1] == expected["genres"]
    assert set(np.unique(genres)) == {0, 1}
    assert ml.movies["year"].notna().mean() > 0.99
    if USER_COLUMNS[variant] is None:
        assert ml.users is None
    else:
        assert list(ml.users.columns) == USER_COLUMNS[variant]
        assert len(ml.users) == expected["users"]
        assert set(ml.users.index) == set(ml.frame["user"])
    assert "Harper" in ml.DESCR and f"{expected['n']:,}" in ml.DESCR


def test_real_100k_details(movielens_home, tmp_path):
    ml = fetch_movielens("ml-100k", data_home=tmp_path, download_if_missing=False)
    assert ml.movies.loc[1, "title"] == "Toy Story (1995)"
    assert ml.movies.loc[1, "release_date"] == pd.Timestamp("1995-01-01")
    assert ml.movies.columns[3:6].tolist() == ["unknown", "Action", "Adventure"]
    assert ml.target.value_counts()[4.0] == 34_174


def test_real_return_X_y_and_arrays(movielens_home, tmp_path):
    X, y = fetch_movielens(
        "1m", data_home=tmp_path, download_if_missing=False, return_X_y=True
    )
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.shape == (1_000_209, 2)

    X, y = fetch_movielens(
        "1m",
        data_home=tmp_path,
        download_if_missing=False,
        return_X_y=True,
        as_frame=False,
    )
    assert X.dtype == np.int64 and X.shape == (1_000_209, 2)
    assert y.dtype == np.float64 and y.shape == (1_000_209,)

    ml = fetch_movielens(
        "latest-small", data_home=tmp_path, download_if_missing=False, as_frame=False
    )
    assert isinstance(ml.data, np.ndarray) and isinstance(ml.target, np.ndarray)
    assert ml.frame is None
    assert isinstance(ml.movies, pd.DataFrame)


# -- small files in each official layout ---------------------------------------

# Three ratings (user, item, rating, timestamp) written in every variant's format.
RATINGS = [(1, 10, 4, 881250949), (2, 10, 3, 891717742), (2, 20, 1, 878887116)]
GENRES_100K = ["unknown", "Action", "Children's"]


def _lines(rows, sep, end="\n"):
    return "".join(sep.join(str(v) for v in row) + end for row in rows)


def _ratings(sep, timestamp, end="\n", fmt=int):
    rows = [
        (u, i, fmt(r), t) if timestamp else (u, i, fmt(r)) for u, i, r, t in RATINGS
    ]
    return _lines(rows, sep, end)


def _files(variant, timestamp=True):
    """The member files of a tiny copy of ``variant``, as bytes."""
    if variant == "100k":
        files = {
            "u.data": _ratings("\t", timestamp),
            "u.user": "1|24|M|technician|01002\n2|53|F|other|T8H1N\n",
            "u.genre": _lines([(g, k) for k, g in enumerate(GENRES_100K)], "|") + "\n",
            "u.item": '10|Toy "Story" (1995)|01-Jan-1995||http://x|0|1|1\n'
            "20|Caf\xe9 (1994)|||http://y|1|0|0\n",
        }
    elif variant == "1m":
        name = "ratings.dat" if timestamp else "ratings_no_timestamp.dat"
        files = {
            name: _ratings("::", timestamp),
            "users.dat": "1::F::1::10::01002\n2::M::56::16::70072\n",
            "movies.dat": "10::Star Wars: Episode IV (1977)::Action|Children's\n"
            "20::Caf\xe9 (1994)::Drama\n",
        }
    else:
        header = "userId,movieId,rating" + (",timestamp" if timestamp else "")
        files = {
            "ratings.csv": header + "\r\n" + _ratings(",", timestamp, "\r\n", float),
            "movies.csv": "movieId,title,genres\r\n"
            '10,"American President, The (1995)",Comedy|Drama\r\n'
            "20,NA,(no genres listed)\r\n",
        }
    encoding = "utf-8" if variant == "latest-small" else "latin-1"
    return {name: text.encode(encoding) for name, text in files.items()}


def _write_folder(folder, files, gzipped=False):
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        if gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


def _zip_bytes(files, prefix=""):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, raw in files.items():
            archive.writestr(prefix + name, raw)
    return buffer.getvalue()


def _write(root, variant, layout, timestamp=True):
    """Write a tiny copy of ``variant`` under ``root`` in one of the layouts."""
    name = _movielens._VARIANTS[variant].name
    files = _files(variant, timestamp)
    root.mkdir(parents=True, exist_ok=True)
    if layout == "folder":
        _write_folder(root / name, files)
    elif layout == "nested-folder":
        _write_folder(root / name / name, files)
    elif layout == "gzipped":
        _write_folder(root / name, files, gzipped=True)
    elif layout == "zip":  # the official archive
        (root / f"{name}.zip").write_bytes(_zip_bytes(files, f"{name}/"))
    elif layout == "flat-zip":
        (root / f"{name}.zip").write_bytes(_zip_bytes(files))
    elif layout == "zip-in-folder":
        (root / name).mkdir()
        (root / name / f"{name}.zip").write_bytes(_zip_bytes(files, f"{name}/"))


LAYOUTS = ("folder", "nested-folder", "gzipped", "zip", "flat-zip", "zip-in-folder")


def _check_tiny(ml, timestamp=True):
    users, items, ratings, timestamps = map(list, zip(*RATINGS, strict=True))
    assert ml.frame["user"].tolist() == users
    assert ml.frame["item"].tolist() == items
    assert ml.target.tolist() == ratings
    assert ml.frame.dtypes.tolist()[:3] == [np.int64, np.int64, np.float64]
    if timestamp:
        assert ml.frame["timestamp"].tolist() == timestamps
        assert ml.frame["timestamp"].dtype == np.int64
    else:
        assert list(ml.frame.columns) == ["user", "item", "rating"]
    assert ml.movies.index.tolist() == [10, 20]
    assert ml.movies.index.name == "item"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_layouts(monkeypatch, tmp_path, variant, layout):
    _write(tmp_path, variant, layout)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    ml = fetch_movielens(
        variant, data_home=tmp_path / "home", download_if_missing=False
    )
    _check_tiny(ml)
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("layout", ["folder", "gzipped", "zip"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_without_timestamp(monkeypatch, tmp_path, variant, layout):
    _write(tmp_path, variant, layout, timestamp=False)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    ml = fetch_movielens(variant, download_if_missing=False)
    _check_tiny(ml, timestamp=False)


def test_tables_100k(monkeypatch, tmp_path):
    _write(tmp_path, "100k", "zip")
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    ml = fetch_movielens("100k", download_if_missing=False)
    assert ml.users.index.name == "user"
    assert ml.users["zip"].tolist() == ["01002", "T8H1N"]  # text, zeros kept
    assert ml.users["age"].dtype == np.int64
    movies = ml.movies
    assert movies.columns.tolist() == ["title", "year", "release_date", *GENRES_100K]
    assert movies["title"].tolist() == ['Toy "Story" (1995)', "Caf\xe9 (1994)"]
    assert movies["year"].tolist() == [1995, 1994]
    assert movies["release_date"].iloc[0] == pd.Timestamp("1995-01-01")
    assert pd.isna(movies["release_date"].iloc[1])
    assert movies[GENRES_100K].to_numpy().tolist() == [[0, 1, 1], [1, 0, 0]]
    assert (movies[GENRES_100K].dtypes == np.int64).all()


def test_tables_1m(monkeypatch, tmp_path):
    _write(tmp_path, "1m", "gzipped")
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    ml = fetch_movielens("1m", download_if_missing=False)
    assert ml.users.columns.tolist() == ["gender", "age", "occupation", "zip"]
    assert ml.users["zip"].tolist() == ["01002", "70072"]
    movies = ml.movies
    assert movies.columns.tolist() == ["title", "year", "Action", "Children's", "Drama"]
    assert movies["title"].tolist() == [
        "Star Wars: Episode IV (1977)",
        "Caf\xe9 (1994)",
    ]
    assert movies[["Action", "Children's", "Drama"]].to_numpy().tolist() == [
        [1, 1, 0],
        [0, 0, 1],
    ]


def test_tables_latest_small(monkeypatch, tmp_path):
    _write(tmp_path, "latest-small", "zip")
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    ml = fetch_movielens("ml-latest-small", download_if_missing=False)
    assert ml.users is None
    movies = ml.movies
    assert movies["title"].tolist() == ["American President, The (1995)", "NA"]
    assert movies["year"].iloc[0] == 1995 and pd.isna(movies["year"].iloc[1])
    assert movies.columns.tolist() == [
        "title",
        "year",
        "(no genres listed)",
        "Comedy",
        "Drama",
    ]


def test_top_level_files_win_and_junk_folders_are_ignored(monkeypatch, tmp_path):
    files = _files("100k")
    junk = {"__MACOSX/ml-100k/u.data": b"junk", "ml-100k/u.data": b"9\t9\t1\t0\n"}
    with zipfile.ZipFile(tmp_path / "ml-100k.zip", "w") as archive:
        for name, raw in files.items():
            archive.writestr(name, raw)
        for name, raw in junk.items():
            archive.writestr(name, raw)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    _check_tiny(fetch_movielens("100k", download_if_missing=False))


def test_env_var_comes_before_data_home(monkeypatch, tmp_path):
    _write(tmp_path / "env", "1m", "folder")
    home = tmp_path / "home"
    home.mkdir()
    (home / "ml-1m.zip").write_bytes(b"not read")
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path / "env"))
    ml = fetch_movielens("1m", data_home=home, download_if_missing=False)
    _check_tiny(ml)


@pytest.mark.parametrize("layout", ["zip", "folder"])
def test_data_home(monkeypatch, tmp_path, layout):
    _write(tmp_path, "100k", layout)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path / "empty"))
    _check_tiny(fetch_movielens("100k", data_home=tmp_path))


def test_default_data_home(monkeypatch, tmp_path):
    # sklearn's get_data_home() honours SCIKIT_LEARN_DATA (set by _offline).
    monkeypatch.delenv("SKLEARN_MF_DATA", raising=False)
    _write(tmp_path / "scikit_learn_data" / "sklearn_mf", "latest-small", "zip")
    _check_tiny(fetch_movielens("latest-small"))


@pytest.mark.parametrize("variant", ["10m", "ml-20m", "100K", "", None, 100])
def test_invalid_variant(variant):
    with pytest.raises(ValueError, match="variant must be one of.*latest-small"):
        fetch_movielens(variant)


def test_not_found(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path / "env"))
    with pytest.raises(OSError, match="(?s)not found.*SKLEARN_MF_DATA") as info:
        fetch_movielens("1m", data_home=tmp_path / "home", download_if_missing=False)
    assert str(tmp_path / "env" / "ml-1m") in str(info.value)
    assert str(tmp_path / "home" / "ml-1m.zip") in str(info.value)


def test_folder_without_ratings_is_not_a_copy(monkeypatch, tmp_path):
    files = _files("100k")
    del files["u.data"]
    _write_folder(tmp_path / "ml-100k", files)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    with pytest.raises(OSError, match="not found"):
        fetch_movielens("100k", data_home=tmp_path / "home", download_if_missing=False)


def test_missing_side_file(monkeypatch, tmp_path):
    files = _files("1m")
    del files["movies.dat"]
    _write_folder(tmp_path / "ml-1m", files)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    with pytest.raises(OSError, match=r"None of movies\.dat \(or \.gz\) in"):
        fetch_movielens("1m", download_if_missing=False)


def test_corrupt_zip(monkeypatch, tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"not a zip")
    monkeypatch.delenv("SKLEARN_MF_DATA", raising=False)
    with pytest.raises(OSError, match="not a valid zip"):
        fetch_movielens("100k", data_home=tmp_path, download_if_missing=False)


def test_ratings_of_unexpected_width(monkeypatch, tmp_path):
    files = {**_files("100k"), "u.data": b"1\t2\n3\t4\n"}
    _write_folder(tmp_path / "ml-100k", files)
    monkeypatch.setenv("SKLEARN_MF_DATA", str(tmp_path))
    with pytest.raises(OSError, match="Expected 3 or 4 columns"):
        fetch_movielens("100k", download_if_missing=False)


# -- download (never for real: _download is replaced) --------------------------


def _serve(monkeypatch, payload):
    """Make _download write ``payload``; return the list of URLs it was asked for."""
    urls = []

    def fake_download(url, path):
        urls.append(url)
        path.write_bytes(payload)

    monkeypatch.setattr(_movielens, "_download", fake_download)
    monkeypatch.delenv("SKLEARN_MF_DATA", raising=False)
    return urls


def test_download_checksum_mismatch_removes_file(monkeypatch, tmp_path):
    urls = _serve(monkeypatch, _zip_bytes(_files("100k"), "ml-100k/"))
    home = tmp_path / "home"
    with pytest.raises(OSError, match="Checksum mismatch"):
        fetch_movielens("100k", data_home=home)
    assert urls == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert list(home.iterdir()) == []


def test_download_verified_then_cached(monkeypatch, tmp_path):
    payload = _zip_bytes(_files("1m"), "ml-1m/")
    spec = dataclasses.replace(
        _movielens._VARIANTS["1m"], sha256=hashlib.sha256(payload).hexdigest()
    )
    monkeypatch.setitem(_movielens._VARIANTS, "1m", spec)
    urls = _serve(monkeypatch, payload)
    home = tmp_path / "new" / "home"

    _check_tiny(fetch_movielens("1m", data_home=home))
    assert [p.name for p in home.iterdir()] == ["ml-1m.zip"]
    _check_tiny(fetch_movielens("1m", data_home=home))
    assert len(urls) == 1


@pytest.mark.parametrize(
    "error", [urllib.error.URLError("no route"), TimeoutError("timed out")]
)
def test_download_failure(monkeypatch, tmp_path, error):
    def failing_download(url, path):
        path.write_bytes(b"partial")
        raise error

    monkeypatch.setattr(_movielens, "_download", failing_download)
    monkeypatch.delenv("SKLEARN_MF_DATA", raising=False)
    home = tmp_path / "home"
    with pytest.raises(OSError, match="Downloading .*ml-100k.zip failed"):
        fetch_movielens("100k", data_home=home)
    assert list(home.iterdir()) == []
