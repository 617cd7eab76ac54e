"""Verdicts: did a short beat its baseline by a margin worth acting on, or is it fold noise?

Each fold gives a relative gain (positive: better). Folds share training rows, so the test is the
*corrected resampled t-test* (Nadeau & Bengio 2003): the mean gain's variance is
``(1/J + n_test/n_train) * s^2`` for ``J`` folds, so more repeats cannot settle what only more
data can. A ``hit`` is surely beyond the margin (``verdict.min_uplift``), a ``miss`` surely short
of it, else ``inconclusive``. ``Evidence`` is recorded so a retrospective can pool replicates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shorts.errors import UsageError
from shorts.reports.values import format_probability

DIRECTIONS = ("minimize", "maximize")
TEST_NAME = "corrected resampled t-test (Nadeau & Bengio 2003)"


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
    min_uplift: float = 0.01
    alpha: float = 0.05


@dataclass(frozen=True)
class Evidence:
    """Relative gains over the baseline, fold by fold, summarised: enough to pool and test.

    ``test_train`` is the folds' test rows over training rows (1/(k-1) for k-fold), the term
    that corrects the variance for the training rows folds share.
    """

    folds: int
    mean: float
    variance: float
    test_train: float

    @classmethod
    def of(cls, gains: Sequence[float], test_train: float) -> Evidence:
        """The summary of per-fold gains."""
        n = len(gains)
        mean = math.fsum(gains) / n if n else math.nan
        variance = math.fsum((g - mean) ** 2 for g in gains) / (n - 1) if n > 1 else math.nan
        return cls(n, mean, variance, test_train)

    def standard_error(self) -> float:
        """The corrected standard error of the mean gain (Nadeau & Bengio)."""
        if self.folds < 2:
            return math.nan
        return math.sqrt((1.0 / self.folds + self.test_train) * self.variance)

    def p_above(self, margin: float) -> float:
        """One-sided p-value that the gain is not above ``margin`` (small: surely above it)."""
        return _t_tail(self, margin, upper=True)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """A two-sided ``level`` interval of the mean gain (corrected t)."""
        se = self.standard_error()
        if not math.isfinite(se):
            return (math.nan, math.nan)
        from scipy import stats

        half = float(stats.t.ppf(0.5 + level / 2, df=self.folds - 1)) * se
        return (self.mean - half, self.mean + half)

    def folds_to_settle(self, margin: float, alpha: float, most: int = 1000) -> int | None:
        """Folds in all (at this mean and spread) for the gain to be surely above ``margin``.

        ``None`` when no number of folds up to ``most`` would do: the ``test_train`` term does
        not shrink with more folds, so a small effect against a wide spread needs more data.
        """
        effect = self.mean - margin
        if self.folds < 2 or not effect > 0 or not math.isfinite(self.variance):
            return None
        if self.variance == 0:
            return self.folds
        from scipy import stats

        for folds in range(max(self.folds, 2), most + 1):
            critical = float(stats.t.ppf(1 - alpha, df=folds - 1))
            se = math.sqrt((1.0 / folds + self.test_train) * self.variance)
            if effect / se >= critical:
                return folds
        return None

    def compact(self) -> list[float]:
        """``[folds, mean, variance]`` for the run's record (6 significant digits)."""
        return [self.folds, _round(self.mean), _round(self.variance)]

    @classmethod
    def from_compact(cls, raw: Any, test_train: float) -> Evidence | None:
        """``compact``'s list back; ``None`` when it is not one."""
        try:
            folds, mean, variance = raw
            return cls(int(folds), float(mean), float(variance), float(test_train))
        except (TypeError, ValueError):
            return None


def pooled(parts: Iterable[Evidence]) -> Evidence | None:
    """Replicates' evidence as one: their folds together, as one repeated k-fold would give.

    The pooled variance includes the spread between replicates (different seeds, different
    folds), so a run that was lucky does not narrow the group's uncertainty.
    """
    usable = [p for p in parts if p.folds > 0 and math.isfinite(p.mean)]
    if not usable:
        return None
    n = sum(p.folds for p in usable)
    mean = math.fsum(p.folds * p.mean for p in usable) / n
    within = math.fsum((p.folds - 1) * p.variance for p in usable if p.folds > 1)
    between = math.fsum(p.folds * (p.mean - mean) ** 2 for p in usable)
    variance = (within + between) / (n - 1) if n > 1 else math.nan
    test_train = max(p.test_train for p in usable)  # the most conservative of the replicates
    return Evidence(n, mean, variance, test_train)


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
    evidence: Evidence | None = None
    test: str = TEST_NAME


@dataclass(frozen=True)
class FoldPlan:
    """The folds a short is compared on: ``folds``-fold, repeated ``repeats`` times."""

    folds: int = 5
    repeats: int = 1
    seed: int = 0

    @property
    def test_train(self) -> float:
        """A fold's test rows over its training rows: the corrected t-test's overlap term."""
        return 1.0 / (self.folds - 1)


def parse_folds(raw: Any) -> FoldPlan:
    """The ``cv`` config node as a ``FoldPlan``; a ``UsageError`` names what is accepted."""
    raw = raw if raw is not None and hasattr(raw, "get") else {}
    values = {}
    for key, least in (("folds", 2), ("repeats", 1), ("seed", None)):
        value = raw.get(key, getattr(FoldPlan, key))
        if isinstance(value, bool) or not isinstance(value, int) or (least and value < least):
            accepted = f"a whole number >= {least}" if least else "a whole number"
            raise UsageError(f"cv.{key}={value!r} must be {accepted}.")
        values[key] = value
    return FoldPlan(**values)


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
    min_uplift = raw.get("min_uplift", VerdictRule.min_uplift)
    alpha = raw.get("alpha", 0.05)
    if isinstance(min_uplift, bool) or not isinstance(min_uplift, int | float):
        raise UsageError(f"verdict.min_uplift={min_uplift!r} must be a number (0.02 = 2%).")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise UsageError(f"verdict.alpha={alpha!r} must be a number in (0, 1).")
    return VerdictRule(metric, direction, float(min_uplift), float(alpha))


def fold_gains(
    short: Sequence[float], baseline: Sequence[float], direction: str
) -> tuple[list[float], float, float]:
    """Relative gain on each fold both sides scored, with the two sides' means.

    A gain is the baseline's score minus the short's (signed by ``direction``, so positive is
    better) over the baseline's mean score; folds where either side is not finite are left out.
    """
    pairs = [
        (float(s), float(b))
        for s, b in zip(short, baseline, strict=False)
        if math.isfinite(s) and math.isfinite(b)
    ]
    if not pairs:
        return [], math.nan, math.nan
    short_mean = math.fsum(s for s, _ in pairs) / len(pairs)
    baseline_mean = math.fsum(b for _, b in pairs) / len(pairs)
    sign = 1.0 if direction == "minimize" else -1.0
    scale = abs(baseline_mean) or 1.0
    return [sign * (b - s) / scale for s, b in pairs], short_mean, baseline_mean


def judge(
    rule: VerdictRule,
    short: Sequence[float],
    baseline: Sequence[float],
    test_train: float | None = None,
) -> Judgement:
    """Compare per-fold scores of a short and its baseline on the same folds, in the same order.

    ``test_train`` is a fold's test rows over its training rows; default ``1/(k-1)`` for the ``k``
    folds given (plain k-fold; pass it for repeated k-fold or holdout splits).
    """
    gains, short_mean, baseline_mean = fold_gains(short, baseline, rule.direction)
    n = len(gains)
    ratio = test_train if test_train is not None else (1.0 / (n - 1) if n > 1 else 1.0)
    evidence = Evidence.of(gains, ratio)
    uplift = evidence.mean
    margin = rule.min_uplift
    verdict, p_value = decide(evidence, margin, rule.alpha)
    better = "better" if uplift > 0 else "worse"
    margin_text = f", margin {margin:+.1%}" if margin else ""
    figures = (
        f"{rule.metric} {short_mean:.4g} vs baseline {baseline_mean:.4g} "
        f"({uplift:+.1%}{margin_text}, corrected t-test p {format_probability(p_value)}, {n} folds)"
    )
    if n < 2:
        why = f"fewer than 2 comparable folds: {figures}"
    elif verdict is Verdict.INCONCLUSIVE:
        why = f"within fold-to-fold noise: {figures}"
    elif verdict is Verdict.HIT:
        what = "beat the baseline" if uplift > 0 else "worse than the baseline, within the margin"
        why = f"{what}: {figures}"
    else:
        needed = f"; needed {margin:+.1%}" if margin else ""
        why = f"{better} than the baseline: {figures}{needed}"
    return Judgement(verdict, uplift, p_value, n, short_mean, baseline_mean, why, evidence)


def decide(evidence: Evidence, margin: float, alpha: float) -> tuple[Verdict, float]:
    """The verdict on ``evidence`` against ``margin``, and its two-sided p-value.

    Two one-sided tests of the gain against the margin, each at ``alpha / 2``: a hit when the
    gain is surely above the margin, a miss when surely below, else inconclusive.
    """
    p_above, p_below = evidence.p_above(margin), _t_tail(evidence, margin, upper=False)
    p_value = min(1.0, 2 * min(p_above, p_below))
    if evidence.folds < 2 or p_value >= alpha:
        return Verdict.INCONCLUSIVE, p_value
    return (Verdict.HIT if p_above < p_below else Verdict.MISS), p_value


EVIDENCE_LIMIT = 7900  # characters: an MLflow tag holds at most 8000


@dataclass(frozen=True)
class FoldsVerdict:
    """The verdicts of everything a short compared on its folds, and the evidence behind them."""

    model: Judgement
    variants: dict[str, Judgement]
    record: dict[str, Any]  # what ``shorts.evidence`` holds (``evidence_record``)


def judge_folds(rule: VerdictRule, reported: Mapping[str, Any]) -> FoldsVerdict:
    """Judge the model and every variant a short reported (``Context.report_folds``).

    Slices are summarised, not judged: one slice of one run is too little to act on, and the
    retrospective tests them pooled over replicates, under one error budget for the quarter.
    """
    test_train = reported.get("test_train")
    ratio = float(test_train) if test_train else None
    model = judge(rule, reported["scores"], reported["baseline"], ratio)
    variants = {
        str(name): judge(rule, scores, reported["baseline"], ratio)
        for name, scores in (reported.get("variants") or {}).items()
    }
    return FoldsVerdict(model, variants, evidence_record(rule, model, variants, reported))


def evidence_record(
    rule: VerdictRule,
    model: Judgement,
    variants: Mapping[str, Judgement],
    reported: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``shorts.evidence`` tag: ``[folds, mean, variance]`` of the gains of the model, each
    variant and each slice of each, so replicates can be pooled; slices that would not fit in a
    tag are dropped from the end and counted (``slices_left_out``).
    """
    ratio = model.evidence.test_train if model.evidence else math.nan
    record: dict[str, Any] = {
        "test": TEST_NAME,
        "metric": rule.metric,
        "direction": rule.direction,
        "margin": rule.min_uplift,
        "alpha": rule.alpha,
        "test_train": _round(ratio),
        "model": model.evidence.compact() if model.evidence else None,
        "variants": {
            name: j.evidence.compact() for name, j in variants.items() if j.evidence is not None
        },
        "slices": {},
    }
    for name, definition in (reported.get("slices") or {}).items():
        entry = {k: v for k, v in definition.items() if k != "learners"}
        for learner, pairs in (definition.get("learners") or {}).items():
            gains, _, _ = fold_gains([a for a, _ in pairs], [b for _, b in pairs], rule.direction)
            if len(gains) >= 2:
                entry[learner] = Evidence.of(gains, ratio).compact()
        record["slices"][name] = entry
    while len(evidence_json(record)) > EVIDENCE_LIMIT and record["slices"]:
        record["slices"].popitem()
        record["slices_left_out"] = record.get("slices_left_out", 0) + 1
    return record


def evidence_json(record: Mapping[str, Any]) -> str:
    """``evidence_record`` as the ``shorts.evidence`` tag's text (compact JSON)."""
    return json.dumps(record, separators=(",", ":"))


def _t_tail(evidence: Evidence, margin: float, upper: bool) -> float:
    """P(T >= t) (``upper``) or P(T <= t) of the corrected t statistic against ``margin``."""
    if evidence.folds < 2 or not math.isfinite(evidence.mean):
        return 1.0
    effect = evidence.mean - margin
    if evidence.variance == 0 or not math.isfinite(evidence.variance):
        if evidence.variance == 0 and effect != 0:
            return 0.0 if (effect > 0) == upper else 1.0
        return 1.0
    from scipy import stats

    t = effect / evidence.standard_error()
    df = evidence.folds - 1
    return float(stats.t.sf(t, df) if upper else stats.t.cdf(t, df))


def _round(value: float) -> float:
    return float(f"{value:.6g}") if math.isfinite(value) else value
