"""Comparing a model with its baseline on the same folds: the evaluation most shorts share.

Why one loop: a comparison is only fair when both sides see the same folds, the same data and
the same stopping rule, and keeping that in one place keeps it fair.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.metrics import accuracy_score, mean_absolute_error, root_mean_squared_error
from sklearn.model_selection import RepeatedKFold

from shorts.context import Context, TrialPruned
from shorts.datasets import Dataset, load_dataset
from shorts.errors import UsageError
from shorts.routing import within
from shorts.verdict import parse_folds

__all__ = [
    "METRICS",
    "CVResult",
    "fold_metric",
    "load_declared",
    "quartile_slices",
    "quartiles_helped",
    "run_folds",
    "slice_metrics",
]

MAX_FEATURE_SLICES = 12  # features cut into halves for slice evidence (the rest: too many claims)
MIN_SLICE_SHARE = 0.1  # a half with fewer rows than this (a near-constant feature) is no slice

Scorer = Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], float]

# scikit-learn's metrics, with the direction the verdict reads them in
METRICS: dict[str, tuple[Scorer, str]] = {
    "rmse": (root_mean_squared_error, "minimize"),
    "mae": (mean_absolute_error, "minimize"),
    "accuracy": (accuracy_score, "maximize"),
}


def fold_metric(cfg: DictConfig) -> str:
    """The metric the verdict compares (``cfg.verdict.metric``), checked against ``METRICS``."""
    verdict = cfg.get("verdict") or {}
    metric = str(verdict.get("metric", "rmse"))
    if metric not in METRICS:
        raise UsageError(
            f"verdict.metric={metric!r} is not one shorts.evaluate computes; "
            f"use one of: {', '.join(METRICS)}."
        )
    return metric


@dataclass
class CVResult:
    """Per-fold scores and out-of-fold predictions of a model and its baseline.

    ``predicted`` marks rows that were in a completed fold's test set; the prediction arrays hold
    NaN elsewhere (a short that stops early has not predicted every row).
    """

    dataset: Dataset
    metric: str
    folds_planned: int
    prediction: np.ndarray[Any, np.dtype[np.float64]]
    baseline_prediction: np.ndarray[Any, np.dtype[np.float64]]
    predicted: np.ndarray[Any, np.dtype[np.bool_]]
    scores: list[float] = field(default_factory=list)
    baseline_scores: list[float] = field(default_factory=list)
    last_model: Any = None
    last_test: np.ndarray[Any, np.dtype[np.intp]] | None = None
    # more models scored on the same folds (name -> per-fold scores, out-of-fold predictions)
    variant_scores: dict[str, list[float]] = field(default_factory=dict)
    variant_predictions: dict[str, np.ndarray[Any, np.dtype[np.float64]]] = field(
        default_factory=dict
    )
    # test rows over training rows of a fold: the corrected t-test's overlap term
    test_train: float = 0.25
    # slice -> its definition, and learner ("model" or a variant) -> slice -> per-fold
    # (score, baseline score) on the slice's rows of each test fold
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    slice_scores: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Means over completed folds; ``<metric>_uplift`` < 0 means the model lost."""
        name = self.metric
        mean = float(np.mean(self.scores))
        baseline_mean = float(np.mean(self.baseline_scores))
        sign = 1.0 if METRICS[name][1] == "minimize" else -1.0
        scale = abs(baseline_mean) or 1.0
        return {
            name: mean,
            f"{name}_std": float(np.std(self.scores)),
            f"baseline_{name}": baseline_mean,
            f"baseline_{name}_std": float(np.std(self.baseline_scores)),
            f"{name}_uplift": sign * (baseline_mean - mean) / scale,
            "folds_completed": float(len(self.scores)),
            "folds_planned": float(self.folds_planned),
        }


def load_declared(cfg: DictConfig, ctx: Context) -> Dataset:
    """Load ``cfg.dataset`` and declare it to the run (an MLflow dataset input with its digest)."""
    data = load_dataset(cfg.dataset)
    ctx.log_dataset(
        data.name,
        data.digest,
        source=data.source,
        n_rows=len(data.y),
        n_features=data.X.shape[1],
        target=data.target,
    )
    return data


def run_folds(cfg: DictConfig, ctx: Context, variants: Mapping[str, Any] | None = None) -> CVResult:
    """Fit ``cfg.model``, ``cfg.baseline`` and ``variants`` fold by fold, logging fold scores.

    The folds are ``cv.folds``-fold, repeated ``cv.repeats`` times. Variants' fold scores are
    logged as ``variant.NAME.fold_<metric>`` and judged by the runner against the same baseline
    folds. Each fold also scores every learner on ``feature_slices``, for the retrospective.
    The soft deadline is checked before each fold after the first (a short out of time still
    gets a verdict), and the running mean is reported after each so a sweep can prune.
    """
    metric = fold_metric(cfg)
    scorer = METRICS[metric][0]
    data = load_declared(cfg, ctx)
    model = instantiate(cfg.model)
    baseline = instantiate(cfg.baseline)
    plan = parse_folds(cfg.get("cv"))
    folds = RepeatedKFold(n_splits=plan.folds, n_repeats=plan.repeats, random_state=plan.seed)
    n = len(data.y)
    result = CVResult(
        dataset=data,
        metric=metric,
        folds_planned=folds.get_n_splits(),
        prediction=np.full(n, np.nan),
        baseline_prediction=np.full(n, np.nan),
        predicted=np.zeros(n, dtype=bool),
        test_train=plan.test_train,
        slices=feature_slices(data),
    )
    variants = dict(variants or {})
    for name in variants:
        result.variant_scores[name] = []
        result.variant_predictions[name] = np.full(n, np.nan)
    prediction_edges: list[np.ndarray[Any, Any]] = []
    for step, (train, test) in enumerate(folds.split(data.X)):
        if step > 0 and ctx.should_stop():
            break
        fitted = clone(model).fit(data.X[train], data.y[train])
        fitted_baseline = clone(baseline).fit(data.X[train], data.y[train])
        predicted = {"model": fitted.predict(data.X[test])}
        baseline_predicted = fitted_baseline.predict(data.X[test])
        result.prediction[test] = predicted["model"]
        result.baseline_prediction[test] = baseline_predicted
        result.predicted[test] = True
        result.last_model = fitted
        result.last_test = test
        result.scores.append(scorer(data.y[test], predicted["model"]))
        result.baseline_scores.append(scorer(data.y[test], baseline_predicted))
        fold_scores = {
            f"fold_{metric}": result.scores[-1],
            f"baseline_fold_{metric}": result.baseline_scores[-1],
        }
        for name, variant in variants.items():
            predicted[name] = clone(variant).fit(data.X[train], data.y[train]).predict(data.X[test])
            result.variant_predictions[name][test] = predicted[name]
            result.variant_scores[name].append(scorer(data.y[test], predicted[name]))
            fold_scores[f"variant.{name}.fold_{metric}"] = result.variant_scores[name][-1]
        edges = np.quantile(fitted_baseline.predict(data.X[train]), [0.25, 0.5, 0.75])
        prediction_edges.append(edges)
        masks = _slice_masks(result.slices, data.X[test], baseline_predicted, edges)
        y_test = data.y[test]
        for learner, values in predicted.items():
            per_slice = result.slice_scores.setdefault(learner, {})
            for name, rows in masks.items():
                pair = (
                    (
                        scorer(y_test[rows], values[rows]),
                        scorer(y_test[rows], baseline_predicted[rows]),
                    )
                    if rows.sum() >= 2
                    else (float("nan"), float("nan"))
                )
                per_slice.setdefault(name, []).append(pair)
        ctx.log_metrics(fold_scores, step=step)
        ctx.report(float(np.mean(result.scores)), step)
        # After the last fold there is nothing left to save: the trial completes and is judged.
        if step + 1 < result.folds_planned and ctx.should_prune():
            raise TrialPruned(
                f"mean {metric} {np.mean(result.scores):.4g} after {step + 1} fold(s)"
            )
    _describe_prediction_slices(result.slices, prediction_edges)
    ctx.report_folds(
        metric,
        result.scores,
        result.baseline_scores,
        test_train=result.test_train,
        variants=result.variant_scores,
        slices={
            name: {**definition, "learners": {k: v[name] for k, v in result.slice_scores.items()}}
            for name, definition in result.slices.items()
        },
    )
    return result


def feature_slices(data: Dataset) -> dict[str, dict[str, Any]]:
    """Slices known at prediction time: quartiles of the baseline's prediction, halves of features.

    Quartile edges are learned on each fold's training rows; a feature splits at its median over
    all rows (no target is looked at). Few features and no tiny halves: every slice is a claim
    the retrospective pays for in its error budget. Bounds follow ``shorts.routing.SliceRouter``.
    """
    slices: dict[str, dict[str, Any]] = {
        f"baseline prediction q{q}": {"by": "prediction", "quartile": q} for q in range(1, 5)
    }
    for column, name in enumerate(data.feature_names[:MAX_FEATURE_SLICES]):
        values = data.X[:, column]
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        median = float(np.median(finite))
        below = float(np.mean(finite < median))
        if min(below, 1.0 - below) < MIN_SLICE_SHARE:
            continue
        edge = float(f"{median:.6g}")
        # Named by the quantile, not the value, so replicates on other draws of the same data
        # (another dataset.seed) pool the same half; the edge itself is in the definition.
        slices[f"{name} below its median"] = {"by": "feature", "column": column, "high": edge}
        slices[f"{name} at or above its median"] = {"by": "feature", "column": column, "low": edge}
    return slices


def _describe_prediction_slices(
    slices: dict[str, dict[str, Any]], edges: list[np.ndarray[Any, Any]]
) -> None:
    """Give each prediction quartile the mean of its folds' edges, for a router to use."""
    if not edges:
        return
    mean = np.mean(edges, axis=0)
    bounds = [None, *(float(f"{e:.6g}") for e in mean), None]
    for definition in slices.values():
        if definition["by"] == "prediction":
            q = definition["quartile"]
            definition.update({"low": bounds[q - 1], "high": bounds[q]})


def _slice_masks(
    slices: Mapping[str, Mapping[str, Any]],
    X_test: np.ndarray[Any, Any],
    test_prediction: np.ndarray[Any, Any],
    edges: np.ndarray[Any, Any],
) -> dict[str, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Each slice's rows among a fold's test rows (prediction quartiles by training edges)."""
    quartile = np.searchsorted(edges, test_prediction, side="right") + 1
    masks = {}
    for name, definition in slices.items():
        if definition["by"] == "prediction":
            masks[name] = quartile == definition["quartile"]
        else:
            values = X_test[:, definition["column"]]
            masks[name] = within(values, definition.get("low"), definition.get("high"))
    return masks


def slice_metrics(result: CVResult) -> dict[str, float]:
    """The metric for model and baseline within each quartile of the true target (out-of-fold).

    A description of where errors fall, not a claim: no model knows the true target when it
    predicts (the retrospective's slice lessons come from ``feature_slices``).
    """
    rows = result.predicted
    return quartile_slices(
        result.dataset.y[rows],
        result.prediction[rows],
        result.baseline_prediction[rows],
        result.metric,
    )


def quartile_slices(
    y: np.ndarray[Any, Any],
    prediction: np.ndarray[Any, Any],
    baseline: np.ndarray[Any, Any],
    metric: str,
) -> dict[str, float]:
    """``slice_q{1..4}_<metric>`` and ``baseline_slice_q{1..4}_<metric>`` by quartile of ``y``."""
    scorer = METRICS[metric][0]
    quartile = np.searchsorted(np.quantile(y, [0.25, 0.5, 0.75]), y, side="right")
    metrics: dict[str, float] = {}
    for q in range(4):
        rows = quartile == q
        if not rows.any():
            continue
        metrics[f"slice_q{q + 1}_{metric}"] = scorer(y[rows], prediction[rows])
        metrics[f"baseline_slice_q{q + 1}_{metric}"] = scorer(y[rows], baseline[rows])
    return metrics


def quartiles_helped(slices: Mapping[str, float], metric: str) -> dict[str, float]:
    """``{"q1": -0.21, ...}``: the quartiles where the model beat the baseline, by how much.

    The change is the model's slice score over the baseline's, minus one, so for an error metric
    a win is negative; ``slices`` is what ``quartile_slices`` returns (other keys are ignored).
    """
    sign = 1.0 if METRICS[metric][1] == "minimize" else -1.0
    helped = {}
    for q in range(1, 5):
        mine = slices.get(f"slice_q{q}_{metric}")
        theirs = slices.get(f"baseline_slice_q{q}_{metric}")
        if mine is not None and theirs and sign * mine < sign * theirs:
            helped[f"q{q}"] = mine / theirs - 1.0
    return helped
