"""Shorts that exercise the context's record-keeping: folds for the verdict, datasets, harvest."""

from __future__ import annotations

from typing import Any


def losing(cfg: Any, ctx: Any) -> dict[str, float]:
    """Worse than its baseline on every fold; harvests a note and a component anyway."""
    baseline = [60.0, 58.0, 62.0, 59.0, 61.0]
    scores = [b + 5.0 - 0.3 * i for i, b in enumerate(baseline)]
    ctx.log_dataset("toy", "abc123", "synthetic", n_rows=100, n_features=3, target="y")
    ctx.report_folds("rmse", scores, baseline)
    ctx.harvest("lesson", "Binning hurt the top decile.", evidence={"slice": "q4", "delta": -3.2})
    ctx.harvest("edges", {"edges": [0.0, 1.0, 2.0]}, evidence={"n_bins": 2})
    return {"rmse": sum(scores) / len(scores)}


def silent(cfg: Any, ctx: Any) -> dict[str, float]:
    """Completes without reporting fold scores: no verdict can be given."""
    return {"rmse": 1.0}
