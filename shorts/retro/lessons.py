"""What a quarter taught, in at most five sentences: the retrospective's first screen.

Each lesson is one plain sentence with its evidence (the runs behind it) and a next step:

- a **hit** worth carrying into a feature;
- a **slice win**: a failed short that still beat its baseline on a quarter of the target,
  worth a hybrid;
- a **cap** that was wrong (timeouts or memouts), with the cap to use;
- a **recurring crash**, with where to fix it.

They are ranked by ``weight = certainty x (effect + stake)``: *certainty* in [0, 1] (one minus
the p-value of a hit, the share of a group's runs that show a slice win, whether a cap's need
was measured or guessed), *effect* the size of the thing (a relative uplift, the share of a
group's runs a cap stopped or a crash took) and *stake* the share of the quarter's CPU-hours
behind the lesson; a slice's uplift counts a quarter (its share of the rows). So a certain,
large uplift comes first, and a crash that ate a third of the compute outranks a slice win seen
once. At most two lessons of a kind are kept, so five cover more than one kind of news.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

from shorts.caps import format_duration, format_size
from shorts.retro.model import CapLesson, Fingerprint, Lesson, SliceWin
from shorts.retro.records import RunRecord, dataset_overrides, finite

__all__ = ["MAX_LESSONS", "lessons"]

MAX_LESSONS = 5
PER_KIND = 2  # so five lessons cover more than one kind of news
SLICE_SHARE = 0.25  # a quartile's uplift, counted as its effect on the whole data set
SLICE_MIN_UPLIFT = 0.05  # a smaller slice win is listed in the harvest, not worth a hybrid
# The share of the period's CPU-hours behind some runs.
_Stake = Callable[[Sequence[str]], float]
SLICE_WORDS = {
    "q1": "the lowest quarter",
    "q2": "the second quarter",
    "q3": "the third quarter",
    "q4": "the highest quarter",
}
OVERALL = {
    "miss": "lost overall",
    "inconclusive": "was inconclusive overall",
    "timeout": "timed out",
    "memout": "ran out of memory",
    "crashed": "crashed",
    "lost": "was lost",
    "interrupted": "was interrupted",
}


def lessons(
    records: Sequence[RunRecord],
    slice_wins: Sequence[SliceWin],
    cap_lessons: Sequence[CapLesson],
    fingerprints: Sequence[Fingerprint],
) -> list[Lesson]:
    """The period's lessons, most important first, at most ``MAX_LESSONS``."""
    by_id = {r.run_id: r for r in records}
    total_cpu = sum(r.cpu_hours for r in records) or 1.0

    def stake(runs: Sequence[str]) -> float:
        return sum(by_id[r].cpu_hours for r in runs if r in by_id) / total_cpu

    found = [
        *_hits(records, stake),
        *_slice_lessons(records, slice_wins, stake),
        *_cap_lessons(cap_lessons, by_id, stake),
        *_crash_lessons(fingerprints, len(records), stake),
    ]
    chosen: list[Lesson] = []
    for lesson in sorted(found, key=lambda lesson: -lesson.weight):
        if sum(c.kind == lesson.kind for c in chosen) < PER_KIND:
            chosen.append(lesson)
    return chosen[:MAX_LESSONS]


def _hits(records: Sequence[RunRecord], stake: _Stake) -> list[Lesson]:
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.outcome == "completed" and r.verdict in ("hit", "miss", "inconclusive"):
            groups[(r.short, r.dataset_config)].append(r)
    found = []
    for (short, dataset), members in groups.items():
        hits = [r for r in members if r.verdict == "hit" and finite(r.uplift)]
        if not hits:
            continue
        best = max(hits, key=lambda r: r.uplift)
        p = best.p_value if finite(best.p_value) else 0.5
        runs = [r.run_id for r in hits]
        techniques = ", ".join(best.techniques) or short
        chosen = " ".join(dataset_overrides(best.dataset, best.params))
        rerun = f"shorts run +experiment={short} {chosen}"
        found.append(
            Lesson(
                kind="hit",
                text=(
                    f"{short} hit on {dataset or 'its data'}: {techniques} beat the baseline by "
                    f"{best.uplift:.1%} (p {_p(p)}; {len(hits)} of {len(members)} runs hit)."
                ),
                next_step="Carry it into a feature; the best run is the one to start from:",
                command=rerun.strip(),
                runs=runs,
                weight=(1.0 - p) * (best.uplift + stake(runs)),
                evidence={"uplift": best.uplift, "p_value": p, "hits": len(hits)},
            )
        )
    return found


def _slice_lessons(
    records: Sequence[RunRecord], wins: Sequence[SliceWin], stake: _Stake
) -> list[Lesson]:
    """The strongest slice win (at least ``SLICE_MIN_UPLIFT``) of each failed short on each data
    set; its certainty is the share of the short's failed runs there that show it."""
    failed_runs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        if r.failed:
            failed_runs[(r.short, r.dataset)].append(r.run_id)
    groups: dict[tuple[str, str, str], list[SliceWin]] = defaultdict(list)
    for w in wins:
        if w.uplift >= SLICE_MIN_UPLIFT:
            groups[(w.short, w.dataset, w.slice)].append(w)
    by_id = {r.run_id: r for r in records}
    best: dict[tuple[str, str], Lesson] = {}
    for (short, dataset, quartile), members in groups.items():
        runs = list(dict.fromkeys(w.run for w in members))
        of = len(failed_runs.get((short, dataset), runs)) or len(runs)
        top = max(members, key=lambda w: w.uplift)
        target = by_id[top.run].params.get("dataset.target", "") if top.run in by_id else ""
        where = f"{SLICE_WORDS.get(quartile, quartile)} of {dataset or 'the data'}" + (
            f" {target} values" if target else " target values"
        )
        overall = OVERALL.get(top.verdict or top.outcome, "failed overall")
        certainty = len(runs) / of
        lesson = Lesson(
            kind="slice win",
            text=(
                f"{short} {overall} but beat its baseline by {top.uplift:.0%} on {where} "
                f"({top.metric} {top.value:.4g} vs {top.baseline:.4g}; "
                f"{len(runs)} of {of} failed runs)."
            ),
            next_step=(
                f"Worth a hybrid: use {short}'s model on that slice (or its outputs as features "
                "of the baseline) and the baseline elsewhere."
            ),
            command="",
            runs=runs,
            weight=certainty * (SLICE_SHARE * top.uplift + stake(runs)),
            evidence={"slice": quartile, "uplift": top.uplift, "runs_showing_it": len(runs)},
        )
        key = (short, dataset)
        if key not in best or lesson.weight > best[key].weight:
            best[key] = lesson
    return list(best.values())


def _cap_lessons(
    caps: Sequence[CapLesson], by_id: dict[str, RunRecord], stake: _Stake
) -> list[Lesson]:
    found = []
    for c in caps:
        stopped = [*c.timeouts, *c.memouts]
        if not stopped:
            continue
        where = f"{c.short} on {c.dataset}" if c.dataset else c.short
        first = by_id.get(stopped[0])
        chosen = " ".join(dataset_overrides(first.dataset, first.params)) if first else ""
        overrides, said = [], []
        if c.timeouts and c.recommended_wall_seconds and not c.anytime:
            wall = format_duration(c.recommended_wall_seconds)
            overrides.append(f"caps.wall_time={wall}")
            needed = c.needed_wall_seconds
            said.append(
                f"{len(c.timeouts)} of {len(c.runs)} runs hit the wall-time cap"
                + (f" and needed about {format_duration(needed)}" if needed else "")
            )
        if c.memouts and c.recommended_memory_mib:
            memory = format_size(c.recommended_memory_mib * 2**20).replace(" ", "")
            overrides.append(f"caps.memory={memory}")
            peak = c.observed_peak_memory_mib
            said.append(
                f"{len(c.memouts)} of {len(c.runs)} ran out of memory"
                + (f" (peak {format_size(peak * 2**20)})" if peak and finite(peak) else "")
            )
        if not overrides:
            continue
        guess = c.wall_guess or (c.memouts and c.peak_memory_run in c.memouts)
        command = f"shorts run +experiment={c.short} {chosen} {' '.join(overrides)}"
        found.append(
            Lesson(
                kind="cap",
                text=f"{where}: {' and '.join(said)}.",
                next_step=(
                    "Use the cap they needed, with headroom"
                    + (" (a guess from a run that logged no progress: check it):" if guess else ":")
                ),
                command=" ".join(command.split()),
                runs=stopped,
                weight=(0.5 if guess else 0.9) * (len(stopped) / len(c.runs) + stake(stopped)),
                evidence={"stopped": len(stopped), "runs": len(c.runs)},
            )
        )
    return found


def _crash_lessons(prints: Sequence[Fingerprint], total: int, stake: _Stake) -> list[Lesson]:
    found = []
    for f in prints:
        error = f.error_type or "a crash without an exception"
        reason = f.example_reason.strip().splitlines()[0][:160] if f.example_reason else ""
        again = "recurring crash" if f.count > 1 else "crash"
        found.append(
            Lesson(
                kind=again,
                text=(
                    f"{', '.join(f.shorts)} crashed {_times(f.count)} with {error}"
                    + (f" at {f.where}" if f.where and f.error_type else "")
                    + (f": {reason}" if reason else "")
                    + "."
                ),
                next_step="Fix it once where it breaks; each run keeps its traceback.",
                command="",
                runs=list(f.runs),
                weight=(1.0 if f.count > 1 else 0.5) * (f.count / max(total, 1) + stake(f.runs)),
                evidence={"count": f.count, "error_type": f.error_type, "where": f.where},
            )
        )
    return found


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}" if math.isfinite(p) else "unknown"
