"""Comparing a model with its baseline on the same folds: the evaluation most shorts share.

Why one loop: a short's verdict is a comparison, and a comparison is only fair when both sides see
the same folds, the same data and the same stopping rule. Keeping that in one place keeps it fair.
It logs each fold's score for both sides, declares the data set, and reports the fold scores for
the runner's verdict (``cfg.verdict.metric``: ``rmse``, ``mae`` or ``accuracy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.model_selection import KFold

from shorts.context import Context, TrialPruned
from shorts.datasets import Dataset, load_dataset
from shorts.errors import UsageError

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

Scorer = Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], float]


def _rmse(y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def _mae(y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def _accuracy(y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


METRICS: dict[str, tuple[Scorer, str]] = {
    "rmse": (_rmse, "minimize"),
    "mae": (_mae, "minimize"),
    "accuracy": (_accuracy, "maximize"),
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
    """Fit ``cfg.model`` and ``cfg.baseline`` fold by fold, logging both fold scores as it goes.

    ``variants`` (name to estimator) are fitted on the same folds too, their fold scores logged
    as ``variant.NAME.fold_<metric>``; the short's verdict stays the model's.

    The soft deadline is checked before each fold after the first, so a short that runs out of
    time still reports a verdict over the folds it finished. The running mean is reported after
    each fold (``ctx.report``), so in a sweep a hopeless trial is pruned instead of finished.
    """
    metric = fold_metric(cfg)
    scorer = METRICS[metric][0]
    data = load_declared(cfg, ctx)
    model = instantiate(cfg.model)
    baseline = instantiate(cfg.baseline)
    folds = KFold(int(cfg.cv.folds), shuffle=True, random_state=int(cfg.cv.seed))
    n = len(data.y)
    result = CVResult(
        dataset=data,
        metric=metric,
        folds_planned=folds.get_n_splits(),
        prediction=np.full(n, np.nan),
        baseline_prediction=np.full(n, np.nan),
        predicted=np.zeros(n, dtype=bool),
    )
    variants = dict(variants or {})
    for name in variants:
        result.variant_scores[name] = []
        result.variant_predictions[name] = np.full(n, np.nan)
    for step, (train, test) in enumerate(folds.split(data.X)):
        if step > 0 and ctx.should_stop():
            break
        fitted = clone(model).fit(data.X[train], data.y[train])
        fitted_baseline = clone(baseline).fit(data.X[train], data.y[train])
        result.prediction[test] = fitted.predict(data.X[test])
        result.baseline_prediction[test] = fitted_baseline.predict(data.X[test])
        result.predicted[test] = True
        result.last_model = fitted
        result.last_test = test
        result.scores.append(scorer(data.y[test], result.prediction[test]))
        result.baseline_scores.append(scorer(data.y[test], result.baseline_prediction[test]))
        fold_scores = {
            f"fold_{metric}": result.scores[-1],
            f"baseline_fold_{metric}": result.baseline_scores[-1],
        }
        for name, variant in variants.items():
            predicted = clone(variant).fit(data.X[train], data.y[train]).predict(data.X[test])
            result.variant_predictions[name][test] = predicted
            result.variant_scores[name].append(scorer(data.y[test], predicted))
            fold_scores[f"variant.{name}.fold_{metric}"] = result.variant_scores[name][-1]
        ctx.log_metrics(fold_scores, step=step)
        ctx.report(float(np.mean(result.scores)), step)
        # After the last fold there is nothing left to save: the trial completes and is judged.
        if step + 1 < result.folds_planned and ctx.should_prune():
            raise TrialPruned(
                f"mean {metric} {np.mean(result.scores):.4g} after {step + 1} fold(s)"
            )
    ctx.report_folds(metric, result.scores, result.baseline_scores)
    return result


def slice_metrics(result: CVResult) -> dict[str, float]:
    """The metric for model and baseline within each quartile of the true target (out-of-fold).

    Why: an average hides where a technique helps or hurts; binning typically shrinks the
    extremes towards the middle, which shows up in the outer quartiles. The retrospective reads
    these to find slices where a missed short still beat its baseline.
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
