"""Bootstrap intervals over rows: ``scipy.stats.bootstrap``, called the one way ``shorts`` needs.

Rows are resampled together across the arrays (``paired=True``: a row's truth and predictions stay
one row) and the interval is the percentiles of the resampled statistic (what a reader of "95%
bootstrap interval" expects; BCa needs a jackknife pass and fails on degenerate statistics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["paired_bootstrap"]


def paired_bootstrap(
    statistic: Callable[..., Any],
    *samples: np.ndarray[Any, Any],
    draws: int,
    seed: int,
    level: float = 0.95,
) -> tuple[float, float]:
    """The ``level`` percentile interval ``(low, high)`` of ``statistic(*samples)`` over rows
    drawn with replacement (``draws`` times, from ``seed``), the same rows from every sample.

    A ``statistic`` taking an ``axis`` keyword is given every draw at once (fast when numpy can
    vectorise it); any other (a scikit-learn metric) is called once per draw.
    """
    from scipy.stats import bootstrap

    result = bootstrap(
        samples,
        statistic,
        n_resamples=draws,
        paired=True,
        method="percentile",
        confidence_level=level,
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return float(low), float(high)
