"""The cross-validation loop the regression shorts share: a model against a baseline, same folds.

Why one loop: a short's verdict is a comparison, and a comparison is only fair when both sides see
the same folds, the same data and the same stopping rule. Keeping that in one place keeps it fair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.model_selection import KFold

from shorts.context import Context
from shorts.datasets import Dataset, load_dataset

__all__ = ["CVResult", "run_folds", "slice_metrics"]


@dataclass
class CVResult:
    """Per-fold scores and out-of-fold predictions of a model and its baseline.

    ``predicted`` marks rows that were in a completed fold's test set; the prediction arrays hold
    NaN elsewhere (a short that stops early has not predicted every row).
    """

    dataset: Dataset
    folds_planned: int
    fold_rmse: list[float]
    baseline_fold_rmse: list[float]
    prediction: np.ndarray[Any, np.dtype[np.float64]]
    baseline_prediction: np.ndarray[Any, np.dtype[np.float64]]
    predicted: np.ndarray[Any, np.dtype[np.bool_]]
    last_model: Any

    def summary(self) -> dict[str, float]:
        """The verdict over completed folds; ``rmse_uplift`` < 0 means the model lost."""
        rmse = float(np.mean(self.fold_rmse))
        baseline_rmse = float(np.mean(self.baseline_fold_rmse))
        return {
            "rmse": rmse,
            "rmse_std": float(np.std(self.fold_rmse)),
            "baseline_rmse": baseline_rmse,
            "baseline_rmse_std": float(np.std(self.baseline_fold_rmse)),
            "rmse_uplift": (baseline_rmse - rmse) / baseline_rmse,
            "folds_completed": float(len(self.fold_rmse)),
            "folds_planned": float(self.folds_planned),
        }


def _rmse(y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def run_folds(cfg: DictConfig, ctx: Context) -> CVResult:
    """Fit ``cfg.model`` and ``cfg.baseline`` fold by fold, logging both fold RMSEs as it goes.

    The soft deadline is checked before each fold after the first, so a short that runs out of
    time still reports a verdict over the folds it finished.
    """
    data = load_dataset(cfg.dataset)
    ctx.log_dataset(
        data.name,
        data.digest,
        source=str(cfg.dataset.get("source", "")),
        n_rows=len(data.y),
        n_features=data.X.shape[1],
        target=data.target,
    )
    model = instantiate(cfg.model)
    baseline = instantiate(cfg.baseline)
    folds = KFold(int(cfg.cv.folds), shuffle=True, random_state=int(cfg.cv.seed))
    n = len(data.y)
    result = CVResult(
        dataset=data,
        folds_planned=folds.get_n_splits(),
        fold_rmse=[],
        baseline_fold_rmse=[],
        prediction=np.full(n, np.nan),
        baseline_prediction=np.full(n, np.nan),
        predicted=np.zeros(n, dtype=bool),
        last_model=None,
    )
    for step, (train, test) in enumerate(folds.split(data.X)):
        if step > 0 and ctx.should_stop():
            break
        fitted = clone(model).fit(data.X[train], data.y[train])
        fitted_baseline = clone(baseline).fit(data.X[train], data.y[train])
        result.prediction[test] = fitted.predict(data.X[test])
        result.baseline_prediction[test] = fitted_baseline.predict(data.X[test])
        result.predicted[test] = True
        result.last_model = fitted
        result.fold_rmse.append(_rmse(data.y[test], result.prediction[test]))
        result.baseline_fold_rmse.append(_rmse(data.y[test], result.baseline_prediction[test]))
        ctx.log_metrics(
            {
                "fold_rmse": result.fold_rmse[-1],
                "baseline_fold_rmse": result.baseline_fold_rmse[-1],
            },
            step=step,
        )
    ctx.report_folds("rmse", result.fold_rmse, result.baseline_fold_rmse)
    return result


def slice_metrics(result: CVResult) -> dict[str, float]:
    """RMSE of model and baseline within each quartile of the true target (out-of-fold rows).

    Why: an average hides where a reframing helps or hurts; binning typically shrinks the
    extremes towards the middle, which shows up in the outer quartiles.
    """
    y = result.dataset.y[result.predicted]
    prediction = result.prediction[result.predicted]
    baseline = result.baseline_prediction[result.predicted]
    quartile = np.searchsorted(np.quantile(y, [0.25, 0.5, 0.75]), y, side="right")
    metrics: dict[str, float] = {}
    for q in range(4):
        rows = quartile == q
        if not rows.any():
            continue
        metrics[f"slice_q{q + 1}_rmse"] = _rmse(y[rows], prediction[rows])
        metrics[f"baseline_slice_q{q + 1}_rmse"] = _rmse(y[rows], baseline[rows])
    return metrics
