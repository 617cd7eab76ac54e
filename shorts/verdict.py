"""Verdicts: did a short beat its baseline, lose to it, or is the difference fold-to-fold noise?

The short and its baseline are scored on the same cross-validation folds, so the comparison is
paired: a t-test on the per-fold differences, measured against the declared minimum uplift (the
margin). A short is a ``hit`` when its uplift over the baseline is beyond the margin and that is
unlikely to be noise, a ``miss`` when it is short of the margin (or goes the wrong way) and that
is unlikely to be noise, and ``inconclusive`` when the folds cannot tell it from the margin.

A margin of 0 asks "better at all?"; a positive one "better by at least this much?"; a negative
one is a non-inferiority claim ("within 5% of the full model": ``min_uplift: -0.05``), where being
a little worse but surely within the margin is a hit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shorts.errors import UsageError

DIRECTIONS = ("minimize", "maximize")


class Verdict(StrEnum):
    """How a completed short fared against its baseline."""

    HIT = "hit"
    MISS = "miss"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class VerdictRule:
    """What a short must beat: the metric, its direction, the minimum uplift, the test level."""

    metric: str
    direction: str = "minimize"
    min_uplift: float = 0.0
    alpha: float = 0.05


@dataclass(frozen=True)
class Judgement:
    """A verdict with the figures it rests on."""

    verdict: Verdict
    uplift: float
    p_value: float
    folds: int
    short_mean: float
    baseline_mean: float
    reason: str


def parse_rule(raw: Any) -> VerdictRule:
    """The ``verdict`` config node as a ``VerdictRule``; a ``UsageError`` names what is accepted."""
    if raw is None or not hasattr(raw, "get"):
        raise UsageError("verdict must be a mapping with metric, direction, min_uplift and alpha.")
    metric = raw.get("metric")
    if not metric or not isinstance(metric, str):
        raise UsageError(f"verdict.metric={metric!r} must name the metric compared, e.g. rmse.")
    direction = raw.get("direction", "minimize")
    if direction not in DIRECTIONS:
        raise UsageError(f"verdict.direction={direction!r}; use minimize or maximize.")
    min_uplift = raw.get("min_uplift", 0.0)
    alpha = raw.get("alpha", 0.05)
    if isinstance(min_uplift, bool) or not isinstance(min_uplift, int | float):
        raise UsageError(f"verdict.min_uplift={min_uplift!r} must be a number (0.02 = 2%).")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise UsageError(f"verdict.alpha={alpha!r} must be a number in (0, 1).")
    return VerdictRule(metric, direction, float(min_uplift), float(alpha))


def judge(rule: VerdictRule, short: Sequence[float], baseline: Sequence[float]) -> Judgement:
    """Compare per-fold scores of a short and its baseline on the same folds."""
    pairs = [
        (float(s), float(b))
        for s, b in zip(short, baseline, strict=False)
        if math.isfinite(s) and math.isfinite(b)
    ]
    n = len(pairs)
    short_mean = sum(s for s, _ in pairs) / n if n else math.nan
    baseline_mean = sum(b for _, b in pairs) / n if n else math.nan
    sign = 1.0 if rule.direction == "minimize" else -1.0
    gains = [sign * (b - s) for s, b in pairs]  # positive: the short did better on that fold
    scale = abs(baseline_mean) if n and baseline_mean != 0 else 1.0
    uplift = (sum(gains) / n) / scale if n else math.nan
    # The test is of the uplift against the margin, fold by fold, not against zero.
    p_value = _paired_p_value([g / scale - rule.min_uplift for g in gains])
    better = "better" if uplift > 0 else "worse"
    margin = f" (margin {rule.min_uplift:+.1%})" if rule.min_uplift else ""
    figures = (
        f"{rule.metric} {short_mean:.4g} vs baseline {baseline_mean:.4g} "
        f"({uplift:+.1%}{margin}, paired p={p_value:.2g}, {n} folds)"
    )
    if n < 2:
        verdict, why = Verdict.INCONCLUSIVE, f"fewer than 2 comparable folds: {figures}"
    elif p_value >= rule.alpha:
        verdict, why = Verdict.INCONCLUSIVE, f"within fold-to-fold noise: {figures}"
    elif uplift >= rule.min_uplift:
        what = "beat the baseline" if uplift > 0 else "worse than the baseline, within the margin"
        verdict, why = Verdict.HIT, f"{what}: {figures}"
    else:
        needed = f"; needed {rule.min_uplift:+.1%}" if rule.min_uplift else ""
        verdict, why = Verdict.MISS, f"{better} than the baseline: {figures}{needed}"
    return Judgement(verdict, uplift, p_value, n, short_mean, baseline_mean, why)


def _paired_p_value(gains: Sequence[float]) -> float:
    """Two-sided p-value of a paired t-test that the mean gain is zero."""
    n = len(gains)
    if n < 2:
        return 1.0
    mean = sum(gains) / n
    variance = sum((g - mean) ** 2 for g in gains) / (n - 1)
    if variance == 0:
        return 1.0 if mean == 0 else 0.0
    from scipy import stats

    t = mean / math.sqrt(variance / n)
    return float(2 * stats.t.sf(abs(t), df=n - 1))
