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


# -- the corrected resampled t-test and pooled evidence ------------------------------------------


def test_the_corrected_test_is_more_cautious_than_a_plain_paired_t_test() -> None:
    from scipy import stats

    from shorts.verdict import Evidence

    gains = [0.03, 0.01, 0.04, 0.02, 0.035]
    plain = float(stats.ttest_1samp(gains, 0.0, alternative="greater").pvalue)
    corrected = Evidence.of(gains, test_train=0.25).p_above(0.0)

    assert plain < 0.01 < corrected  # folds share training rows: their agreement is not 5 votes


def test_reseeded_copies_of_one_learner_hit_at_most_at_the_nominal_rate() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    rule = VerdictRule(metric="rmse", min_uplift=0.01)
    hits = 0
    for _ in range(2000):
        baseline = 60 + rng.normal(0, 3, 5)
        shared = rng.normal(0, 0.5)  # fold gains of one comparison are correlated
        short = baseline + shared + rng.normal(0, 0.8, 5)
        hits += judge(rule, list(short), list(baseline)).verdict is Verdict.HIT

    assert hits / 2000 <= 0.025


def test_a_tiny_deterministic_difference_is_no_hit_at_the_shipped_margin() -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score

    X, y = load_diabetes(return_X_y=True)

    def rmse(alpha: float) -> list[float]:
        scores = cross_val_score(
            Ridge(alpha=alpha), X, y, cv=5, scoring="neg_root_mean_squared_error"
        )
        return [-s for s in scores]

    at_zero = judge(VerdictRule(metric="rmse", min_uplift=0.0), rmse(0.999), rmse(1.0))
    shipped = judge(parse_rule({"metric": "rmse"}), rmse(0.999), rmse(1.0))

    assert at_zero.verdict is Verdict.HIT  # consistent across folds, so "significant"...
    assert abs(at_zero.uplift) < 0.001
    assert shipped.verdict is Verdict.MISS  # ...but surely short of a 1% gain worth acting on
    assert shipped.evidence is not None and shipped.test.startswith("corrected resampled")


def test_pooled_evidence_is_the_evidence_of_all_folds_together() -> None:
    from shorts.verdict import Evidence, pooled

    first, second = [0.01, 0.03, -0.02, 0.04, 0.0], [0.05, 0.02, 0.06, 0.03, 0.04]
    together = pooled([Evidence.of(first, 0.25), Evidence.of(second, 0.25)])
    expected = Evidence.of(first + second, 0.25)

    assert together is not None
    assert together.folds == 10
    assert math.isclose(together.mean, expected.mean)
    assert math.isclose(together.variance, expected.variance)


def test_folds_to_settle_a_real_effect_and_none_for_one_more_folds_cannot_reach() -> None:
    from shorts.verdict import Evidence

    clear = Evidence(folds=5, mean=0.05, variance=0.0016, test_train=0.25)
    hopeless = Evidence(folds=5, mean=0.011, variance=0.01, test_train=0.25)

    needed = clear.folds_to_settle(margin=0.01, alpha=0.05)
    assert clear.p_above(0.01) > 0.05  # not settled on 5 folds
    assert needed is not None and needed > 5
    settled = Evidence(needed, clear.mean, clear.variance, clear.test_train)
    assert settled.p_above(0.01) < 0.05
    assert Evidence(needed - 1, clear.mean, clear.variance, 0.25).p_above(0.01) >= 0.05
    assert hopeless.folds_to_settle(margin=0.01, alpha=0.05) is None  # more data, not folds


def test_repeats_are_judged_with_the_test_train_ratio_given() -> None:
    rule = VerdictRule(metric="rmse", min_uplift=0.0)
    baseline = [60.0, 58.0, 62.0, 59.0, 61.0] * 3
    short = [b - 1.5 + 0.4 * ((i * 7) % 5 - 2) for i, b in enumerate(baseline)]

    judged = judge(rule, short, baseline, test_train=0.25)

    assert judged.folds == 15
    assert judged.evidence is not None and judged.evidence.test_train == 0.25
