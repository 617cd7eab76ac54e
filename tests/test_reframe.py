"""BinnedRegressor: the scikit-learn contract, then the behaviours the reframe short relies on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from shorts.reframe import BinnedRegressor

Data = tuple[np.ndarray, np.ndarray]


def _small_hgb() -> HistGradientBoostingClassifier:
    # few iterations: the conformance suite fits hundreds of times
    return HistGradientBoostingClassifier(max_iter=15, random_state=0)


@parametrize_with_checks(
    [
        BinnedRegressor(),
        BinnedRegressor(classifier=_small_hgb(), strategy="uniform", decode="median"),
        BinnedRegressor(n_bins=5, strategy="kmeans", decode="mode"),
    ]
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the checks' toy data
def test_sklearn_estimator_contract(estimator: BinnedRegressor, check: Any) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def diabetes() -> Data:
    X, y = load_diabetes(return_X_y=True)
    return X, y


def test_works_as_last_step_of_a_pipeline(diabetes: Data) -> None:
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), BinnedRegressor(n_bins=8)).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert pipe.score(X, y) > 0.3


def test_clone_keeps_params_and_drops_fitted_state(diabetes: Data) -> None:
    X, y = diabetes
    model = BinnedRegressor(classifier=_small_hgb(), n_bins=7, strategy="kmeans").fit(X, y)
    copy = clone(model)
    assert copy.get_params()["n_bins"] == 7
    assert copy.get_params()["strategy"] == "kmeans"
    assert not hasattr(copy, "classifier_")
    assert copy.classifier is not model.classifier


def test_cross_validate_scores_every_fold(diabetes: Data) -> None:
    X, y = diabetes
    scores = cross_validate(BinnedRegressor(), X, y, cv=3, scoring="neg_root_mean_squared_error")
    assert len(scores["test_score"]) == 3
    assert np.all(np.isfinite(scores["test_score"]))


def test_grid_search_over_n_bins(diabetes: Data) -> None:
    X, y = diabetes
    search = GridSearchCV(BinnedRegressor(), {"n_bins": [3, 6]}, cv=3).fit(X, y)
    assert search.best_params_["n_bins"] in (3, 6)
    assert search.best_estimator_.n_bins_ == search.best_params_["n_bins"]


def test_predict_interval_covers_about_the_requested_share() -> None:
    # Reading each bin as uniform makes intervals a little wide (about 0.84 here), and more so
    # when bins are coarse next to the noise: the tolerance is asymmetric on purpose.
    X, y = make_regression(n_samples=3000, n_features=4, noise=100.0, random_state=0)
    model = BinnedRegressor(n_bins=20).fit(X[:2000], y[:2000])
    lower, upper = model.predict_interval(X[2000:], coverage=0.8)
    assert np.all(lower <= upper)
    covered = np.mean((lower <= y[2000:]) & (y[2000:] <= upper))
    assert 0.75 <= covered <= 0.9


def test_predict_interval_rejects_coverage_outside_zero_one(diabetes: Data) -> None:
    X, y = diabetes
    model = BinnedRegressor(n_bins=4).fit(X, y)
    with pytest.raises(ValueError, match="coverage"):
        model.predict_interval(X, coverage=1.0)


@pytest.mark.parametrize("strategy", ["quantile", "uniform", "kmeans"])
def test_few_unique_targets_merge_bins_so_every_bin_has_a_sample(strategy: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] > 1.0, 5.0, 0.0) + np.where(X[:, 1] > 1.5, 1.0, 0.0)  # 4 values, skewed
    model = BinnedRegressor(n_bins=10, strategy=strategy).fit(X, y)
    assert 2 <= model.n_bins_ <= 4
    bins = np.searchsorted(model.bin_edges_[1:-1], y, side="right")
    assert np.all(np.bincount(bins, minlength=model.n_bins_) > 0)
    assert np.all(np.isfinite(model.predict(X)))


def test_constant_target_predicts_the_constant() -> None:
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = BinnedRegressor().fit(X, np.full(30, 3.5))
    assert model.n_bins_ == 1
    np.testing.assert_allclose(model.predict(X), 3.5)


def test_bins_the_classifier_never_saw_get_zero_probability(diabetes: Data) -> None:
    X, y = diabetes
    model = BinnedRegressor(n_bins=5).fit(X, y)
    # refit the inner classifier on a subset of classes, as a resampling classifier might
    bins = np.searchsorted(model.bin_edges_[1:-1], y, side="right")
    seen = bins != 2
    model.classifier_.fit(X[seen], bins[seen])
    proba = model.predict_bin_proba(X)
    assert proba.shape == (len(y), 5)
    np.testing.assert_allclose(proba[:, 2], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(model.predict(X)))


@pytest.mark.parametrize("decode", ["expected", "mode", "median"])
def test_decodes_stay_within_the_training_target_range(diabetes: Data, decode: str) -> None:
    X, y = diabetes
    model = BinnedRegressor(n_bins=8, decode=decode).fit(X, y)
    far = X * 50.0  # far outside the training features: probabilities saturate
    for prediction in (model.predict(X), model.predict(far)):
        assert prediction.min() >= y.min()
        assert prediction.max() <= y.max()
