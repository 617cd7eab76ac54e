"""Short: does a slice winner, routed to its slice with the baseline elsewhere, beat the baseline?

A retrospective's slice lesson says a failed short still beat its baseline on one slice; this
short tests the hybrid it proposes (``shorts.routing.SliceRouter``) on fresh folds, against the
router's own baseline. Besides the fold scores and the quartile slices every short logs, it logs
the share of rows the router sends to the slice's model (``in_slice_share``: the last fold's
training rows; ``in_slice_share_test``: its test rows), so a verdict on an empty or all-rows
slice is seen for what it is.

Override forms (checked with ``shorts run +experiment=slice_hybrid ... --cfg job``):
``model@model.estimator=CONFIG`` swaps the slice's model for any ``configs/model`` config,
``model@model.baseline=CONFIG model@baseline=CONFIG`` swaps the baseline on both sides, and
``model.column=2 model.low=0.03 model.high=0.1 model.by=feature`` (or ``model.by=prediction``)
sets the slice. ``+model@model.estimator=...`` is refused (the entry already exists).
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from shorts import Context, SliceRouter, run_folds, slice_metrics


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Cross-validate the router against ``cfg.baseline``; log slices and the routed share."""
    result = run_folds(cfg, ctx)
    ctx.log_metrics(slice_metrics(result))
    router = result.last_model
    assert isinstance(router, SliceRouter)  # short.requires.model, checked before the run
    assert result.last_test is not None  # at least one fold always runs
    shares = {
        "in_slice_share": router.in_slice_share_,
        "in_slice_share_test": float(np.mean(router.in_slice(result.dataset.X[result.last_test]))),
    }
    ctx.log_metrics(shares)
    return {**result.summary(), **shares}
