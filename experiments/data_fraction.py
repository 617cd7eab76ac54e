"""Short: how much of the data does a model need to reach 95% of its full-data score?

A classic small experiment before paying for more data (or more compute): train the same model on
growing random shares of each training fold and score it on the same held-out fold. The verdict
compares the claimed share (``fractions.claim``) with the full training folds; the declared
minimum uplift is negative (e.g. -5%), so "at most 5% worse than with all the data" is a hit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.model_selection import KFold

from shorts import METRICS, Context, fold_metric, load_declared, quartile_slices


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Learning curve over ``cfg.fractions.grid``; verdict at ``cfg.fractions.claim``."""
    metric = fold_metric(cfg)
    scorer, direction = METRICS[metric]
    grid = sorted({float(f) for f in cfg.fractions.grid} | {float(cfg.fractions.claim), 1.0})
    data = load_declared(cfg, ctx)
    model = instantiate(cfg.model)
    rng = np.random.default_rng(int(cfg.cv.seed))
    folds = KFold(int(cfg.cv.folds), shuffle=True, random_state=int(cfg.cv.seed))
    scores: dict[float, list[float]] = {f: [] for f in grid}
    claim = float(cfg.fractions.claim)
    n = len(data.y)
    at_claim, at_full = np.full(n, np.nan), np.full(n, np.nan)
    for step, (train, test) in enumerate(folds.split(data.X)):
        if step > 0 and ctx.should_stop():
            break
        shuffled = rng.permutation(train)
        for fraction in grid:
            rows = shuffled[: max(2, round(fraction * len(train)))]
            fitted = clone(model).fit(data.X[rows], data.y[rows])
            predicted = fitted.predict(data.X[test])
            scores[fraction].append(scorer(data.y[test], predicted))
            if fraction == claim:
                at_claim[test] = predicted
            if fraction == 1.0:
                at_full[test] = predicted
        ctx.log_metric(f"fold_{metric}", scores[1.0][-1], step=step)
    means = {f: float(np.mean(s)) for f, s in scores.items()}
    for fraction, mean in means.items():
        ctx.log_metric(f"curve_{metric}", mean, step=round(fraction * 100))
    full = means[1.0]
    ctx.report_folds(metric, scores[claim], scores[1.0])
    done = ~np.isnan(at_full)
    ctx.log_metrics(quartile_slices(data.y[done], at_claim[done], at_full[done], metric))
    within = [f for f in grid if _within(means[f], full, 0.95, direction)]
    return {
        f"{metric}_at_claim": means[claim],
        f"{metric}_full_data": full,
        "claim_fraction": claim,
        "fraction_reaching_95pct": min(within),
        "folds_completed": float(len(scores[1.0])),
    }


def _within(score: float, full: float, share: float, direction: Any) -> bool:
    """Whether ``score`` reaches ``share`` of the full-data score (errors: at most full/share)."""
    if direction == "minimize":
        return score <= full / share
    return score >= full * share
