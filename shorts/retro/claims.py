"""Everything a quarter claims, pooled over replicates and held to one error budget.

A claim is "this learner beats its baseline by more than the margin", overall or on a slice
known at prediction time. Replicate runs (same short, data set and configuration, seeds apart)
are pooled and tested once, so a group is never represented by its luckiest run. All of a
quarter's claims are one family, selected with Benjamini-Hochberg at ``level``: of the claims
selected, at most that share are expected to be noise, however many were tested. Runs without
``shorts.evidence`` have nothing to pool and make no claim.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shorts.record import EVIDENCE
from shorts.retro.records import RunRecord, json_object
from shorts.retro.wording import times
from shorts.verdict import TEST_NAME, Evidence, Verdict, decide, pooled

__all__ = ["DEFAULT_LEVEL", "Claim", "Claims", "select_claims"]

DEFAULT_LEVEL = 0.05
SLICE_KEYS = ("by", "column", "low", "high", "quartile")  # a slice's definition
MAX_SETTLING_FOLDS = 100  # a near miss that needs more folds than this needs more data instead


@dataclass
class Claim:
    """One hypothesis: ``learner`` of ``short`` beats the baseline by more than ``margin``."""

    short: str
    dataset: str
    configuration: str
    learner: str  # "model" (the short's own) or a variant's name
    slice: str  # "" for the whole data set
    definition: dict[str, Any]  # the slice: by, column, low, high, quartile
    runs: list[str]
    evidence: Evidence
    margin: float
    metric: str
    p_value: float  # one-sided, corrected resampled t-test, gain > margin
    adjusted: float = math.nan  # Benjamini-Hochberg adjusted p-value in the quarter's family
    selected: bool = False
    alpha: float = 0.05  # the runs' verdict level (``verdict.alpha``)

    @property
    def verdict(self) -> Verdict:
        """The pooled verdict by the runs' own rule (``shorts.verdict.decide``), where a hit
        counts only once the quarter's error budget selected it."""
        verdict, _ = decide(self.evidence, self.margin, self.alpha)
        return Verdict.INCONCLUSIVE if verdict is Verdict.HIT and not self.selected else verdict

    @property
    def uplift(self) -> float:
        return self.evidence.mean

    @property
    def folds(self) -> int:
        return self.evidence.folds

    def interval(self) -> tuple[float, float]:
        return self.evidence.interval(0.95)

    def as_dict(self) -> dict[str, Any]:
        low, high = self.interval()
        return {
            "short": self.short,
            "dataset": self.dataset,
            "learner": self.learner,
            "slice": self.slice,
            "definition": self.definition,
            "runs": self.runs,
            "folds": self.folds,
            "uplift": self.uplift,
            "interval_95": [low, high],
            "margin": self.margin,
            "metric": self.metric,
            "p_value": self.p_value,
            "bh_adjusted_p": self.adjusted,
            "selected": self.selected,
        }


@dataclass
class Claims:
    """The quarter's family of claims, after selection."""

    claims: list[Claim] = field(default_factory=list)
    level: float = DEFAULT_LEVEL
    test: str = TEST_NAME
    untested_runs: int = 0  # completed runs with no evidence to pool

    @property
    def tested(self) -> int:
        return len(self.claims)

    @property
    def selected(self) -> list[Claim]:
        return [c for c in self.claims if c.selected]

    def overall(self, claim: Claim) -> Claim | None:
        """The whole-data-set claim of the same group and learner as ``claim``."""
        return self._overall.get((claim.short, claim.dataset, claim.configuration, claim.learner))

    @cached_property
    def _overall(self) -> dict[tuple[str, str, str, str], Claim]:
        return {(c.short, c.dataset, c.configuration, c.learner): c for c in self if not c.slice}

    def __iter__(self) -> Iterator[Claim]:
        return iter(self.claims)

    def settling_alpha(self) -> float:
        """The p-value a claim not yet selected would need to join the selected ones (BH)."""
        return self.level * (len(self.selected) + 1) / max(self.tested, 1)

    def summary(self) -> str:
        """How many claims were tested, how, and at what level: for the report."""
        if not self.claims:
            without = times(self.untested_runs, "completed run")
            return "No claim was tested: no completed run recorded fold evidence" + (
                f" ({without} without it)." if self.untested_runs else "."
            )
        return (
            f"{times(self.tested, 'claim')} tested (each short's model and variants against "
            f"their baselines, overall and on slices known at prediction time, pooled over "
            f"replicate runs) by the {self.test}; {len(self.selected)} selected with the false "
            f"discovery rate held at {self.level:.0%} (Benjamini-Hochberg). Only selected "
            f"claims become lessons and slice wins."
        )


def select_claims(records: Sequence[RunRecord], level: float = DEFAULT_LEVEL) -> Claims:
    """Pool each group's evidence, test every claim, and select under FDR control at ``level``."""
    groups: dict[tuple[str, str, str], list[tuple[RunRecord, dict[str, Any]]]] = defaultdict(list)
    untested = 0
    for r in records:
        if r.outcome != "completed" or r.verdict not in ("hit", "miss", "inconclusive"):
            continue
        record = json_object(r.tags.get(EVIDENCE))
        if not record.get("model"):
            untested += 1
            continue
        groups[(r.short, r.dataset_config, r.configuration)].append((r, record))
    claims: list[Claim] = []
    for (short, dataset, configuration), members in sorted(groups.items()):
        claims.extend(_group_claims(short, dataset, configuration, members))
    found = Claims(claims, level, untested_runs=untested)
    if claims:
        from scipy.stats import false_discovery_control

        adjusted = false_discovery_control([c.p_value for c in claims], method="bh")
        for claim, value in zip(claims, adjusted, strict=True):
            claim.adjusted = float(value)
            claim.selected = bool(value <= level) and claim.uplift > claim.margin
    return found


def fresh_seed(records: Sequence[RunRecord], runs: Sequence[str]) -> int:
    """A ``cv.seed`` none of ``runs`` used, so a confirmation is judged on fresh folds."""
    wanted = set(runs)
    seeds = [
        int(r.params["cv.seed"])
        for r in records
        if r.run_id in wanted and str(r.params.get("cv.seed", "")).lstrip("-").isdigit()
    ]
    return max(seeds, default=0) + 1


def _group_claims(
    short: str,
    dataset: str,
    configuration: str,
    members: Sequence[tuple[RunRecord, Mapping[str, Any]]],
) -> list[Claim]:
    """The group's claims: each learner overall and on each slice, evidence pooled over runs."""
    first = members[0][1]
    margin = float(first.get("margin", 0.0))
    alpha = float(first.get("alpha", 0.05))
    metric = str(first.get("metric", ""))
    runs = [r.run_id for r, _ in members]
    parts: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    definitions: dict[str, dict[str, Any]] = {}
    for _, record in members:
        ratio = float(record.get("test_train") or 0.25)
        learners = {"model": record.get("model"), **(record.get("variants") or {})}
        for learner, raw in learners.items():
            evidence = Evidence.from_compact(raw, ratio)
            if evidence is not None:
                parts[(learner, "")].append(evidence)
        for name, entry in (record.get("slices") or {}).items():
            if not isinstance(entry, dict):
                continue
            definitions.setdefault(name, {k: v for k, v in entry.items() if k in SLICE_KEYS})
            for learner in learners:
                evidence = Evidence.from_compact(entry.get(learner), ratio)
                if evidence is not None:
                    parts[(learner, name)].append(evidence)
    claims = []
    for (learner, slice_name), evidences in parts.items():
        together = pooled(evidences)
        if together is None or together.folds < 2:
            continue
        claims.append(
            Claim(
                short=short,
                dataset=dataset,
                configuration=configuration,
                learner=learner,
                slice=slice_name,
                definition=definitions.get(slice_name, {}),
                runs=runs,
                evidence=together,
                margin=margin,
                metric=metric,
                p_value=together.p_above(margin),
                alpha=alpha,
            )
        )
    return claims


def settling_folds(claim: Claim, alpha: float) -> int | None:
    """Folds in all that would settle a claim at its observed effect, if within reach."""
    needed = claim.evidence.folds_to_settle(claim.margin, alpha, MAX_SETTLING_FOLDS)
    return needed if needed is not None and needed > claim.folds else None
