"""Caps a short should run under, from its runs on record: the evidence, a proposal, its basis.

The proposal is the retrospective's cap lesson (``shorts.retro.cap_lessons``) per data set and
configuration, so ``shorts caps suggest`` and a retrospective never disagree. This module adds
the spread of what the runs used (p50/p90/max), their outcomes, each proposal's basis in words,
and a command line that runs the configuration under it. After a memout the proposal is a lower
bound (the run showed only that it needed more than its cap), and the advice says so.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from dataclasses import dataclass, field

from shorts import record
from shorts.caps import KINDS
from shorts.outcome import Outcome
from shorts.retro.cap_lessons import cap_lessons, history_ids
from shorts.retro.load import load_histories, load_short_runs
from shorts.retro.model import CapLesson, CapNeed
from shorts.retro.records import HistoryIn, RunRecord, finite, rerun_arguments, run_records
from shorts.retro.wording import mib

__all__ = ["CapAdvice", "Spread", "advise", "advise_from_store"]

OUTCOME_ORDER = (*(o.value for o in Outcome), record.RUNNING)
RERUN = "a guess: rerun with it and suggest again"


@dataclass(frozen=True)
class Spread:
    """The median, 90th percentile and maximum of one figure over the runs that recorded it."""

    p50: float
    p90: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        import numpy as np

        known = [v for v in values if finite(v)]
        if not known:
            return None
        p50, p90 = (float(q) for q in np.percentile(known, [50, 90]))
        return cls(p50, p90, max(known), len(known))


@dataclass(frozen=True)
class CapAdvice:
    """The caps proposed for one short on one data set in one configuration, and the evidence."""

    short: str
    dataset: str  # with its size knobs, e.g. ``friedman1 (n_samples=20000)``
    configuration: str  # ``key=value; ...`` of the runs' params, seeds and caps aside
    # What sets it apart from the short's other configurations on the data set
    # (``variants.* absent``); "" when it has only this one.
    configuration_note: str
    runs: int
    outcomes: dict[str, int]  # outcome -> runs, in the order of ``OUTCOME_ORDER``
    peak_memory_mib: Spread | None
    wall_seconds: Spread | None
    memory_caps_mib: list[float]  # the distinct caps the runs ran under
    wall_caps_seconds: list[float]
    memory_mib: int | None  # the proposal; None when no run recorded a peak
    wall_time_seconds: int | None  # None when no run says what it needs (or an anytime short)
    memory_basis: str
    wall_basis: str
    memory_guess: bool  # the memory proposal rests on a memout: a lower bound
    wall_guess: bool
    overrides: list[str]  # the proposal as overrides: ``caps.memory=240MiB caps.wall_time=31s``
    command: str  # ``shorts run ...`` of the runs' configuration under the proposed caps
    # The optional caps the runs ran under (``caps.cpu_time``): need, caps, proposal, basis.
    others: list[CapNeed] = field(default_factory=list)
    others_used: dict[str, Spread | None] = field(default_factory=dict)  # by cap key


def advise_from_store(
    tracking_uri: str, short: str, dataset: str | None, headroom: float
) -> tuple[list[CapAdvice], list[str]]:
    """``advise`` over every run of ``short`` in the store (of ``dataset`` only, if given), and
    the data sets the short has runs on.

    One read of the short's runs serves both: the data sets name the alternatives when
    ``dataset`` has no runs, without asking the store again.
    """
    records = run_records(load_short_runs(tracking_uri, short))
    on_record = sorted({r.dataset for r in records if r.dataset})
    if dataset is not None:
        records = [r for r in records if r.dataset == dataset]
    wanted = history_ids(records)
    histories = load_histories(tracking_uri, wanted) if wanted else {}
    return advise(records, histories, headroom), on_record


def advise(records: list[RunRecord], histories: HistoryIn, headroom: float) -> list[CapAdvice]:
    """One ``CapAdvice`` per short, data set (with its size knobs) and configuration, from the
    cap lessons."""
    by_id = {r.run_id: r for r in records}
    advice = []
    for lesson in cap_lessons(records, histories, headroom):
        members = [by_id[run] for run in lesson.runs]
        advice.append(_advice(lesson, members, by_id, headroom))
    return advice


def _advice(
    lesson: CapLesson, members: list[RunRecord], by_id: dict[str, RunRecord], headroom: float
) -> CapAdvice:
    counts = Counter(r.outcome for r in members)
    outcomes = {o: counts[o] for o in OUTCOME_ORDER if counts[o]}
    outcomes.update({o: n for o, n in sorted(counts.items()) if o not in outcomes})
    peak_run = by_id.get(lesson.peak_memory_run or "")
    memory_guess = peak_run is not None and peak_run.outcome == Outcome.MEMOUT
    memory = _whole(lesson.recommended_memory_mib)
    wall = _whole(lesson.recommended_wall_seconds)
    proposed = [f"caps.memory={memory}MiB"] if memory is not None else []
    proposed += [f"caps.wall_time={wall}s"] if wall is not None else []
    proposed += [need.override for need in lesson.others if need.override]
    command = shlex.join(["shorts", "run", *rerun_arguments(lesson.short, lesson.rerun, proposed)])
    return CapAdvice(
        short=lesson.short,
        dataset=lesson.dataset,
        configuration=lesson.configuration,
        configuration_note=lesson.configuration_note,
        runs=len(members),
        outcomes=outcomes,
        peak_memory_mib=Spread.of([r.peak_rss_mib for r in members]),
        wall_seconds=Spread.of([r.wall_seconds for r in members]),
        memory_caps_mib=list(lesson.memory_caps_mib),
        wall_caps_seconds=list(lesson.wall_caps_seconds),
        memory_mib=memory,
        wall_time_seconds=wall,
        memory_basis=_memory_basis(lesson, peak_run, memory, headroom),
        wall_basis=_wall_basis(lesson, headroom),
        memory_guess=memory_guess,
        wall_guess=lesson.wall_guess,
        overrides=proposed,
        command=command,
        others=list(lesson.others),
        others_used={
            need.key: Spread.of([record.number(r.metrics, kind.usage_metric) for r in members])
            for need in lesson.others
            if (kind := next(k for k in KINDS if k.key == need.key))
        },
    )


def _whole(value: float | None) -> int | None:
    """A proposal as a whole number of MiB or seconds (already rounded up by the lesson)."""
    return max(1, int(value)) if value is not None and finite(value) else None


def _memory_basis(
    lesson: CapLesson, peak_run: RunRecord | None, proposal: int | None, headroom: float
) -> str:
    """Why this memory cap: the highest peak times the headroom, or what a memout showed."""
    need = lesson.observed_peak_memory_mib
    if proposal is None or need is None or peak_run is None:
        return f"no proposal: {lesson.memory_basis}"
    times_need = f"{headroom:g}x {mib(need)} = {proposal} MiB"
    if peak_run.outcome == Outcome.MEMOUT:
        cap = peak_run.caps_memory_mib
        killed = (
            f"killed at its {mib(cap)} cap"
            if not finite(cap) or mib(cap) == mib(need)
            else f"killed at {mib(need)}, over its {mib(cap)} cap"
        )
        return (
            f"run {peak_run.run_id} was {killed}, so it needed more than that: at least "
            f"{times_need}, {RERUN}"
        )
    ended = (
        ""
        if peak_run.outcome == Outcome.COMPLETED
        else f"; it ended as {peak_run.outcome}, so it may need more"
    )
    return f"{headroom:g}x the highest peak, {mib(need)} (run {peak_run.run_id}){ended}"


def _wall_basis(lesson: CapLesson, headroom: float) -> str:
    """Why this wall-time cap, from the lesson's own account of what the runs needed."""
    if lesson.recommended_wall_seconds is None:
        return f"no proposal: {lesson.wall_basis}"
    if lesson.wall_guess:
        return f"{lesson.wall_basis}; {RERUN}"
    need = lesson.needed_wall_seconds
    if need is not None and lesson.recommended_wall_seconds > math.ceil(headroom * need):
        return f"what the slowest run needed, plus a margin: {lesson.wall_basis}"
    return f"{headroom:g}x what the slowest run needed: {lesson.wall_basis}"
