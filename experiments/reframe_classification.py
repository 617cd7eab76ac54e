"""Short: does regression reframed as classification beat direct regression with the same learner?

Besides the overall verdict it logs RMSE per quartile of the true target, for both sides, so a
retrospective can say where the reframing helped or hurt, and saves the last fold's bins.
"""

from __future__ import annotations

import json
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from experiments._cv import run_folds, slice_metrics
from shorts.context import Context
from shorts.errors import UsageError
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
        "fold": len(result.fold_rmse) - 1,
        "target": result.dataset.target,
        "strategy": binned.strategy,
        "decode": binned.decode,
        "n_bins": binned.n_bins_,
        "bin_edges": [round(float(edge), 6) for edge in binned.bin_edges_],
        "bin_means": [round(float(mean), 6) for mean in binned.bin_means_],
    }
    ctx.artifact_path("bins.json").write_text(json.dumps(bins, indent=2) + "\n")
    return result.summary()
