"""``shorts.stats.paired_bootstrap``: scipy's bootstrap, paired, percentile, seeded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, r2_score

from shorts.stats import paired_bootstrap


def _rmse_gap(t: Any, y: Any, m: Any, axis: int = -1) -> Any:
    """A person's RMSE minus a model's, for every draw at once (rows on ``axis``)."""
    return np.sqrt(np.mean((y - t) ** 2, axis=axis)) - np.sqrt(np.mean((m - t) ** 2, axis=axis))


def test_the_interval_is_the_percentiles_of_the_same_paired_draws_a_loop_would_make() -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(size=40)
    person, model = truth + rng.normal(0, 1.0, 40), truth + rng.normal(0, 0.5, 40)

    # the loop this replaced: rows drawn with numpy's generator, one interval of percentiles
    draws = np.random.default_rng(3).integers(0, 40, size=(2000, 40))
    gaps = _rmse_gap(truth[draws], person[draws], model[draws], axis=1)
    expected = np.quantile(gaps, [0.025, 0.975])

    low, high = paired_bootstrap(_rmse_gap, truth, person, model, draws=2000, seed=3)

    assert (low, high) == pytest.approx(tuple(expected), rel=1e-9)
    assert low < _rmse_gap(truth, person, model) < high


def test_a_metric_without_an_axis_is_called_once_per_draw() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=60)
    prediction = y + rng.normal(0, 0.6, 60)
    classes = rng.integers(0, 3, 60)
    guessed = np.where(rng.random(60) < 0.7, classes, (classes + 1) % 3)

    draws = np.random.default_rng(5).integers(0, 60, size=(200, 60))
    r2 = np.percentile([r2_score(y[d], prediction[d]) for d in draws], [2.5, 97.5])
    balanced = [balanced_accuracy_score(classes[d], guessed[d]) for d in draws]

    assert paired_bootstrap(r2_score, y, prediction, draws=200, seed=5) == pytest.approx(
        tuple(r2), rel=1e-9
    )
    assert paired_bootstrap(
        balanced_accuracy_score, classes, guessed, draws=200, seed=5
    ) == pytest.approx(tuple(np.percentile(balanced, [2.5, 97.5])), rel=1e-9)


def test_rows_are_drawn_together_across_samples() -> None:
    x = np.random.default_rng(2).normal(size=30)

    def gap(a: Any, b: Any, axis: int = -1) -> Any:
        return np.mean(b, axis=axis) - np.mean(a, axis=axis)

    # paired, x + 1 minus x is 1 on every draw; drawn apart it would wander
    assert paired_bootstrap(gap, x, x + 1.0, draws=500, seed=0) == pytest.approx((1.0, 1.0))


def test_a_lower_level_gives_a_narrower_interval_and_a_seed_repeats_it() -> None:
    x = np.random.default_rng(4).normal(size=50)
    wide = paired_bootstrap(np.mean, x, draws=1000, seed=9, level=0.95)
    narrow = paired_bootstrap(np.mean, x, draws=1000, seed=9, level=0.5)

    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    assert paired_bootstrap(np.mean, x, draws=1000, seed=9) == wide
