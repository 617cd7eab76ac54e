"""Bootstrap intervals over rows: ``scipy.stats.bootstrap``, called the one way ``shorts`` needs.

Why a wrapper at all: every interval ``shorts`` reports over rows (a model's score on location,
the gap between a person's labels and a model's) resamples the rows *together* across the arrays
it is given (``paired=True``: a row's truth and its predictions stay one row), reads the interval
off the percentiles of the resampled statistic (``method="percentile"``: what a reader of "95%
bootstrap interval" expects, and defined for any statistic, where BCa needs a jackknife pass and
fails on degenerate ones), and is reproducible from a seed. The draws are the rows
``numpy.random.default_rng(seed).integers(0, n, (draws, n))``.
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
    """The ``level`` percentile interval of ``statistic(*samples)`` over rows drawn with
    replacement, the same rows from every sample.

    Args:
        statistic: called with the resampled samples, in order. One that takes an ``axis``
            keyword is given every draw at once (rows on that axis): much faster for a
            statistic numpy can vectorise; any other is called once per draw (a
            scikit-learn metric, say).
        samples: arrays of one row each per observation, all the same length (two or more).
        draws: how many resamples.
        seed: the seed of the draws.
        level: the interval's coverage.

    Returns:
        ``(low, high)``.
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
