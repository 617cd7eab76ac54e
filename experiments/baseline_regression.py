"""Short: does the configured model beat its baseline regressor on cross-validated RMSE?"""

from __future__ import annotations

from omegaconf import DictConfig

from shorts import Context, run_folds, slice_metrics


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Cross-validate ``cfg.model`` against ``cfg.baseline`` on the same folds."""
    result = run_folds(cfg, ctx)
    ctx.log_metrics(slice_metrics(result))
    return result.summary()
