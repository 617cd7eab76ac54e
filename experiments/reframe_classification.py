"""Short: does regression reframed as classification beat direct regression with the same learner?

Besides the overall verdict it logs RMSE per quartile of the true target, for both sides, so a
retrospective can say where the reframing helped or hurt, and saves the last fold's bins.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig

from shorts.context import Context
from shorts.errors import UsageError
from shorts.evaluate import CVResult, run_folds, slice_metrics
from shorts.reframe import BinnedRegressor


def _binned(model: Any) -> BinnedRegressor | None:
    """The ``BinnedRegressor`` in ``model``, which may also be a pipeline's last step."""
    final = getattr(model, "_final_estimator", model)
    return final if isinstance(final, BinnedRegressor) else None


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Cross-validate the binned model against ``cfg.baseline``; log slices, save bins.json."""
    if _binned(instantiate(cfg.model)) is None:
        raise UsageError(
            "The reframe_classification short needs a shorts.reframe.BinnedRegressor model "
            f"(e.g. model=binned_hist_gbm), got {cfg.model.get('_target_')}."
        )
    result = run_folds(cfg, ctx)
    ctx.log_metrics(slice_metrics(result))
    binned = _binned(result.last_model)
    assert binned is not None  # checked above; the fitted clone has the same type
    bins = {
        "fold": len(result.scores) - 1,
        "target": result.dataset.target,
        "strategy": binned.strategy,
        "decode": binned.decode,
        "n_bins": binned.n_bins_,
        "bin_edges": [round(float(edge), 6) for edge in binned.bin_edges_],
        "bin_means": [round(float(mean), 6) for mean in binned.bin_means_],
    }
    ctx.artifact_path("bins.json").write_text(json.dumps(bins, indent=2) + "\n")
    summary = result.summary()
    ctx.harvest(
        "binning_scheme",
        bins,
        evidence={"rmse": summary["rmse"], "baseline_rmse": summary["baseline_rmse"]},
    )
    calibration = _interval_calibration(binned, result)
    ctx.harvest(
        "interval_calibration",
        "Coverage of predict_interval on the last fold's held-out rows "
        "(nominal -> observed): "
        + ", ".join(
            f"{nominal:.0%} -> {observed:.0%}" for nominal, observed in calibration.items()
        ),
        evidence={f"coverage_{round(n * 100)}": round(o, 4) for n, o in calibration.items()},
    )
    for nominal, observed in calibration.items():
        summary[f"interval_coverage_{round(nominal * 100)}"] = observed
    return summary


def _interval_calibration(model: BinnedRegressor, result: CVResult) -> dict[float, float]:
    """Observed coverage of the model's prediction intervals on the last fold's test rows."""
    assert result.last_test is not None
    X = result.dataset.X[result.last_test]
    y = result.dataset.y[result.last_test]
    coverage = {}
    for nominal in (0.5, 0.8, 0.9):
        lower, upper = model.predict_interval(X, coverage=nominal)
        coverage[nominal] = float(np.mean((lower <= y) & (y <= upper)))
    return coverage
