"""What a retrospective contains: plain data classes shared by the analysis, renderers and API.

Every figure carries the run ids behind it (``runs``), so a report can link each number to its
runs. A *failed short* is defined once, here (``is_failed``), so every count agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shorts.outcome import CAPPED, NO_RESULT, Outcome

# Outcomes that are failures whatever the verdict: the short produced no usable result
# (``shorts.outcome.NO_RESULT``), in the order reports list them: what a cap stopped first.
FAILED_OUTCOMES = tuple(
    o.value
    for o in (
        *(o for o in Outcome if o in CAPPED),
        Outcome.CRASHED,
        Outcome.LOST,
        Outcome.INTERRUPTED,
    )
    if o in NO_RESULT
)
# Verdicts of a completed short that are failures: it did not show what it set out to show.
FAILED_VERDICTS = ("miss", "inconclusive")
_FAILED_PHRASES = [Outcome(o).description.phrase for o in FAILED_OUTCOMES]
FAILED_DEFINITION = (
    "A failed short, here and throughout this report, is a run that did not end as a hit: it "
    f"{', '.join(_FAILED_PHRASES[:-1])} or {_FAILED_PHRASES[-1]}, or it completed with the "
    "verdict miss or inconclusive. Runs without a verdict, pruned sweep trials and runs still "
    "going are not counted as failed."
)


def is_failed(outcome: str, verdict: str) -> bool:
    """Whether a run with this outcome and verdict is a failed short (``FAILED_DEFINITION``)."""
    return outcome in NO_RESULT or (outcome == Outcome.COMPLETED and verdict in FAILED_VERDICTS)


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
    failed: int  # failed shorts (``is_failed``)
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
    # ``records.is_baseline_tag``: no uplift of its own, never suggested.
    baseline_tag: bool = False


@dataclass
class HarvestedItem:
    """A component or note a failed short saved with ``ctx.harvest``, with its evidence."""

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
    """A slice known at prediction time (never one of the true target: a hybrid must know a
    row's slice before it predicts) where a short's learner beat its baseline, in a claim
    selected among the quarter's (``shorts.retro.claims``).
    """

    short: str
    run: str  # the group's first run (for links); ``runs`` holds them all
    slice: str  # e.g. "bmi >= 0.0051" or "baseline prediction q4"
    metric: str
    uplift: float  # pooled relative improvement on the slice, positive = better than baseline
    techniques: list[str]
    dataset: str
    outcome: str = "completed"
    verdict: str = ""  # the learner's pooled verdict on the whole data set
    learner: str = "model"  # the short's own model, or a variant's name
    runs: list[str] = field(default_factory=list)
    folds: int = 0
    interval: tuple[float, float] = (float("nan"), float("nan"))  # 95%, corrected t
    p_value: float = float("nan")  # one-sided corrected t-test against the margin
    adjusted_p: float = float("nan")  # Benjamini-Hochberg, across the quarter's claims
    command: str = ""  # runs the hybrid it proposes on fresh folds


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
class CapNeed:
    """What a group of runs needed of one optional cap (``caps.cpu_time``), and the cap to set
    (``shorts.retro.cap_lessons.other_need``)."""

    key: str  # the config key: ``caps.cpu_time``
    noun: str  # "CPU-time"
    outcome: str  # the outcome its breach ends a run as
    stopped: list[str]  # runs the cap stopped
    caps: list[float]  # the distinct caps the runs ran under, in its unit, ascending
    needed: float | None  # the most a run used (a stopped run: at least its cap)
    recommended: float | None
    peak_share: float | None  # the highest use / that run's own cap
    basis: str
    guess: bool
    override: str  # the recommendation as an override: ``caps.cpu_time=8s``; "" if none
    shown: dict[str, str] = field(default_factory=dict)  # needed, caps, recommended as text


@dataclass
class CapLesson:
    """Observed use against the caps of one short, data set and configuration (grouped as
    replicates are, ``shorts.retro.cap_lessons``), and caps that would have fit. Each run is
    compared with its own caps (``peak_*_share``); the caps may differ between runs.
    """

    short: str
    dataset: str
    runs: list[str]
    timeouts: list[str]
    memouts: list[str]
    stopped_early: list[str]  # completed, but the soft deadline stopped it before all its folds
    wall_caps_seconds: list[float]  # the distinct wall-time caps of the runs, ascending
    memory_caps_mib: list[float]
    observed_peak_wall_seconds: float | None
    observed_peak_memory_mib: float | None
    peak_wall_share: float | None  # the highest wall time / that run's own cap
    peak_memory_share: float | None
    needed_wall_seconds: float | None  # what the runs needed (estimated from progress if capped)
    recommended_wall_seconds: float | None
    recommended_memory_mib: float | None
    wall_basis: str  # what the wall-time recommendation rests on, in words
    memory_basis: str
    anytime: bool  # runs until its wall-time cap by design: no wall-time advice
    underused: bool  # every run used under 10% of its wall and memory caps
    note: str
    # The run whose memory need is the highest (a memout counts at least its cap): when it is a
    # memout, the memory recommendation is a lower bound, a guess.
    peak_memory_run: str | None = None
    wall_guess: bool = False  # the wall-time recommendation is a guess (a timeout, no progress)
    configuration: str = ""  # the runs' configuration, ``key=value; ...`` (seeds and caps aside)
    # What sets this configuration apart from the short's others on the same data set in the
    # same lessons (``variants.* absent, cv.folds=3``); "" when it has only this one.
    configuration_note: str = ""
    # The overrides that rerun this configuration on this data set (after ``shorts run
    # +experiment=SHORT``), from a run's recorded command line: ``dataset=diabetes ~variants``.
    rerun: list[str] = field(default_factory=list)
    # The optional caps the runs ran under or were stopped by (``caps.cpu_time``), one each.
    others: list[CapNeed] = field(default_factory=list)


@dataclass
class Suggestion:
    """A technique with positive evidence somewhere that has not been tried elsewhere yet.

    ``untried_datasets`` are only data sets of the task kinds (``tasks``: regression,
    classification) where the evidence was measured.
    """

    technique: str
    evidence: str
    runs: list[str]
    tried_on: list[str]
    untried_datasets: list[str]
    tasks: list[str] = field(default_factory=list)


@dataclass
class Lesson:
    """One thing the period taught, with its evidence and a next step (``shorts.retro.lessons``),
    ranked by ``weight``."""

    kind: str  # hit, slice win, cap, crash, recurring crash
    text: str
    next_step: str
    command: str  # a ready command for the next step, or ""
    runs: list[str]
    weight: float
    evidence: dict[str, Any] = field(default_factory=dict)


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
    headroom: float = 1.5  # recommended cap = headroom x what the runs needed
    lessons: list[Lesson] = field(default_factory=list)  # most important first, at most five
    run_names: dict[str, str] = field(default_factory=dict)  # run id -> run name
    run_experiments: dict[str, str] = field(default_factory=dict)  # run id -> experiment id
    run_shorts: dict[str, str] = field(default_factory=dict)  # run id -> short
    ui_url: str | None = None  # the MLflow UI the links open
    claims: list[dict[str, Any]] = field(default_factory=list)  # every claim tested (claims.py)
    claims_summary: str = ""  # how many claims were tested, by which test, at what FDR level
    fdr_level: float = 0.05  # the false discovery rate the claims were selected at
