"""SliceRouter: the scikit-learn contract, routing, and the slice_hybrid short end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ShortsProject
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from shorts.reframe import BinnedRegressor
from shorts.routing import SliceRouter

pytestmark = pytest.mark.usefixtures("one_thread", "clean_hydra")

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")

Data = tuple[np.ndarray, np.ndarray]


def _tree() -> DecisionTreeRegressor:
    return DecisionTreeRegressor(random_state=0)


@parametrize_with_checks(  # type: ignore[untyped-decorator]
    [
        SliceRouter(),
        SliceRouter(_tree(), Ridge(), column=1, low=0.0),
        SliceRouter(_tree(), Ridge(), column=0, high=0.5),
        # both learners take NaN, so the router does (NaN is outside a bounded slice)
        SliceRouter(
            HistGradientBoostingRegressor(max_iter=15, random_state=0), _tree(), low=-1, high=1.5
        ),
        SliceRouter(_tree(), Ridge(), column=None, by="prediction", low=1.0),
    ]
)
def test_sklearn_estimator_contract(estimator: Any, check: Any) -> None:
    check(estimator)


# -- routing ------------------------------------------------------------------------------------


def _slice_data(n: int, seed: int) -> Data:
    """Linear everywhere, plus a wave on feature 2 only where x0 >= 0.5.

    The wave, 5 cos(6 pi x2) on [0, 1), has no linear trend and a zero mean, so a linear model fit
    on all rows still finds the linear part: the hybrid's baseline is sound off the slice.
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 3))
    wave = np.where(X[:, 0] >= 0.5, np.cos(6 * np.pi * X[:, 2]), 0.0)
    y = 5 * (X[:, 1] + X[:, 2]) + wave + rng.normal(0, 0.1, n)
    return X, y


@pytest.fixture(scope="module")
def slice_data() -> tuple[Data, Data]:
    return _slice_data(1000, seed=0), _slice_data(2000, seed=1)


def _rmse(model: Any, train: Data, test: Data) -> float:
    prediction = clone(model).fit(*train).predict(test[0])
    return float(np.sqrt(np.mean((prediction - test[1]) ** 2)))


def test_router_beats_the_baseline_and_the_slice_model_alone_out_of_sample(
    slice_data: tuple[Data, Data],
) -> None:
    train, test = slice_data
    tree = HistGradientBoostingRegressor(random_state=0)
    router = SliceRouter(tree, Ridge(), column=0, low=0.5)

    routed, ridge, alone = (_rmse(m, train, test) for m in (router, Ridge(), tree))

    # measured: routed 0.19, ridge 0.51, tree alone 0.23 (the tree's steps cost it off the slice)
    assert routed < 0.6 * ridge
    assert routed < 0.93 * alone


def test_predicts_with_the_estimator_on_the_slice_and_the_baseline_elsewhere(
    slice_data: tuple[Data, Data],
) -> None:
    (X, y), (X_new, _) = slice_data
    router = SliceRouter(_tree(), Ridge(), column=0, low=0.5).fit(X, y)

    rows = X_new[:, 0] >= 0.5
    prediction = router.predict(X_new)

    np.testing.assert_array_equal(prediction[rows], router.estimator_.predict(X_new[rows]))
    np.testing.assert_array_equal(prediction[~rows], router.baseline_.predict(X_new[~rows]))


def test_both_learners_are_fitted_on_all_rows(slice_data: tuple[Data, Data]) -> None:
    (X, y), (X_new, _) = slice_data
    router = SliceRouter(_tree(), Ridge(), column=0, low=0.5).fit(X, y)

    np.testing.assert_array_equal(
        router.estimator_.predict(X_new), _tree().fit(X, y).predict(X_new)
    )
    np.testing.assert_allclose(router.baseline_.predict(X_new), Ridge().fit(X, y).predict(X_new))
    assert router.in_slice_share_ == pytest.approx(np.mean(X[:, 0] >= 0.5))


def test_by_prediction_routes_by_the_baseline_prediction(slice_data: tuple[Data, Data]) -> None:
    (X, y), (X_new, _) = slice_data
    threshold = float(np.median(y))
    router = SliceRouter(_tree(), Ridge(), column=None, by="prediction", low=threshold).fit(X, y)

    baseline = router.baseline_.predict(X_new)
    rows = baseline >= threshold
    prediction = router.predict(X_new)

    assert 0.2 < rows.mean() < 0.8
    np.testing.assert_array_equal(router.in_slice(X_new), rows)
    np.testing.assert_array_equal(prediction[rows], router.estimator_.predict(X_new[rows]))
    np.testing.assert_array_equal(prediction[~rows], baseline[~rows])
    assert router.in_slice_share_ == pytest.approx(
        np.mean(router.baseline_.predict(X) >= threshold)
    )


def test_by_prediction_ignores_column() -> None:
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    routers = [
        SliceRouter(_tree(), Ridge(), column=column, by="prediction", high=4.5).fit(X, y)
        for column in (None, 1)
    ]
    np.testing.assert_array_equal(routers[0].in_slice(X), routers[1].in_slice(X))


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 1.0, [False, True, True, False, False]),  # low is in, high is out
        (0.0, None, [False, True, True, True, True]),
        (None, 1.0, [True, True, True, False, False]),
        (None, None, [True, True, True, True, True]),
    ],
)
def test_in_slice_is_low_inclusive_and_high_exclusive(
    low: float | None, high: float | None, expected: list[bool]
) -> None:
    X = np.array([[-1.0, 5.0], [0.0, 5.0], [0.5, 5.0], [1.0, 5.0], [2.0, 5.0]])
    router = SliceRouter(_tree(), Ridge(), column=0, low=low, high=high).fit(X, np.arange(5.0))

    assert router.in_slice(X).tolist() == expected
    assert router.in_slice_share_ == pytest.approx(np.mean(expected))


def test_nan_is_outside_a_bounded_slice() -> None:
    X = np.array([[np.nan], [0.5], [np.nan], [2.0]])
    router = SliceRouter(_tree(), _tree(), column=0, low=0.0).fit(X, np.arange(4.0))

    assert router.in_slice(X).tolist() == [False, True, False, True]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"column": 3}, "column=3 is out of range for X with 3 feature"),
        ({"column": None}, 'by="feature" needs column'),
        ({"low": 1.0, "high": 1.0}, "is empty"),
    ],
)
def test_fit_refuses_a_slice_it_cannot_place(
    slice_data: tuple[Data, Data], params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SliceRouter(_tree(), Ridge(), **params).fit(*slice_data[0])


def test_fit_validates_parameters_against_their_constraints(
    slice_data: tuple[Data, Data],
) -> None:
    with pytest.raises(InvalidParameterError, match="'by' parameter"):
        SliceRouter(by="target").fit(*slice_data[0])


# -- the slice_hybrid short ---------------------------------------------------------------------


def _compose(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("shorts", overrides=["+experiment=slice_hybrid", *overrides])


def test_slice_hybrid_composes_the_router_with_the_same_baseline_on_both_sides() -> None:
    cfg = _compose()
    router = instantiate(cfg.model)

    assert isinstance(router, SliceRouter)
    assert isinstance(router.estimator, HistGradientBoostingRegressor)
    assert cfg.model.baseline == cfg.baseline
    assert (router.column, router.low, router.high, router.by) == (0, None, None, "feature")


def test_slice_hybrid_swaps_a_learner_by_config_without_mixing_in_the_old_ones_keys() -> None:
    cfg = _compose(
        "model@model.estimator=knn",
        "model@model.baseline=lasso",
        "model@baseline=lasso",
        "model.column=2",
        "model.low=0.03",
        "model.high=0.1",
    )
    router = instantiate(cfg.model)

    assert set(cfg.model.estimator) == {"_target_", "_args_"}  # knn's keys only
    assert isinstance(router.estimator, Pipeline)
    assert isinstance(router.estimator[-1], KNeighborsRegressor)
    assert cfg.model.baseline == cfg.baseline
    assert cfg.baseline._target_ == "sklearn.linear_model.Lasso"
    assert (router.column, router.low, router.high) == (2, 0.03, 0.1)


def test_slice_hybrid_takes_a_wrapper_model_config_on_the_slice() -> None:
    router = instantiate(_compose("model@model.estimator=binned_hist_gbm_soft").model)

    assert isinstance(router.estimator, BinnedRegressor)
    assert router.estimator.soft_labels == 1.0


def test_slice_hybrid_runs_end_to_end_and_logs_the_routed_share(project: ShortsProject) -> None:
    # caps with room: the short takes seconds, a busy machine must not make it a timeout
    done = project.run("run", "+experiment=slice_hybrid", "caps.wall_time=5m", timeout=400)

    assert done.returncode == 0, done.stderr
    run = project.only_run("slice_hybrid")
    metrics = run.data.metrics
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.data.tags["shorts.verdict"] in {"hit", "miss", "inconclusive"}
    assert metrics["folds_completed"] == 5
    assert metrics["in_slice_share"] == 1.0  # no bounds by default: every row is in the slice
    assert metrics["in_slice_share_test"] == 1.0
    assert {"slice_q1_rmse", "baseline_slice_q1_rmse", "fold_rmse"} <= metrics.keys()
