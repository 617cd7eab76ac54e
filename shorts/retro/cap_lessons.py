"""Cap lessons: what a short's runs on one data set needed, against the caps they ran under.

Shared by the retrospective, ``shorts caps suggest`` and the memory-headroom warning, so a
recommendation reads the same wherever it is shown. Runs are grouped as replicates are, so a need
measured on one configuration is never advised for another.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from shorts import record
from shorts.caps import KINDS, Cap
from shorts.outcome import CAPPED, Outcome
from shorts.retro.model import CapLesson, CapNeed
from shorts.retro.records import (
    HistoryIn,
    RunRecord,
    as_number,
    finite,
    or_zero,
    param,
    rerun_overrides,
)
from shorts.retro.wording import mib, pct, seconds, times

__all__ = [
    "cap_lessons",
    "configuration_differences",
    "history_ids",
    "memory_floor",
]

# A timeout that logged no progress needed more than it ran, by an unknown amount: the advice is
# then a guess of at least this many times what it ran (or the headroom, if larger).
GUESS_FACTOR = 2.0
# A recommended wall-time cap is at least this many seconds over what a run needed: a 5 s run
# given 8 s times out on a busy machine, where imports alone can take seconds more.
WALL_SLACK_SECONDS = 10.0
UNDERUSED_FRACTION = 0.10
MAX_DIFFERENCES = 3  # a configuration note names at most this many differences, then "and N more"
_WORD_BREAK = re.compile(r"[^a-z0-9]+")
# Between two ``key=value`` items of a configuration (``records.configuration``); a "; " inside
# a value is not followed by another ``key=``.
_ITEM_BREAK = re.compile(r"; (?=[^=;\s]+=)")


class _Progress(NamedTuple):
    """How far a run got: folds done of folds planned, and when each finished (s from start)."""

    done: int
    planned: int
    fold_seconds: list[float]


class WallNeed(NamedTuple):
    """What one run tells about the wall time its short needs on its data set."""

    run: str
    need: float  # seconds needed; for a guess, a lower bound (what it ran)
    recommended: float
    basis: str
    guess: bool


def _int(value: Any) -> int | None:
    number = as_number(value)
    return int(number) if finite(number) and number >= 0 else None


def history_ids(records: list[RunRecord]) -> list[str]:
    """The runs whose metric histories a lesson reads: those a cap stopped (how far they got)."""
    return [r.run_id for r in records if r.outcome in CAPPED or _cut_short(r)]


def _planned_folds(r: RunRecord) -> int | None:
    return _int(r.metrics.get("folds_planned")) or _int(param(r.params, "cv.folds") or None)


def _cut_short(r: RunRecord) -> bool:
    """A completed run the soft deadline stopped before all its planned folds."""
    done = _int(r.metrics.get("folds_completed"))
    planned = _planned_folds(r)
    return r.outcome == "completed" and done is not None and planned is not None and done < planned


def _progress(r: RunRecord, history: Mapping[str, Sequence[Sequence[float]]]) -> _Progress | None:
    """Folds done (``folds_completed``, else the steps of its ``fold_*`` scores) of planned.

    The planned folds are ``folds_planned`` if the short returned it, else the ``cv.folds``
    param. Each fold's time is when its first score was logged, from the run's start.
    """
    planned = _planned_folds(r)
    if planned is None:
        return None
    logged: dict[int, float] = {}
    for key, points in history.items():
        if not key.startswith("fold_"):
            continue
        for point in points:
            step = int(point[0])
            stamp = float(point[2]) if len(point) > 2 else math.nan
            logged[step] = min(logged.get(step, math.inf), stamp if finite(stamp) else math.inf)
    done = _int(r.metrics.get("folds_completed"))
    if done is None:
        if not logged:
            return None
        done = len(logged)
    start = r.start_ms
    fold_seconds = []
    if start is not None:
        fold_seconds = [
            (stamp - start) / 1000.0
            for _, stamp in sorted(logged.items())
            if finite(stamp) and stamp > start
        ]
    return _Progress(done, planned, fold_seconds)


def _pace(elapsed: float, progress: _Progress) -> tuple[float, str]:
    """Seconds per remaining fold, and how it was measured."""
    done_at = progress.fold_seconds
    if len(done_at) >= 2 and done_at[-1] > done_at[0]:
        return (done_at[-1] - done_at[0]) / (len(done_at) - 1), "its pace between logged folds"
    if done_at:
        return done_at[0], "the time to its first fold, start-up included"
    return elapsed / progress.done, "its average per fold, start-up included"


def wall_need(
    r: RunRecord, history: Mapping[str, Sequence[Sequence[float]]], headroom: float
) -> WallNeed | None:
    """What the run needed, if it says anything about wall time (completed or timed out).

    A clean completion needed its wall time. A run stopped by a cap (a timeout, or a completion
    the soft deadline cut short) needed its elapsed time plus its remaining folds at its own
    pace: ``elapsed + (planned - done) x pace``; with no fold times logged the pace is
    ``elapsed / done``, i.e. ``elapsed / share done``. A timeout with no progress logged needed
    more than it ran by an unknown amount: the advice is then a guess of
    ``max(headroom, GUESS_FACTOR)`` x what it ran.
    """
    elapsed = r.wall_seconds
    if r.outcome == "timeout" and finite(r.caps_wall_seconds):
        elapsed = max(elapsed, r.caps_wall_seconds) if finite(elapsed) else r.caps_wall_seconds
    if not finite(elapsed) or elapsed <= 0:
        return None
    progress = _progress(r, history) if r.outcome in ("timeout", "completed") else None
    cut_short = progress is not None and 0 < progress.done < progress.planned
    if r.outcome == "completed" and not cut_short:
        return WallNeed(
            r.run_id, elapsed, headroom * elapsed, f"a completed run took {seconds(elapsed)}", False
        )
    if cut_short:
        assert progress is not None
        pace, how = _pace(elapsed, progress)
        left = progress.planned - progress.done
        need = elapsed + left * pace
        stopped = "timed out" if r.outcome == "timeout" else "stopped at its soft deadline"
        basis = (
            f"a run {stopped} after {progress.done} of {progress.planned} folds in "
            f"{seconds(elapsed)}; {left} more at {seconds(pace)} each ({how}) make about "
            f"{seconds(need)}"
        )
        return WallNeed(r.run_id, need, headroom * need, basis, False)
    if r.outcome != "timeout":
        return None
    factor = max(headroom, GUESS_FACTOR)
    if progress is not None and progress.done >= progress.planned:
        why = f"all {progress.planned} folds were done, what it was still doing is unknown"
    else:
        why = "no progress logged"
    basis = f"a guess ({why}): {factor:g}x the {seconds(elapsed)} a timeout ran"
    return WallNeed(r.run_id, elapsed, factor * elapsed, basis, True)


def _with_slack(need: WallNeed) -> float:
    return max(need.recommended, need.need + WALL_SLACK_SECONDS)


def memory_floor(outcome: str, peak_mib: float, cap_mib: float) -> float:
    """The memory a run shows its short needs, in MiB: its peak, and for a memout at least its cap.

    A memout was killed on crossing its cap, so its recorded peak is where the kill caught it,
    not what it would have reached: the need is *more* than this, by an unknown amount.
    """
    if outcome == Outcome.MEMOUT and finite(cap_mib):
        return max(peak_mib, cap_mib) if finite(peak_mib) else cap_mib
    return peak_mib


def _anytime(r: RunRecord) -> bool:
    """Runs until its wall-time cap by design: an ``anytime`` technique or ``*.anytime`` param."""
    if any("anytime" in _WORD_BREAK.split(t.lower()) for t in r.techniques):
        return True
    return any(
        key.rsplit(".", 1)[-1] == "anytime" and str(value).strip().lower() in ("true", "1", "yes")
        for key, value in r.params.items()
    )


def cap_lessons(records: list[RunRecord], histories: HistoryIn, headroom: float) -> list[CapLesson]:
    """One lesson per short, data set (with its size knobs) and configuration that recorded caps.

    Runs whose configurations differ only in seeds or caps are one group; each lesson of a short
    on a data set with several configurations says what sets its own apart
    (``configuration_differences`` among those lessons).
    """
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.short, r.dataset_config, r.configuration)].append(r)
    kept = {
        key: members
        for key, members in sorted(groups.items())
        if any(finite(r.caps_wall_seconds) or finite(r.caps_memory_mib) for r in members)
        or any(r.outcome in CAPPED for r in members)
    }
    configurations: dict[tuple[str, str], list[str]] = defaultdict(list)
    for short, dataset, config in kept:
        configurations[(short, dataset)].append(config)
    notes = {
        (short, dataset, config): note
        for (short, dataset), configs in configurations.items()
        for config, note in configuration_differences(configs).items()
    }
    return [
        cap_lesson(
            short,
            dataset,
            members,
            histories,
            headroom,
            configuration=config,
            configuration_note=notes[(short, dataset, config)],
        )
        for (short, dataset, config), members in kept.items()
    ]


def configuration_differences(
    configurations: Sequence[str], most: int = MAX_DIFFERENCES
) -> dict[str, str]:
    """For each configuration (``records.configuration``), what sets it apart from the others.

    A subtree one configuration has and another lacks (``~variants``) is one difference,
    ``variants.* absent`` or ``variants.* present``; a value that differs is ``cv.folds=3``; a
    single key one lacks is ``cv.repeats absent``. The differences rarest among the others come
    first (what this configuration alone has), at most ``most`` of them, then ``and N more``.
    ``configurations`` are one short's on one data set; each distinct one gets its note (``""``
    when there is only one).
    """
    parsed = {c: _configuration_items(c) for c in dict.fromkeys(configurations)}
    if len(parsed) < 2:
        return dict.fromkeys(parsed, "")
    keys = set().union(*parsed.values())
    # What each configuration sets: its keys and every subtree above them (``variants``,
    # ``variants.soft``, ``variants.soft.n_bins``).
    presence = {c: {q for key in items for q in _prefixes(key)} for c, items in parsed.items()}
    prefixes = set().union(*presence.values())
    # Subtrees (or single keys) that some configurations have and others lack, outermost only.
    varying = {p for p in prefixes if len({p in has for has in presence.values()}) > 1}
    outermost = sorted(
        p for p in varying if not any(p.startswith(f"{q}.") for q in varying if q != p)
    )
    having = {p: sum(p in has for has in presence.values()) for p in outermost}
    values = {key: Counter(items.get(key) for items in parsed.values()) for key in keys}
    notes = {}
    for config, items in parsed.items():
        found: list[tuple[int, str]] = []  # (how many others share it, the difference)
        for p in outermost:
            has = p in presence[config]
            shared = (having[p] if has else len(parsed) - having[p]) - 1
            if p in items:
                found.append((shared, f"{p}={items[p]}"))
            else:
                subtree = any(key.startswith(f"{p}.") for key in keys)
                what = f"{p}.*" if subtree else p
                found.append((shared, f"{what} {'present' if has else 'absent'}"))
        for key in sorted(items):
            if any(key == p or key.startswith(f"{p}.") for p in outermost):
                continue
            value = items[key]
            shared = values[key][value] - 1
            if shared < len(parsed) - 1:
                found.append((shared, f"{key}={value}"))
        found.sort(key=lambda item: item[0])  # stable: within a rarity, in key order
        shown = [text for _, text in found[:most]]
        more = len(found) - len(shown)
        notes[config] = ", ".join(shown) + (f" and {more} more" if more else "")
    return notes


def _configuration_items(config: str) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in _ITEM_BREAK.split(config)) if config else {}


def _prefixes(key: str) -> list[str]:
    """``a``, ``a.b`` and ``a.b.c`` of ``a.b.c``."""
    parts = key.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def cap_lesson(
    short: str,
    dataset: str,
    runs: list[RunRecord],
    histories: HistoryIn,
    headroom: float,
    *,
    configuration: str = "",
    configuration_note: str = "",
) -> CapLesson:
    """Each run against its own caps, and caps with ``headroom`` over what the runs needed.

    ``runs`` are one group (``cap_lessons``): one short, data set and configuration. Wall time:
    the largest of the runs' recommendations (``wall_need``), so the cap fits the most demanding
    run seen; none for a short that runs until its cap by design (``_anytime``). Memory:
    ``headroom`` times the highest peak; a memout's peak is at least its cap.
    """
    timeouts = [r for r in runs if r.outcome == "timeout"]
    memouts = [r for r in runs if r.outcome == "memout"]
    peak_wall = _max(
        max(r.wall_seconds, r.caps_wall_seconds) if r.outcome == "timeout" else r.wall_seconds
        for r in runs
    )
    floors = {r.run_id: memory_floor(r.outcome, r.peak_rss_mib, r.caps_memory_mib) for r in runs}
    peak_memory = _max(floors.values())
    peak_memory_run = next((run for run, f in floors.items() if f == peak_memory), None)
    anytime = any(_anytime(r) for r in runs)
    needs = [
        need
        for r in runs
        if (need := wall_need(r, histories.get(r.run_id) or {}, headroom)) is not None
    ]
    stopped_early = [r for r in runs if r.outcome == "completed" and _was_cut_short(r, histories)]
    recommended_wall: float | None = None
    needed_wall: float | None = None
    wall_guess = False
    if anytime:
        wall_basis = (
            "it runs until its wall-time cap by design (an anytime search): the cap is its "
            "budget, not a limit it outgrew, so there is no wall-time advice"
        )
    elif needs:
        top = max(needs, key=_with_slack)
        recommended_wall = float(math.ceil(_with_slack(top)))
        needed_wall = max(n.need for n in needs)
        wall_basis = top.basis
        if _with_slack(top) > top.recommended:
            wall_basis += (
                f"; {seconds(WALL_SLACK_SECONDS)} over that rather than {headroom:g}x, since "
                "start-up and a busy machine cost seconds that do not scale with the run"
            )
        wall_guess = top.guess
        if wall_guess and configuration_note:
            wall_basis += (
                "; runs of its other configurations do not count, since they cost differently"
            )
    else:
        wall_basis = "no run completed or reached its wall-time cap"
    recommended_memory: float | None = None
    memory_basis = "no peak memory recorded"
    if memouts:
        worst = max(memouts, key=lambda r: or_zero(floors[r.run_id]))
        floor = floors[worst.run_id]
        cap = worst.caps_memory_mib
        if not finite(cap) or mib(floor) == mib(cap):
            memory_basis = f"a memout needs more than the {mib(floor)} it reached"
        else:
            memory_basis = (
                f"a memout needs more than the {mib(floor)} it reached before its "
                f"{mib(cap)} cap stopped it"
            )
    elif peak_memory is not None:
        memory_basis = f"the highest peak was {mib(peak_memory)}"
    if peak_memory is not None:
        recommended_memory = float(math.ceil(headroom * peak_memory))
    underused = bool(runs) and all(_underused(r) for r in runs)
    lesson = CapLesson(
        short=short,
        dataset=dataset,
        runs=[r.run_id for r in runs],
        timeouts=[r.run_id for r in timeouts],
        memouts=[r.run_id for r in memouts],
        stopped_early=[r.run_id for r in stopped_early],
        wall_caps_seconds=_distinct(r.caps_wall_seconds for r in runs),
        memory_caps_mib=_distinct(r.caps_memory_mib for r in runs),
        observed_peak_wall_seconds=peak_wall,
        observed_peak_memory_mib=peak_memory,
        peak_wall_share=_max(_share(r.wall_seconds, r.caps_wall_seconds) for r in runs),
        peak_memory_share=_max(_share(r.peak_rss_mib, r.caps_memory_mib) for r in runs),
        needed_wall_seconds=needed_wall,
        recommended_wall_seconds=recommended_wall,
        recommended_memory_mib=recommended_memory,
        wall_basis=wall_basis,
        memory_basis=memory_basis,
        anytime=anytime,
        underused=underused,
        note="",
        peak_memory_run=peak_memory_run,
        wall_guess=wall_guess,
        configuration=configuration,
        configuration_note=configuration_note,
        rerun=rerun_overrides(runs),
        others=[
            other
            for kind in KINDS
            if kind.generic_advice and (other := other_need(kind, runs, headroom)) is not None
        ],
    )
    lesson.note = _cap_note(
        lesson,
        wall_caps=_distinct(r.caps_wall_seconds for r in timeouts),
        memory_caps=_distinct(r.caps_memory_mib for r in memouts),
        headroom=headroom,
    )
    return lesson


def other_need(kind: type[Cap], runs: Sequence[RunRecord], headroom: float) -> CapNeed | None:
    """What ``runs`` needed of a cap of ``kind``; None if none ran under one or was stopped by it.

    The need is the most any run used (its ``kind.usage_metric``); a run the cap stopped used
    at least its cap and needed more, by an unknown amount: its advice is then a guess of
    ``max(headroom, GUESS_FACTOR)`` x its cap.
    """
    capped = {r.run_id: record.number(r.metrics, kind.metric()) for r in runs}
    stopped = [r for r in runs if r.outcome == kind.outcome]
    if not stopped and not any(finite(c) for c in capped.values()):
        return None
    needs = {}
    for r in runs:
        used = record.number(r.metrics, kind.usage_metric)
        if r.outcome == kind.outcome and finite(capped[r.run_id]):
            used = max(used, capped[r.run_id]) if finite(used) else capped[r.run_id]
        if finite(used):
            needs[r.run_id] = used
    caps = _distinct(capped.values())
    shares = [_share(record.number(r.metrics, kind.usage_metric), capped[r.run_id]) for r in runs]
    shown = {"caps": ", ".join(kind.display(c) for c in caps)}
    top = max(needs, key=needs.__getitem__) if needs else None
    needed = needs[top] if top is not None else None
    guess = any(r.run_id == top for r in stopped)
    factor = max(headroom, GUESS_FACTOR) if guess else headroom
    recommended: float | None = None
    if needed is None:
        basis = f"no run recorded its {kind.noun} use"
    else:
        recommended = float(math.ceil(factor * needed))
        shown.update(needed=kind.display(needed), recommended=kind.display(recommended))
        basis = (
            f"a guess: run {top} was stopped by its {kind.noun} cap after using "
            f"{kind.display(needed)} and needed more; {factor:g}x that"
            if guess
            else f"{headroom:g}x the most a run used, {kind.display(needed)} (run {top})"
        )
    return CapNeed(
        key=kind.key,
        noun=kind.noun,
        outcome=kind.outcome.value,
        stopped=[r.run_id for r in stopped],
        caps=caps,
        needed=needed,
        recommended=recommended,
        peak_share=_max(shares),
        basis=basis,
        guess=guess,
        override=kind.override(recommended) if recommended is not None else "",
        shown=shown,
    )


def _was_cut_short(r: RunRecord, histories: HistoryIn) -> bool:
    progress = _progress(r, histories.get(r.run_id) or {})
    return progress is not None and 0 < progress.done < progress.planned


def _share(used: float, cap: float) -> float:
    return used / cap if finite(used) and finite(cap) and cap > 0 else math.nan


def _distinct(values: Iterable[float]) -> list[float]:
    return sorted({v for v in values if finite(v)})


def _underused(r: RunRecord) -> bool:
    """Under 10% of both caps; a run whose use of either cap is unknown does not count."""
    wall = as_number(r.metrics.get(record.CAP_USED_WALL_TIME))
    if not finite(wall):
        wall = _share(r.wall_seconds, r.caps_wall_seconds)
    memory = as_number(r.metrics.get(record.CAP_USED_MEMORY))
    if not finite(memory):
        memory = _share(r.peak_rss_mib, r.caps_memory_mib)
    return all(finite(share) and share < UNDERUSED_FRACTION for share in (wall, memory))


def _cap_note(
    lesson: CapLesson, wall_caps: list[float], memory_caps: list[float], headroom: float
) -> str:
    """The lesson in a sentence: what hit which caps, and what to set instead, and why."""
    parts = []
    rec_wall, rec_memory = lesson.recommended_wall_seconds, lesson.recommended_memory_mib
    if lesson.memouts:
        at = f" at {', '.join(mib(c) for c in memory_caps)}" if memory_caps else ""
        fit = (
            f"; try {mib(rec_memory)} ({headroom:g}x: {lesson.memory_basis})" if rec_memory else ""
        )
        parts.append(f"{times(len(lesson.memouts), 'memout')}{at}{fit}")
    capped = []
    if lesson.timeouts:
        at = f" at {', '.join(seconds(c) for c in wall_caps)}" if wall_caps else ""
        capped.append(f"{times(len(lesson.timeouts), 'timeout')}{at}")
    if lesson.stopped_early:
        n = len(lesson.stopped_early)
        capped.append(
            f"{n} {'run' if n == 1 else 'runs'} stopped at the soft deadline before all "
            f"{'its' if n == 1 else 'their'} folds"
        )
    if lesson.anytime:
        parts.append("; ".join([*capped, f"no wall-time advice: {lesson.wall_basis}"]))
    elif capped:
        if rec_wall is not None and lesson.needed_wall_seconds is not None:
            guess = lesson.wall_basis.startswith("a guess")
            why = (
                lesson.wall_basis
                if guess
                else f"{headroom:g}x the time needed: {lesson.wall_basis}"
            )
            capped.append(f"try {seconds(rec_wall)} ({why})")
        parts.append("; ".join(capped))
    for need in lesson.others:
        if need.stopped:
            at = f" at {need.shown['caps']}" if need.caps else ""
            fit = f"; try {need.shown['recommended']} ({need.basis})" if need.override else ""
            parts.append(f"{times(len(need.stopped), need.outcome)}{at}{fit}")
    if lesson.underused and rec_wall and rec_memory:
        parts.append(
            f"every run used under 10% of its caps; {seconds(rec_wall)} and {mib(rec_memory)} "
            "would do"
        )
    if not parts:
        used = [
            f"{pct(share)} of its {what} cap"
            for share, what in (
                (lesson.peak_wall_share, "wall-time"),
                (lesson.peak_memory_share, "memory"),
                *((need.peak_share, need.noun) for need in lesson.others),
            )
            if share is not None
        ]
        if used:
            parts.append(f"every run fitted its caps, using at most {' and '.join(used)}")
        if rec_wall is None and not lesson.anytime:
            parts.append(f"no wall-time advice: {lesson.wall_basis}")
        elif rec_wall is not None and rec_memory is not None:
            parts.append(
                f"{seconds(rec_wall)} and {mib(rec_memory)} would do ({headroom:g}x the peaks)"
            )
    return "; ".join(parts) + "." if parts else ""


def _max(values: Iterable[float]) -> float | None:
    known = [v for v in values if finite(v)]
    return max(known) if known else None
