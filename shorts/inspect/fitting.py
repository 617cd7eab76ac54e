"""Fitting the model the checks use: sampled rows, one OpenMP thread, out-of-fold scores.

Why one thread (``one_thread``, unless ``OMP_NUM_THREADS`` is set): on a 2-core machine with other
work running, HistGradientBoosting's OpenMP threads spin-wait for each other; five fits took 7.3 s
with the default threads against 1.1 s with one (breast cancer, 569 rows), 36 s against 1.8 s at
20,000 rows x 26 features.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from shorts.datasets import Dataset
from shorts.errors import UsageError, one_line
from shorts.reports import format_score
from shorts.requirements import check_packages
from shorts.stats import paired_bootstrap

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.intp]]

BOOTSTRAP_DRAWS = 200
# Fewer rows than this: no model-based checks (a fold would hold a handful of rows).
MIN_MODEL_ROWS = 20


def one_thread() -> Any:
    """OpenMP limited to one thread for a ``with`` block, unless ``OMP_NUM_THREADS`` is set."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(None if os.environ.get("OMP_NUM_THREADS") else 1, user_api="openmp")


def feature_groups(data: Dataset, table_columns: Sequence[str]) -> dict[str, list[int]]:
    """The model's feature columns (indices into ``data.X``) by the table column they came from.

    A one-hot column ``colour=red`` belongs to ``colour`` when the table has such a column;
    every other feature is its own group.
    """
    known = set(table_columns)
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(data.feature_names):
        head = name.split("=", 1)[0]
        groups.setdefault(head if name not in known and head in known else name, []).append(index)
    return groups


def sample_rows(rows: int, limit: int, seed: int) -> IntArray:
    """All row numbers, or a seeded random ``limit`` of them in table order."""
    if rows <= limit:
        return np.arange(rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, size=limit, replace=False))


@dataclass(frozen=True)
class ModelScore:
    """The model the checks fit on every column but the suspected leaks and ids.

    Attributes:
        metric: ``r2`` (regression) or ``balanced_accuracy`` (classification).
        score: that metric, out of fold; ``low``, ``high``: its 95% bootstrap interval over rows.
        auc: out-of-fold AUC, for a binary target and a model with probabilities.
        left_out: the columns left out of its features (suspected leaks, ids).
    """

    model: str
    folds: int
    metric: str
    score: float
    low: float
    high: float
    auc: float | None
    left_out: list[str]

    @property
    def label(self) -> str:
        """The metric as a person reads it."""
        return "R²" if self.metric == "r2" else "balanced accuracy"

    @property
    def figure(self) -> str:
        """``balanced accuracy 0.912``: the metric and its out-of-fold value."""
        return f"{self.label} {format_score(self.score)}"

    def with_interval(self) -> str:
        """``R² 0.430 (95% bootstrap interval 0.370 to 0.490)``."""
        return (
            f"{self.figure} (95% bootstrap interval {format_score(self.low)} to "
            f"{format_score(self.high)})"
        )


@dataclass(frozen=True)
class Fitted:
    """The model check's raw result: out-of-fold predictions and how they were made."""

    prediction: FloatArray
    label_probability: FloatArray | None
    score: ModelScore


def build_model(model_cfg: Any) -> Any:
    """The estimator ``model_cfg`` describes; a config that does not build is the user's to fix."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    target = model_cfg.get("_target_") if hasattr(model_cfg, "get") else model_cfg
    check_packages(model_cfg, f"the model {target}")
    try:
        return instantiate(model_cfg)
    except (InstantiationException, TypeError, ValueError, ImportError) as exc:
        raise UsageError(f"the model {target} could not be built: {one_line(str(exc))}") from None


def accepts_nan(model: Any) -> bool:
    """Whether the estimator takes missing values as they are (scikit-learn's ``allow_nan``)."""
    from sklearn.utils import get_tags

    try:
        return bool(get_tags(model).input_tags.allow_nan)
    except Exception:
        return False


def fit_out_of_fold(
    data: Dataset, model_cfg: Any, columns: list[int], left_out: list[str], folds: int, seed: int
) -> Fitted:
    """Out-of-fold predictions of ``model_cfg`` on ``columns`` of ``data``, and its score.

    A model that does not take NaN gets a median imputer (with missing-value indicators) in
    front when the features have missing values, so the check runs whatever the model.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    from shorts.inspect.predictions import out_of_fold

    model = build_model(model_cfg)
    name = type(model).__name__
    if np.isnan(data.X[:, columns]).any() and not accepts_nan(model):
        model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), model)
        name = f"{name} after a median imputer"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            oof = out_of_fold(data, model, folds=folds, seed=seed, columns=columns)
    except ValueError as exc:
        raise UsageError(f"the model {name} could not be fitted: {one_line(str(exc))}") from None
    score = _score(data, oof.prediction, oof.label_probability, seed)
    return Fitted(
        oof.prediction,
        oof.label_probability,
        ModelScore(name, oof.folds, *score, list(left_out)),
    )


def _score(
    data: Dataset, prediction: FloatArray, probability: FloatArray | None, seed: int
) -> tuple[str, float, float, float, float | None]:
    """(metric, score, 95% bootstrap low, high, binary AUC) of out-of-fold predictions."""
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

    y, predicted, auc = data.y, prediction, None
    metric, scorer = "r2", partial(r2_score, force_finite=False)
    if data.task == "classification":
        classes = np.unique(y)
        # A regressor chosen for classes predicts numbers: its nearest class is its answer.
        predicted = classes[np.abs(prediction[:, None] - classes[None, :]).argmin(axis=1)]
        metric, scorer = "balanced_accuracy", balanced_accuracy_score
        if probability is not None and len(classes) == 2:
            auc = float(roc_auc_score(y, np.where(y == classes[1], probability, 1 - probability)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class missing from a bootstrap draw
        low, high = paired_bootstrap(scorer, y, predicted, draws=BOOTSTRAP_DRAWS, seed=seed)
    return metric, float(scorer(y, predicted)), low, high, auc


def subset(data: Dataset, rows: IntArray) -> Dataset:
    """``data`` restricted to ``rows`` (the same object when that is every row)."""
    if len(rows) == len(data.y):
        return data
    return replace(data, X=data.X[rows], y=data.y[rows])
