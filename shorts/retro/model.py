"""What a retrospective contains: plain data classes shared by the analysis, renderers and API.

Every figure carries the run ids behind it (``runs``), so a report can link each number back to
the MLflow runs it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Period:
    """A half-open time window [start, end) in UTC, with a label such as ``2026Q4``."""

    start: datetime
    end: datetime
    label: str


@dataclass
class OutcomeCount:
    """Runs of one short (or all shorts: ``short == "*"``) with one outcome and verdict."""

    short: str
    outcome: str
    verdict: str  # hit, miss, inconclusive, none, or "" when the run did not complete
    runs: list[str]
    cpu_hours: float
    wall_hours: float


@dataclass
class WeekPoint:
    """One week of the period: runs started, failed, and compute spent."""

    week_start: datetime
    runs: int
    failed: int  # timeout, memout, crashed, lost, or completed with verdict miss
    cpu_hours: float
    failed_cpu_hours: float


@dataclass
class Portfolio:
    """The quarter at a glance; failures' share of compute is the price of exploration."""

    total_runs: int
    counts: list[OutcomeCount]
    weeks: list[WeekPoint]
    cpu_hours: float
    wall_hours: float
    failed_cpu_hours: float
    failed_share: float  # failed_cpu_hours / cpu_hours (0 when no compute)


@dataclass
class LedgerRow:
    """One technique tag across every short that tried it."""

    technique: str
    shorts: list[str]
    runs: list[str]
    hits: list[str]
    misses: list[str]
    inconclusive: list[str]
    capped: list[str]  # timeout or memout
    crashed: list[str]
    best_uplift: float | None
    best_run: str | None
    datasets: list[str]


@dataclass
class HarvestedItem:
    """A component or note a short saved with ``ctx.harvest``, with its evidence."""

    short: str
    run: str
    name: str
    kind: str  # component or note
    type: str
    artifact_path: str
    evidence: dict[str, Any]
    outcome: str
    verdict: str


@dataclass
class SliceWin:
    """A slice where a short that missed (or was inconclusive) still beat its baseline."""

    short: str
    run: str
    slice: str  # e.g. q4
    metric: str
    value: float
    baseline: float
    uplift: float  # relative improvement on the slice, positive = better than the baseline
    techniques: list[str]
    dataset: str


@dataclass
class NearMiss:
    """A short that nearly made it: within noise, or stopped by a cap while still improving."""

    short: str
    run: str
    kind: str  # "within-noise" or "improving-at-cap"
    detail: str
    metric: str | None = None
    last_values: list[float] = field(default_factory=list)


@dataclass
class Fingerprint:
    """Failures with the same exception type and innermost frame of the short's own code."""

    error_type: str
    where: str
    count: int
    shorts: list[str]
    example_run: str
    example_reason: str
    runs: list[str]


@dataclass
class CapLesson:
    """Observed use against the caps of one short, and a cap with headroom that would have fit."""

    short: str
    runs: list[str]
    timeouts: list[str]
    memouts: list[str]
    wall_cap_seconds: float | None
    memory_cap_mib: float | None
    observed_peak_wall_seconds: float | None
    observed_peak_memory_mib: float | None
    recommended_wall_seconds: float | None
    recommended_memory_mib: float | None
    underused: bool  # every run used under 10% of its wall and memory caps
    note: str


@dataclass
class Suggestion:
    """A technique with positive evidence somewhere that has not been tried elsewhere yet."""

    technique: str
    evidence: str
    runs: list[str]
    tried_on: list[str]
    untried_datasets: list[str]


@dataclass
class Retrospective:
    """Everything ``shorts retro`` reports for one period."""

    period: Period
    tracking_uri: str
    generated_at: datetime
    portfolio: Portfolio
    ledger: list[LedgerRow]
    harvested: list[HarvestedItem]
    slice_wins: list[SliceWin]
    near_misses: list[NearMiss]
    fingerprints: list[Fingerprint]
    cap_lessons: list[CapLesson]
    suggestions: list[Suggestion]
    run_links: dict[str, str]  # run id -> MLflow UI URL (when a server URL is known) or run id
    notes: list[str] = field(default_factory=list)  # e.g. "no runs in this period"
