"""Loader for the MovieLens rating data sets published by GroupLens Research."""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import os
import shutil
import textwrap
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

__all__ = ["fetch_movielens"]

_ENV_VAR = "SKLEARN_MF_DATA"
_URL = "https://files.grouplens.org/datasets/movielens/{name}.zip"
_RATING_COLUMNS = ("user", "item", "rating", "timestamp")
_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
    "History and Context. ACM Transactions on Interactive Intelligent Systems "
    "(TiiS) 5, 4, Article 19. https://doi.org/10.1145/2827872"
)


@dataclass(frozen=True)
class _Table:
    """A delimited file of one variant: candidate names (best first) and format."""

    files: tuple[str, ...]
    sep: str
    columns: tuple[str, ...] | None = None  # None: the width varies (ratings)


@dataclass(frozen=True)
class _Variant:
    """Where one MovieLens variant's files are and how to parse them."""

    name: str  # the GroupLens archive and folder name
    sha256: str  # of the official GroupLens zip
    encoding: str
    header: bool  # whether every file starts with a header row
    may_redistribute: bool
    ratings: _Table
    users: _Table | None
    items: _Table
    genres: _Table | None  # 100K only: genre names of u.item's 0/1 flag columns


# sha256 of the official archives, from TensorFlow Datasets' pinned download checksums:
# github tensorflow/datasets, tensorflow_datasets/url_checksums/movielens.txt
# (commit 1c076ac3c19c8ea83e1d1a75e0623c9a699e0d7c), which also records the sizes
# (100K: 4,924,029 B; 1M: 5,917,549 B; latest-small: 978,202 B). The same values are
# pinned independently elsewhere, e.g. ml-1m in tensorflow/examples,
# lite/examples/recommendation/ml/data/example_generation_movielens.py; ml-100k
# together with GroupLens' published MD5 0e33842e24a9c977be4e0107933c0723; and
# ml-latest-small in a Julia DataDeps registration (GroupLens module).
_VARIANTS = {
    "100k": _Variant(
        name="ml-100k",
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        encoding="latin-1",
        header=False,
        may_redistribute=False,
        ratings=_Table(("u.data",), "\t"),
        users=_Table(("u.user",), "|", ("user", "age", "gender", "occupation", "zip")),
        items=_Table(
            ("u.item",),
            "|",
            ("item", "title", "release_date", "video_release_date", "imdb_url"),
        ),
        genres=_Table(("u.genre",), "|", ("genre", "flag")),
    ),
    "1m": _Variant(
        name="ml-1m",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        encoding="latin-1",
        header=False,
        may_redistribute=False,
        ratings=_Table(("ratings.dat", "ratings_no_timestamp.dat"), "::"),
        users=_Table(
            ("users.dat",), "::", ("user", "gender", "age", "occupation", "zip")
        ),
        items=_Table(("movies.dat",), "::", ("item", "title", "genres")),
        genres=None,
    ),
    "latest-small": _Variant(
        name="ml-latest-small",
        sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        encoding="utf-8",
        header=True,
        may_redistribute=True,
        ratings=_Table(("ratings.csv",), ","),
        users=None,
        items=_Table(("movies.csv",), ",", ("item", "title", "genres")),
        genres=None,
    ),
}


class _Source:
    """The files of one variant, in a folder or a zip archive.

    Files are looked up by base name, at the top level or inside a subfolder named
    like the variant (the official zips nest everything in ``ml-100k/`` etc.).
    """

    def __init__(self, location: Path, readers: dict[str, Callable[[], bytes]]):
        self.location = location
        self._readers = readers

    @classmethod
    def from_folder(cls, folder: Path, name: str) -> _Source:
        readers = {}
        for directory in (folder / name, folder):  # top level wins over nested
            if directory.is_dir():
                for path in directory.iterdir():
                    if path.is_file():
                        readers[path.name] = path.read_bytes
        return cls(folder, readers)

    @classmethod
    def from_zip(cls, path: Path, name: str) -> _Source:
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
        except zipfile.BadZipFile as exc:
            raise OSError(f"{path} is not a valid zip archive; delete it.") from exc
        # Top level wins over nested, as for folders; other folders (e.g. macOS's
        # __MACOSX/) are ignored.
        nested = [m for m in members if PurePosixPath(m).parent == PurePosixPath(name)]
        top_level = [m for m in members if "/" not in m]
        readers = {
            PurePosixPath(m).name: partial(_read_zip_member, path, m)
            for m in nested + top_level
        }
        return cls(path, readers)

    def find(self, files: Iterable[str]) -> str | None:
        """Return the first of ``files`` present, plain or gzipped, or None."""
        for file in files:
            for candidate in (file, f"{file}.gz"):
                if candidate in self._readers:
                    return candidate
        return None

    def read(self, files: Iterable[str]) -> bytes:
        files = tuple(files)
        found = self.find(files)
        if found is None:
            raise OSError(f"None of {', '.join(files)} (or .gz) in {self.location}.")
        raw = self._readers[found]()
        return gzip.decompress(raw) if found.endswith(".gz") else raw


def _read_zip_member(path: Path, member: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(member)


def _variant(variant: str) -> tuple[str, _Variant]:
    key = variant.removeprefix("ml-") if isinstance(variant, str) else None
    if key not in _VARIANTS:
        valid = ", ".join(f"{k!r} (or 'ml-{k}')" for k in _VARIANTS)
        raise ValueError(f"variant must be one of {valid}; got {variant!r}.")
    return key, _VARIANTS[key]


def _candidate_paths(root: Path, name: str) -> list[Path]:
    # An extracted folder (files directly inside, or nested as in the zip), a zip
    # kept inside the variant folder, or a zip next to it.
    return [root / name, root / name / f"{name}.zip", root / f"{name}.zip"]


def _find_source(root: Path, spec: _Variant, searched: list[Path]) -> _Source | None:
    """Return the first copy of ``spec`` under ``root``, noting the paths tried."""
    for path in _candidate_paths(root, spec.name):
        searched.append(path)
        if path.is_dir():
            source = _Source.from_folder(path, spec.name)
        elif path.is_file():
            source = _Source.from_zip(path, spec.name)
        else:
            continue
        if source.find(spec.ratings.files) is not None:
            return source
    return None


def _download(url: str, path: Path) -> None:
    """Write the resource at ``url`` to ``path`` (no checks: see _fetch_archive)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as f:
        shutil.copyfileobj(response, f)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_archive(spec: _Variant, data_home: Path) -> Path:
    """Download the official zip into ``data_home`` and verify its checksum."""
    url = _URL.format(name=spec.name)
    data_home.mkdir(parents=True, exist_ok=True)
    path = data_home / f"{spec.name}.zip"
    # Download under a temporary name so an interrupted or corrupt download is never
    # mistaken for a cached archive on the next call.
    partial = data_home / f"{spec.name}.zip.part"
    try:
        _download(url, partial)
    except (OSError, http.client.HTTPException) as exc:
        partial.unlink(missing_ok=True)
        raise OSError(
            f"Downloading {url} failed: {exc}. If you have a copy of MovieLens, "
            f"point the {_ENV_VAR} environment variable to its parent folder."
        ) from exc
    actual = _sha256(partial)
    if actual != spec.sha256:
        partial.unlink()
        raise OSError(
            f"Checksum mismatch for {url}: expected sha256 {spec.sha256}, got "
            f"{actual}. The file was deleted; try again later."
        )
    partial.replace(path)
    return path


def _locate(
    spec: _Variant, data_home: str | os.PathLike | None, download_if_missing: bool
) -> _Source:
    searched: list[Path] = []
    env = os.environ.get(_ENV_VAR)
    source = _find_source(Path(env), spec, searched) if env else None
    if source is not None:
        return source
    # Resolved only now because sklearn's get_data_home creates the folder.
    home = (
        Path(get_data_home()) / "sklearn_mf" if data_home is None else Path(data_home)
    )
    source = _find_source(home, spec, searched)
    if source is not None:
        return source
    if not download_if_missing:
        places = "\n  ".join(str(p) for p in searched)
        raise OSError(
            f"MovieLens {spec.name} not found. Looked in:\n  {places}\n"
            f"Set the {_ENV_VAR} environment variable to a folder holding "
            f"{spec.name}/ (the extracted archive or {spec.name}.zip), or pass "
            "download_if_missing=True."
        )
    return _Source.from_zip(_fetch_archive(spec, home), spec.name)


def _read_table(
    source: _Source, table: _Table, spec: _Variant, **kwargs
) -> pd.DataFrame:
    raw, sep = source.read(table.files), table.sep
    if sep == "::":
        # pandas' fast C parser takes only one-character separators; \x1f (the
        # ASCII unit separator) never occurs in these files.
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    return pd.read_csv(
        io.BytesIO(raw),
        sep=sep,
        header=None,
        names=table.columns,
        skiprows=int(spec.header),
        encoding=spec.encoding,
        # Only the CSV files quote fields; elsewhere a '"' is part of a title.
        quoting=csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE,
        # Only empty fields are missing: titles such as "NA" must stay text.
        keep_default_na=False,
        na_values=[""],
        **kwargs,
    )


def _read_ratings(source: _Source, spec: _Variant) -> pd.DataFrame:
    ratings = _read_table(source, spec.ratings, spec)
    if ratings.shape[1] not in (3, 4):
        raise OSError(
            f"Expected 3 or 4 columns in the ratings of {source.location}, "
            f"found {ratings.shape[1]}."
        )
    ratings.columns = _RATING_COLUMNS[: ratings.shape[1]]
    dtypes = (np.int64, np.int64, np.float64, np.int64)
    return ratings.astype(dict(zip(ratings.columns, dtypes, strict=False)))


def _read_users(source: _Source, spec: _Variant) -> pd.DataFrame | None:
    if spec.users is None:
        return None
    # Zip codes are text: some are Canadian, others have leading zeros.
    return _read_table(source, spec.users, spec, dtype={"zip": "str"}).set_index("user")


def _title_year(titles: pd.Series) -> pd.Series:
    year = titles.str.extract(r"\((\d{4})\)\s*$", expand=False)
    return pd.to_numeric(year).astype("Int64")


def _read_items(source: _Source, spec: _Variant) -> pd.DataFrame:
    if spec.genres is None:
        # "Action|Comedy" strings (1M, latest-small)
        table = _read_table(source, spec.items, spec)
        flags = table.pop("genres").str.get_dummies(sep="|")
        dates = {}
    else:
        # One 0/1 column per genre after the named ones, in u.genre's order (100K)
        names = _read_table(source, spec.genres, spec)["genre"].tolist()
        columns = spec.items.columns + tuple(names)
        items_table = _Table(spec.items.files, spec.items.sep, columns)
        table = _read_table(source, items_table, spec)
        flags = table[names]
        dates = {
            "release_date": pd.to_datetime(table["release_date"], format="%d-%b-%Y")
        }
    items = table[["item", "title"]].assign(year=_title_year(table["title"]), **dates)
    return pd.concat([items, flags.astype(np.int64)], axis=1).set_index("item")


def _describe(
    key: str, spec: _Variant, frame: pd.DataFrame, items: pd.DataFrame, source: _Source
) -> str:
    timestamps = "with" if "timestamp" in frame else "without"
    redistribution = (
        "may be redistributed only under these same terms"
        if spec.may_redistribute
        else "may not be redistributed without separate permission"
    )
    paragraphs = [
        f"MovieLens {key} ({spec.name}), GroupLens Research.",
        f"{len(frame):,} ratings ({frame['rating'].min():g} to "
        f"{frame['rating'].max():g}), {timestamps} timestamps, by "
        f"{frame['user'].nunique():,} users of {frame['item'].nunique():,} items "
        f"({len(items):,} items in the catalog). Read from {source.location}.",
        "License (from the data set's README): research use only; no commercial "
        "use without permission from GroupLens; do not state or imply endorsement "
        f"by the University of Minnesota or GroupLens; the data {redistribution}. "
        f"Publications using the data must cite: {_CITATION}",
    ]
    return "\n\n".join(textwrap.fill(p, width=79) for p in paragraphs) + "\n"


def fetch_movielens(
    variant: str = "100k",
    *,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
    as_frame: bool = True,
) -> Bunch | tuple:
    """Load a MovieLens rating data set (GroupLens Research).

    ============  ==========  ==========  ====================
    variant       ``"100k"``  ``"1m"``    ``"latest-small"``
    ============  ==========  ==========  ====================
    ratings       100,000     1,000,209   100,836
    users         943         6,040       610
    rated items   1,682       3,706       9,724
    rating scale  1 to 5      1 to 5      0.5 to 5, half stars
    ============  ==========  ==========  ====================

    The files are looked up, in this order, in ``$SKLEARN_MF_DATA/<name>/``
    (where ``<name>`` is ``ml-100k``, ``ml-1m`` or ``ml-latest-small``), then in
    ``data_home`` (an extracted ``<name>/`` folder or ``<name>.zip``); only then,
    if allowed, the official zip is downloaded from GroupLens into ``data_home``
    and its SHA-256 checksum verified.

    Parameters
    ----------
    variant : {"100k", "1m", "latest-small"}, default="100k"
        Which data set. The GroupLens names ``"ml-100k"``, ``"ml-1m"`` and
        ``"ml-latest-small"`` are accepted too.

    data_home : str or path-like, default=None
        Cache folder for downloaded archives. By default
        ``sklearn.datasets.get_data_home() / "sklearn_mf"``.

    download_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of downloading when no local copy
        is found.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    as_frame : bool, default=True
        If True, ``data`` is a DataFrame and ``target`` a Series. If False, they
        are NumPy arrays and ``frame`` is None; ``users`` and ``movies`` stay
        DataFrames.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : DataFrame of shape (n_ratings, 2) or ndarray of int64
            The ``user`` and ``item`` ids (int64) of each rating.
        target : Series of shape (n_ratings,) or ndarray of float64
            The ``rating``.
        frame : DataFrame of shape (n_ratings, 3 or 4) or None
            ``user``, ``item``, ``rating`` and, when the files have it,
            ``timestamp`` (Unix seconds). None if ``as_frame=False``.
        users : DataFrame or None
            Demographics indexed by user id: ``age, gender, occupation, zip``
            for 100k, ``gender, age, occupation, zip`` for 1m (age and
            occupation are the codes listed in the ML-1M README), None for
            latest-small.
        movies : DataFrame
            The item catalog indexed by item id (it lists items nobody rated,
            too): ``title``, ``year`` (from the title, nullable),
            ``release_date`` (100k only), then one 0/1 int64 column per genre.
            (Not named ``items``: a Bunch is a dict, so ``bunch.items`` would
            be the dict method.)
        DESCR : str
            Description, with the license terms.
        variant : str
            ``"100k"``, ``"1m"`` or ``"latest-small"``.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as above.

    Raises
    ------
    OSError
        If no copy is found and ``download_if_missing=False``, if the download
        fails, or if the downloaded archive's checksum is wrong (the file is then
        deleted).

    Notes
    -----
    The MovieLens data are licensed by GroupLens Research for research use only:
    no commercial use without permission, no claim or implication of endorsement
    by the University of Minnesota or GroupLens, and publications must cite
    F. Maxwell Harper and Joseph A. Konstan, "The MovieLens Datasets: History and
    Context", ACM TiiS 5(4):19, 2015. ML-100K and ML-1M may not be redistributed
    without separate permission; ML-latest-small may be redistributed only under
    the same terms. Keep the data out of repositories and packages.

    Local copies may be the official zip, its extracted folder (files directly
    in ``<name>/`` or nested in ``<name>/<name>/``), with any member gzipped
    (``u.data.gz``, ``ratings.dat.gz``), and ratings with or without the
    timestamp column (e.g. ML-1M's ``ratings_no_timestamp.dat.gz``).

    Examples
    --------
    >>> from sklearn_mf.datasets import fetch_movielens
    >>> ml = fetch_movielens("100k", download_if_missing=False)  # doctest: +SKIP
    >>> ml.data.shape, round(float(ml.target.mean()), 5)  # doctest: +SKIP
    ((100000, 2), 3.52986)
    >>> ml.users.columns.tolist()  # doctest: +SKIP
    ['age', 'gender', 'occupation', 'zip']
    >>> X, y = fetch_movielens("1m", return_X_y=True, as_frame=False)  # doctest: +SKIP
    >>> X.dtype, X.shape  # doctest: +SKIP
    (dtype('int64'), (1000209, 2))
    """
    key, spec = _variant(variant)
    source = _locate(spec, data_home, download_if_missing)
    frame = _read_ratings(source, spec)
    movies = _read_items(source, spec)
    data, target = frame[["user", "item"]], frame["rating"]
    if not as_frame:
        data, target = data.to_numpy(np.int64), target.to_numpy(np.float64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame if as_frame else None,
        users=_read_users(source, spec),
        movies=movies,
        DESCR=_describe(key, spec, frame, movies, source),
        variant=key,
    )
