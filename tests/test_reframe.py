"""Reframing estimators: the scikit-learn contract, then the behaviours the shorts rely on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_predict,
    cross_validate,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from shorts.datasets import load_dataset
from shorts.reframe import BinnedRegressor, BinnedStackRegressor, OrdinalRegressor
from shorts.requirements import install_hint, missing_extras

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

Data = tuple[np.ndarray, np.ndarray]

DECODES = ["expected", "centres", "mode", "median"]


def _small_hgb() -> HistGradientBoostingClassifier:
    # few iterations: the conformance suite fits hundreds of times
    return HistGradientBoostingClassifier(max_iter=15, random_state=0)


def _expected_failed_checks(estimator: Any) -> dict[str, str]:
    """Checks that do not apply to a configuration, with the reason."""
    if isinstance(estimator, OrdinalRegressor) and isinstance(
        estimator.regressor, (type(None), Ridge)
    ):
        return {
            "check_classifiers_train": (
                "asks for 83% training accuracy on three make_blobs classes whose centres form "
                "a triangle: no single linear score puts them in any order, which an ordinal "
                "model with a linear regressor needs (it passes with a flexible regressor)"
            )
        }
    return {}


@parametrize_with_checks(
    [
        BinnedRegressor(),
        BinnedRegressor(classifier=_small_hgb(), strategy="uniform", decode="median"),
        BinnedRegressor(n_bins=5, strategy="kmeans", decode="mode"),
        BinnedRegressor(decode="centres"),
        BinnedRegressor(soft_labels=1.0),
        BinnedRegressor(classifier=_small_hgb(), soft_labels=0.5, decode="centres"),
        BinnedStackRegressor(
            regressor=HistGradientBoostingRegressor(max_iter=15, random_state=0), random_state=0
        ),
        BinnedStackRegressor(BinnedRegressor(_small_hgb(), soft_labels=1.0), Ridge(), cv=2),
        OrdinalRegressor(),
        OrdinalRegressor(threshold="fitted"),
        OrdinalRegressor(
            regressor=HistGradientBoostingRegressor(max_iter=15, random_state=0),
            threshold="fitted",
        ),
        OrdinalRegressor(regressor=KNeighborsRegressor()),
    ],
    expected_failed_checks=_expected_failed_checks,
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # the checks' toy data
def test_sklearn_estimator_contract(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def diabetes() -> Data:
    X, y = load_diabetes(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes_classes(diabetes: Data) -> Data:
    """The diabetes target cut into 5 ordered quantile classes, labelled 1 to 5."""
    X, y = diabetes
    inner_edges = np.quantile(y, [0.2, 0.4, 0.6, 0.8])
    return X, np.searchsorted(inner_edges, y, side="right") + 1


# BinnedRegressor ---------------------------------------------------------------------------------


def test_works_as_last_step_of_a_pipeline(diabetes: Data) -> None:
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), BinnedRegressor(n_bins=8)).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert pipe.score(X, y) > 0.3


def test_clone_keeps_params_and_drops_fitted_state(diabetes: Data) -> None:
    X, y = diabetes
    model = BinnedRegressor(classifier=_small_hgb(), n_bins=7, strategy="kmeans", soft_labels=1.5)
    model.fit(X, y)
    copy = clone(model)
    assert copy.get_params()["n_bins"] == 7
    assert copy.get_params()["strategy"] == "kmeans"
    assert copy.get_params()["soft_labels"] == 1.5
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
    model = BinnedRegressor(soft_labels=1.0).fit(X, np.full(30, 3.5))
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


@pytest.mark.parametrize("soft_labels", [None, 1.0])
@pytest.mark.parametrize("decode", DECODES)
def test_decodes_stay_within_the_training_target_range(
    diabetes: Data, decode: str, soft_labels: float | None
) -> None:
    X, y = diabetes
    model = BinnedRegressor(n_bins=8, decode=decode, soft_labels=soft_labels).fit(X, y)
    far = X * 50.0  # far outside the training features: probabilities saturate
    for prediction in (model.predict(X), model.predict(far)):
        assert prediction.min() >= y.min()
        assert prediction.max() <= y.max()


def test_centres_and_expected_decodes_differ_on_a_skewed_target() -> None:
    # lognormal target: inside each quantile bin the mass sits near the low edge, and the top
    # bin's midpoint is far above its mean
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.exp(X[:, 0] + 0.5 * rng.normal(size=600))
    expected = BinnedRegressor(n_bins=5, decode="expected").fit(X, y)
    centres = BinnedRegressor(n_bins=5, decode="centres").fit(X, y)
    assert np.all(expected.bin_centres_ != expected.bin_means_)
    gap = np.abs(centres.predict(X) - expected.predict(X))
    assert gap.mean() > 0.1 * y.std()


def test_soft_labels_change_the_fitted_classifier(diabetes: Data) -> None:
    X, y = diabetes
    hard = BinnedRegressor(n_bins=8).fit(X, y)
    soft = BinnedRegressor(n_bins=8, soft_labels=1.0).fit(X, y)
    assert not np.allclose(hard.classifier_.coef_, soft.classifier_.coef_)
    # spreading each label over its neighbours spreads the predicted distribution too
    entropy = [
        -np.sum(p * np.log(np.clip(p, 1e-12, None)), axis=1).mean()
        for p in (hard.predict_bin_proba(X), soft.predict_bin_proba(X))
    ]
    assert entropy[1] > entropy[0]


class _RecordingLogisticRegression(LogisticRegression):
    """Keeps what its fit was given, to look at the rows soft labels make."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        self.seen_ = (np.asarray(X)[:, 0].copy(), np.asarray(y), np.asarray(sample_weight))
        return super().fit(X, y, sample_weight=sample_weight)


def test_soft_labels_weight_each_row_into_bins_within_three_sigma() -> None:
    # ten rows, one per uniform bin, so row i's own bin is i (and its feature is i, to find it)
    y = np.arange(10.0)
    sigma = 1.0
    model = BinnedRegressor(
        _RecordingLogisticRegression(max_iter=1000),
        n_bins=10,
        strategy="uniform",
        soft_labels=sigma,
    ).fit(y[:, None], y)
    feature, labels, weights = model.classifier_.seen_
    for row in range(10):
        mine = feature == row
        assert sorted(labels[mine]) == list(range(max(0, row - 3), min(9, row + 3) + 1))
        gaussian = np.exp(-0.5 * ((labels[mine] - row) / sigma) ** 2)
        np.testing.assert_allclose(weights[mine], gaussian / gaussian.sum())


def test_soft_labels_need_a_classifier_that_takes_sample_weight(diabetes: Data) -> None:
    X, y = diabetes
    model = BinnedRegressor(KNeighborsClassifier(), soft_labels=1.0)
    with pytest.raises(ValueError, match=r"sample_weight.*KNeighborsClassifier"):
        model.fit(X, y)


def test_soft_labels_beat_hard_labels_on_real_data(diabetes: Data) -> None:
    """The histogram-loss idea on the diabetes progression scores: spreading each label over
    neighbouring bins (sigma = 1 bin) smooths the predicted distribution, and the expected value
    decoded from it lands nearer the truth than with hard labels (62.9 -> 58.7 when measured)."""
    X, y = diabetes
    classifier = HistGradientBoostingClassifier(early_stopping=False, random_state=0)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)  # stratified by quartile of y
    quartile = np.searchsorted(np.quantile(y, [0.25, 0.5, 0.75]), y)
    splits = list(folds.split(X, quartile))
    hard = cross_val_predict(BinnedRegressor(classifier), X, y, cv=splits)
    soft = cross_val_predict(BinnedRegressor(classifier, soft_labels=1.0), X, y, cv=splits)
    assert root_mean_squared_error(y, soft) < 0.97 * root_mean_squared_error(y, hard)


# BinnedStackRegressor ----------------------------------------------------------------------------


class _RecordingRidge(Ridge):
    """Keeps the stacked features its fit was given."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        self.seen_ = np.asarray(X).copy()
        return super().fit(X, y, sample_weight=sample_weight)


def test_stack_trains_its_regressor_on_out_of_fold_bin_probabilities(diabetes: Data) -> None:
    """The regressor must see probabilities from binned models that did not train on the row:
    in-sample ones are overconfident, and a regressor trusting them would not trust them less on
    new rows. Columns: the features, one per bin of the all-rows fit, then the decoded value."""
    X, y = diabetes
    binned = BinnedRegressor(HistGradientBoostingClassifier(random_state=0))
    stack = BinnedStackRegressor(binned, _RecordingRidge(), random_state=0).fit(X, y)
    seen = stack.regressor_.seen_
    n_bins = stack.binned_.n_bins_
    assert seen.shape == (len(y), X.shape[1] + n_bins + 1)
    np.testing.assert_array_equal(seen[:, : X.shape[1]], X)
    out_of_fold = seen[:, X.shape[1] : -1]
    in_sample = stack.binned_.predict_bin_proba(X)
    np.testing.assert_allclose(out_of_fold.sum(axis=1), 1.0)
    assert out_of_fold.max(axis=1).mean() < in_sample.max(axis=1).mean() - 0.1
    # the decoded column is each fold model's expected value: a fair guess of y, not a copy
    assert 0.3 < np.corrcoef(seen[:, -1], y)[0, 1] < 0.9


@pytest.mark.parametrize(
    "dataset", ["diabetes", pytest.param("concrete", marks=pytest.mark.real_data)]
)
def test_stack_corrects_the_binned_model_it_stacks_on_real_data(dataset: str) -> None:
    """The hybrid's point: the regressor undoes what binning loses (the outer bins' pull towards
    the middle). On diabetes and concrete, out of fold, it beats the binned model alone
    (measured: 62.9 -> 59.4 and 6.04 -> 5.05 RMSE)."""
    X, y = _real_regression(dataset)
    binned = BinnedRegressor(HistGradientBoostingClassifier(random_state=0))
    stack = BinnedStackRegressor(binned, HistGradientBoostingRegressor(random_state=0), cv=3)
    folds = KFold(5, shuffle=True, random_state=0)
    alone = cross_val_predict(binned, X, y, cv=folds)
    stacked = cross_val_predict(stack.set_params(random_state=0), X, y, cv=folds)
    assert root_mean_squared_error(y, stacked) < 0.97 * root_mean_squared_error(y, alone)


def _real_regression(name: str) -> Data:
    """A shipped real data set as the shorts load it; one from a missing extra skips (fails
    under ``SHORTS_REQUIRE_EXTRAS=1``, as CI's ``pytest -m real_data`` runs it)."""
    config = OmegaConf.load(CONFIGS / "dataset" / f"{name}.yaml")
    missing = missing_extras(config)
    if missing:
        why = f"dataset={name} needs {install_hint(next(iter(missing.values())))}"
        if os.environ.get("SHORTS_REQUIRE_EXTRAS") == "1":
            pytest.fail(f"SHORTS_REQUIRE_EXTRAS=1 but {why}")
        pytest.skip(why)
    data = load_dataset(config)
    return data.X, data.y


# OrdinalRegressor --------------------------------------------------------------------------------


def test_ordinal_works_as_last_step_of_a_pipeline(diabetes_classes: Data) -> None:
    X, y = diabetes_classes
    pipe = make_pipeline(StandardScaler(), OrdinalRegressor(threshold="fitted")).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert set(pipe.predict(X)) <= set(y)


def test_ordinal_clone_keeps_params_and_drops_fitted_state(diabetes_classes: Data) -> None:
    X, y = diabetes_classes
    model = OrdinalRegressor(Ridge(alpha=3.0), threshold="fitted").fit(X, y)
    copy = clone(model)
    assert copy.get_params()["threshold"] == "fitted"
    assert copy.get_params()["regressor__alpha"] == 3.0
    assert not hasattr(copy, "regressor_")
    assert copy.regressor is not model.regressor


def test_ordinal_cross_validate_scores_every_fold(diabetes_classes: Data) -> None:
    X, y = diabetes_classes
    scores = cross_validate(OrdinalRegressor(), X, y, cv=3, scoring="neg_mean_absolute_error")
    assert len(scores["test_score"]) == 3
    assert np.all(np.isfinite(scores["test_score"]))


def test_ordinal_grid_search_over_threshold_and_regressor(diabetes_classes: Data) -> None:
    X, y = diabetes_classes
    grid = {"threshold": ["round", "fitted"], "regressor__alpha": [0.01, 1.0]}
    search = GridSearchCV(OrdinalRegressor(Ridge()), grid, cv=3).fit(X, y)
    assert search.best_params_["threshold"] in ("round", "fitted")
    assert search.best_estimator_.regressor_.alpha == search.best_params_["regressor__alpha"]


def test_ordinal_beats_a_constant_prediction_out_of_sample(diabetes_classes: Data) -> None:
    X, y = diabetes_classes
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    constant_mae = np.mean(np.abs(np.median(y) - y))  # the median class: 1.2 classes off
    constant_accuracy = np.max(np.bincount(y)) / len(y)  # the most frequent class: 0.2
    rounded = cross_val_predict(OrdinalRegressor(threshold="round"), X, y, cv=cv)
    fitted = cross_val_predict(OrdinalRegressor(threshold="fitted"), X, y, cv=cv)
    assert np.mean(np.abs(rounded - y)) < 0.9 * constant_mae  # about 0.92
    assert np.mean(np.abs(fitted - y)) < 0.9 * constant_mae  # about 0.90
    # Ridge shrinks scores toward the middle rank, so rounding rarely predicts the outer classes
    # (accuracy about 0.26); fitted cut points undo the shrinkage (about 0.38)
    assert np.mean(fitted == y) > constant_accuracy + 0.1


def test_fitted_thresholds_are_monotone_and_at_least_as_accurate_as_rounding(
    diabetes_classes: Data,
) -> None:
    X, y = diabetes_classes
    fitted = OrdinalRegressor(threshold="fitted").fit(X, y)
    rounded = OrdinalRegressor(threshold="round").fit(X, y)
    assert fitted.thresholds_.shape == (4,)
    assert np.all(np.diff(fitted.thresholds_) >= 0)
    np.testing.assert_allclose(rounded.thresholds_, [0.5, 1.5, 2.5, 3.5])
    assert fitted.score(X, y) >= rounded.score(X, y)


def test_ordinal_predicts_original_labels_in_sorted_order() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    levels = np.array(["a_low", "b_mid", "c_high"])  # alphabetical order is the intended order
    y = levels[np.digitize(x, [-0.5, 0.5])]
    model = OrdinalRegressor(threshold="fitted").fit(x[:, None], y)
    assert list(model.classes_) == list(levels)
    assert model.predict(np.array([[-3.0], [0.0], [3.0]])).tolist() == list(levels)
    assert model.score(x[:, None], y) > 0.9


def test_ordinal_ranks_follow_sorted_labels_not_their_values() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = np.array([10, 20, 1000])[np.digitize(x, [-0.5, 0.5])]  # uneven gaps between labels
    model = OrdinalRegressor().fit(x[:, None], y)
    score = model.predict_rank(np.array([[-3.0], [3.0]]))
    assert score.shape == (2,)
    assert score[0] < 0.5 < 1.5 < score[1] < 4.0  # ranks 0..2, not label values
    assert set(model.predict(x[:, None])) == {10, 20, 1000}


def test_ordinal_with_a_single_class_predicts_it() -> None:
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = OrdinalRegressor(threshold="fitted").fit(X, np.full(20, "only"))
    assert model.thresholds_.shape == (0,)
    assert model.predict(X).tolist() == ["only"] * 20


def test_ordinal_rejects_a_continuous_target(diabetes: Data) -> None:
    X, y = diabetes
    with pytest.raises(ValueError, match="Unknown label type"):
        OrdinalRegressor().fit(X, y + 0.5)
