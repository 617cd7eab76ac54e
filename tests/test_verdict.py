"""Verdict logic on constructed fold scores: hit, miss, inconclusive, and the rule's validation."""

from __future__ import annotations

import math

import pytest

from shorts.errors import UsageError
from shorts.verdict import Verdict, VerdictRule, judge, parse_rule

RMSE = VerdictRule(metric="rmse", direction="minimize", min_uplift=0.0, alpha=0.05)
BASELINE = [60.0, 58.0, 62.0, 59.0, 61.0]


def test_consistent_improvement_on_every_fold_is_a_hit() -> None:
    short = [b - 3.0 + 0.1 * i for i, b in enumerate(BASELINE)]

    judgement = judge(RMSE, short, BASELINE)

    assert judgement.verdict is Verdict.HIT
    assert judgement.uplift > 0.04
    assert judgement.p_value < 0.05
    assert "beat the baseline" in judgement.reason


def test_consistent_loss_is_a_miss() -> None:
    short = [b + 4.0 - 0.2 * i for i, b in enumerate(BASELINE)]

    judgement = judge(RMSE, short, BASELINE)

    assert judgement.verdict is Verdict.MISS
    assert judgement.uplift < 0
    assert "worse" in judgement.reason


def test_difference_within_fold_noise_is_inconclusive() -> None:
    short = [BASELINE[0] - 5, BASELINE[1] + 5, BASELINE[2] - 4, BASELINE[3] + 4, BASELINE[4] + 0.5]

    judgement = judge(RMSE, short, BASELINE)

    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.p_value > 0.05
    assert "noise" in judgement.reason


def test_real_but_too_small_improvement_misses_the_minimum_uplift() -> None:
    rule = VerdictRule(metric="rmse", min_uplift=0.10)
    short = [b - 1.0 - 0.01 * i for i, b in enumerate(BASELINE)]

    judgement = judge(rule, short, BASELINE)

    assert judgement.verdict is Verdict.MISS
    assert 0 < judgement.uplift < 0.10
    assert "needed +10.0%" in judgement.reason


def test_maximize_direction_flips_what_counts_as_better() -> None:
    rule = VerdictRule(metric="accuracy", direction="maximize")
    baseline = [0.70, 0.72, 0.69, 0.71, 0.70]
    short = [b + 0.05 + 0.001 * i for i, b in enumerate(baseline)]

    assert judge(rule, short, baseline).verdict is Verdict.HIT
    assert judge(rule, baseline, short).verdict is Verdict.MISS


def test_one_fold_cannot_decide() -> None:
    judgement = judge(RMSE, [10.0], [20.0])

    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.folds == 1


def test_identical_scores_are_inconclusive() -> None:
    judgement = judge(RMSE, BASELINE, BASELINE)

    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.uplift == 0


def test_non_finite_folds_are_left_out_of_the_comparison() -> None:
    short = [b - 3.0 + 0.1 * i for i, b in enumerate(BASELINE)] + [math.nan]

    judgement = judge(RMSE, short, [*BASELINE, 50.0])

    assert judgement.folds == len(BASELINE)
    assert judgement.verdict is Verdict.HIT


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"direction": "minimize"}, "verdict.metric"),
        ({"metric": "rmse", "direction": "down"}, "minimize or maximize"),
        ({"metric": "rmse", "min_uplift": "lots"}, "verdict.min_uplift"),
        ({"metric": "rmse", "alpha": 1.5}, "verdict.alpha"),
        (None, "verdict must be a mapping"),
    ],
)
def test_malformed_rules_are_usage_errors(raw: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_rule(raw)


def test_a_negative_margin_is_a_non_inferiority_claim() -> None:
    """``min_uplift: -0.05``: surely within 5% is a hit even when a little worse; surely beyond
    5% worse is a miss; a noisy result near the margin cannot decide."""
    rule = VerdictRule(metric="rmse", min_uplift=-0.05)
    baseline = [50.0, 52.0, 48.0, 51.0, 49.0]
    a_little_worse = [b * 1.02 + 0.05 * i for i, b in enumerate(baseline)]
    much_worse = [b * 1.15 + 0.05 * i for i, b in enumerate(baseline)]
    around_the_margin = [
        b * f for b, f in zip(baseline, [1.0, 1.12, 1.02, 1.09, 1.01], strict=True)
    ]

    within = judge(rule, a_little_worse, baseline)
    assert within.verdict is Verdict.HIT, within.reason
    assert within.uplift < 0
    assert "within the margin" in within.reason
    assert judge(rule, much_worse, baseline).verdict is Verdict.MISS
    assert judge(rule, around_the_margin, baseline).verdict is Verdict.INCONCLUSIVE


def test_a_positive_margin_must_be_cleared_beyond_noise() -> None:
    """Better by 12% on average against a 10% margin, but the folds straddle it: inconclusive."""
    rule = VerdictRule(metric="rmse", min_uplift=0.10)
    baseline = [50.0, 52.0, 48.0, 51.0, 49.0]
    short = [b * (1 - f) for b, f in zip(baseline, [0.05, 0.19, 0.08, 0.16, 0.12], strict=True)]

    judgement = judge(rule, short, baseline)

    assert judgement.uplift > 0.10
    assert judgement.verdict is Verdict.INCONCLUSIVE
