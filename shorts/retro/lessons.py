"""What a quarter taught, in at most five sentences: the retrospective's first screen.

Each lesson (a selected hit, a slice win worth a hybrid, a wrong cap, a recurring crash) is one
sentence with the runs behind it and a next step. They are ranked by ``weight = certainty x
(effect + stake)``: certainty in [0, 1] (one minus a claim's adjusted p, lower for a guessed
cap), effect the size of the thing (an uplift, the share of runs a cap stopped or a crash took),
stake the share of the quarter's CPU-hours behind it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from shorts.outcome import DESCRIPTIONS
from shorts.reports.values import format_probability
from shorts.retro.claims import Claim, Claims, fresh_seed
from shorts.retro.model import CapLesson, Fingerprint, Lesson, SliceWin
from shorts.retro.records import (
    RunRecord,
    dataset_overrides,
    finite,
    is_baseline_tag,
    is_seed,
    override_key,
    recorded_choices,
    rerun_arguments,
    rerun_overrides,
)
from shorts.retro.wording import mib, seconds, times

__all__ = ["MAX_LESSONS", "lessons"]

MAX_LESSONS = 5
PER_KIND = 2  # so five lessons cover more than one kind of news
SLICE_SHARE = 0.25  # a slice's uplift, counted as its effect on the whole data set (a quartile)
SLICE_MIN_UPLIFT = 0.05  # a smaller slice win is listed in the harvest, not worth a hybrid
# The share of the period's CPU-hours behind some runs.
_Stake = Callable[[Sequence[str]], float]
OVERALL = {
    "miss": "lost overall",
    "inconclusive": "was inconclusive overall",
    **{outcome.value: described.phrase for outcome, described in DESCRIPTIONS.items()},
}


def lessons(
    records: Sequence[RunRecord],
    claims: Claims,
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
        *_hits(records, claims, stake),
        *_slice_lessons(claims, slice_wins, stake),
        *_cap_lessons(cap_lessons, by_id, stake),
        *_crash_lessons(fingerprints, len(records), stake),
    ]
    chosen: list[Lesson] = []
    for lesson in sorted(found, key=lambda lesson: -lesson.weight):
        if sum(c.kind == lesson.kind for c in chosen) < PER_KIND:
            chosen.append(lesson)
    return chosen[:MAX_LESSONS]


def _hits(records: Sequence[RunRecord], claims: Claims, stake: _Stake) -> list[Lesson]:
    """Selected whole-data-set claims: pooled over their replicates, never the best run."""
    by_id = {r.run_id: r for r in records}
    found = []
    for c in claims.selected:
        if c.slice:
            continue
        first = by_id.get(c.runs[0])
        who = c.short if c.learner == "model" else f"{c.short}'s variant {c.learner}"
        low, high = c.interval()
        found.append(
            Lesson(
                kind="hit",
                text=(
                    f"{who} hit on {c.dataset or 'its data'}: {_what_ran(first, c)} by "
                    f"{c.uplift:.1%} ({_interval((low, high))}; margin {c.margin:+.1%}), "
                    f"pooled over {_runs_folds(c.runs, c.folds)}; {_tested(c.adjusted, claims)}."
                ),
                next_step="Carry it into a feature; first confirm it on fresh folds:",
                command=confirm_command(c, records),
                runs=list(c.runs),
                weight=(1.0 - c.adjusted) * (c.uplift + stake(c.runs)),
                evidence={
                    "uplift": c.uplift,
                    "interval_low": low,
                    "interval_high": high,
                    "p_value": c.p_value,
                    "adjusted_p": c.adjusted,
                    "runs": len(c.runs),
                    "folds": c.folds,
                    "learner": c.learner,
                },
            )
        )
    return found


def _slice_lessons(claims: Claims, wins: Sequence[SliceWin], stake: _Stake) -> list[Lesson]:
    """The strongest selected slice win (at least ``SLICE_MIN_UPLIFT``) of each learner."""
    best: dict[tuple[str, str, str], Lesson] = {}
    for w in wins:
        if w.uplift < SLICE_MIN_UPLIFT:
            continue
        overall = OVERALL.get(w.verdict, "did not hit overall")
        who = w.short if w.learner == "model" else f"{w.short}'s variant {w.learner}"
        lesson = Lesson(
            kind="slice win",
            text=(
                f"{who} {overall} on {w.dataset or 'its data'} but beat its baseline by "
                f"{w.uplift:.1%} on rows with {w.slice} "
                f"({_interval(w.interval)}), "
                f"pooled over {_runs_folds(w.runs, w.folds)}; {_tested(w.adjusted_p, claims)}."
            ),
            next_step=(
                "Worth a hybrid: its model on that slice, the baseline elsewhere, judged on "
                "fresh folds:"
            ),
            command=w.command,
            runs=list(w.runs),
            weight=(1.0 - w.adjusted_p) * (SLICE_SHARE * w.uplift + stake(w.runs)),
            evidence={
                "slice": w.slice,
                "uplift": w.uplift,
                "adjusted_p": w.adjusted_p,
                "runs": len(w.runs),
                "folds": w.folds,
            },
        )
        key = (w.short, w.dataset, w.learner)
        if key not in best or lesson.weight > best[key].weight:
            best[key] = lesson
    return list(best.values())


def confirm_command(claim: Claim, records: Sequence[RunRecord]) -> str:
    """``shorts run`` of the claim's configuration with as many folds as were pooled, on folds
    none of its runs used: a confirmation, not a rerun of the best run."""
    wanted = set(claim.runs)
    runs = [r for r in records if r.run_id in wanted]
    arguments = rerun_arguments(claim.short, _configuration(runs), _fresh_folds(claim, records))
    return " ".join(["shorts", "run", *arguments])


def hybrid_command(claim: Claim, records: Sequence[RunRecord]) -> str:
    """``shorts run`` of the ``slice_hybrid`` short for a slice claim: the claim's learner on
    the slice, the baseline elsewhere (``shorts.routing.SliceRouter``), on fresh folds."""
    first = next((r for r in records if r.run_id == claim.runs[0]), None)
    if first is None:
        return ""
    overrides = _configuration([first])
    choices = recorded_choices(first)
    key = "model" if claim.learner == "model" else f"model@variants.{claim.learner}"
    estimator = choices.get(key) or choices.get("model", "")
    baseline = choices.get("model@baseline", "")
    definition = claim.definition
    parts = ["shorts run +experiment=slice_hybrid"]
    parts += [o for o in overrides if override_key(o).split(".")[0] == "dataset"]
    if estimator:
        parts.append(f"model@model.estimator={estimator}")
    if baseline:
        parts += [f"model@model.baseline={baseline}", f"model@baseline={baseline}"]
    parts += _learner_overrides(overrides, claim.learner)
    parts.append(f"model.by={definition.get('by', 'feature')}")
    if definition.get("by") == "feature":
        parts.append(f"model.column={definition.get('column')}")
    for bound in ("low", "high"):
        if definition.get(bound) is not None:
            parts.append(f"model.{bound}={definition[bound]}")
    return " ".join([*parts, *_fresh_folds(claim, records)])


def _configuration(runs: Sequence[RunRecord]) -> list[str]:
    """The overrides that rerun the runs' configuration (``rerun_overrides``) without their
    seeds, caps and repeats: what a confirmation on fresh folds keeps."""
    return [
        o
        for o in rerun_overrides(runs)
        if not is_seed(key := override_key(o)) and not key.startswith(("caps", "cv.repeats"))
    ]


def _fresh_folds(claim: Claim, records: Sequence[RunRecord]) -> list[str]:
    """As many repeats as runs were pooled (at least 2), on a ``cv.seed`` none of them used."""
    return [f"cv.repeats={max(len(claim.runs), 2)}", f"cv.seed={fresh_seed(records, claim.runs)}"]


def _learner_overrides(overrides: Sequence[str], learner: str) -> list[str]:
    """The overrides of the claim's learner and of its baseline, moved to where the router
    holds them (``model.n_bins=8`` -> ``model.estimator.n_bins=8``)."""
    source = "model." if learner == "model" else f"variants.{learner}."
    moved = []
    for token in overrides:
        key, _, value = token.partition("=")
        if key.startswith(source):
            moved.append(f"model.estimator.{key[len(source) :]}={value}")
        elif key.startswith("baseline."):
            moved += [f"model.{key}={value}", token]
    return moved


def _what_ran(r: RunRecord | None, c: Claim) -> str:
    """``binned_hist_gbm beat the baseline hist_gbm`` from the configs the run chose, else its
    techniques (baseline tags aside)."""
    choices = recorded_choices(r) if r is not None else {}
    model = choices.get("model" if c.learner == "model" else f"model@variants.{c.learner}")
    baseline = choices.get("model@baseline")
    if model:
        return f"{model} beat the baseline" + (f" {baseline}" if baseline else "")
    tried = [t for t in r.techniques if not is_baseline_tag(t)] if r is not None else []
    return f"{', '.join(tried) or c.short} beat the baseline"


def _interval(bounds: tuple[float, float]) -> str:
    low, high = bounds
    return f"95% interval {low:+.1%} to {high:+.1%}"


def _runs_folds(runs: Sequence[str], folds: int) -> str:
    return f"{times(len(runs), 'run')} and {folds} folds"


def _tested(adjusted: float, claims: Claims) -> str:
    return f"adjusted p {_p(adjusted)}, one of {claims.tested} claims at FDR {claims.level:.0%}"


def _cap_lessons(
    caps: Sequence[CapLesson], by_id: dict[str, RunRecord], stake: _Stake
) -> list[Lesson]:
    """A lesson per group a cap stopped: one short, data set and configuration (seeds and caps
    aside), named by what sets the configuration apart when the short had several there; the
    command reruns that configuration (the runs' own overrides, e.g. ``~variants``) under the
    cap they needed, so a need measured on one configuration is never advised for another."""
    found = []
    for c in caps:
        stopped = [*c.timeouts, *c.memouts, *(run for n in c.others for run in n.stopped)]
        if not stopped:
            continue
        where = f"{c.short} on {c.dataset}" if c.dataset else c.short
        if c.configuration_note:
            where += f" ({c.configuration_note})"
        overrides, said = [], []
        if c.timeouts and c.recommended_wall_seconds and not c.anytime:
            rec = c.recommended_wall_seconds
            # "1m05s" is display text the parser refuses: a minute or more as plain seconds
            wall = seconds(rec) if rec < 60 else f"{math.ceil(rec)}s"
            overrides.append(f"caps.wall_time={wall}")
            needed = c.needed_wall_seconds
            if not needed:
                need = ""
            elif c.wall_guess:
                need = (
                    f" and needed more than {seconds(needed)}: no run of this "
                    "configuration says how much more"
                )
            else:
                need = f" and needed about {seconds(needed)}"
            said.append(f"{len(c.timeouts)} of {len(c.runs)} runs hit the wall-time cap{need}")
        if c.memouts and c.recommended_memory_mib:
            memory = mib(c.recommended_memory_mib).replace(" ", "")
            overrides.append(f"caps.memory={memory}")
            peak = c.observed_peak_memory_mib
            said.append(
                f"{len(c.memouts)} of {len(c.runs)} ran out of memory"
                + (f" (peak {mib(peak)})" if peak and finite(peak) else "")
            )
        for other in c.others:
            if other.stopped and other.override:
                overrides.append(other.override)
                more = "more than " if other.guess else "about "
                said.append(
                    f"{len(other.stopped)} of {len(c.runs)} hit the {other.noun} cap and needed "
                    f"{more}{other.shown.get('needed', '?')}"
                )
        if not overrides:
            continue
        guess = (
            c.wall_guess
            or (c.memouts and c.peak_memory_run in c.memouts)
            or any(n.guess and n.stopped for n in c.others)
        )
        rerun = c.rerun
        if not rerun:  # a lesson made without its runs' command lines: the data set at least
            first = by_id.get(stopped[0])
            rerun = dataset_overrides(first.dataset, first.params) if first else []
        command = ["shorts", "run", *rerun_arguments(c.short, rerun, overrides)]
        found.append(
            Lesson(
                kind="cap",
                text=f"{where}: {' and '.join(said)}.",
                next_step=(
                    "Use the cap they needed, with headroom"
                    + (" (a guess from a run that logged no progress: check it):" if guess else ":")
                ),
                command=" ".join(command),
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
    return format_probability(p) if math.isfinite(p) else "unknown"
