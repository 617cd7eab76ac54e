"""A retrospective as three files: ``report.html``, ``report.md`` and ``report.json``.

This module turns a ``Retrospective`` into a ``shorts.reports.document.Report`` and draws the
plots; how it looks, and in what order, is the templates' business
(``shorts/reports/templates/retro.{html,md}.j2``). Full run ids stay in report.json.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from shorts.caps import format_duration, format_size
from shorts.outcome import CAPPED, Outcome
from shorts.reports.document import (
    Badge,
    Block,
    Bullets,
    Code,
    Inline,
    Lesson,
    Paragraph,
    Plot,
    Report,
    RunIndex,
    Runs,
    Section,
    Strong,
    Table,
    Term,
)
from shorts.reports.figures import agg_figure, plot, plot_label, tidy_axes
from shorts.reports.files import jsonable
from shorts.reports.rendering import theme, write_report
from shorts.reports.values import format_probability
from shorts.retro.model import (
    FAILED_DEFINITION,
    FAILED_OUTCOMES,
    FAILED_VERDICTS,
    CapLesson,
    Fingerprint,
    HarvestedItem,
    LedgerRow,
    NearMiss,
    OutcomeCount,
    Retrospective,
    SliceWin,
    Suggestion,
    is_failed,
)
from shorts.tracking.store import redact_uri

T = TypeVar("T")
VERDICTS = ("hit", "miss", "inconclusive")
# Categories (verdicts of completed runs, else outcomes) that are failed shorts, in report order.
FAILED_CATEGORIES = (*FAILED_OUTCOMES, *FAILED_VERDICTS)
# Stacking order of the outcome plot and the tables: successes first, then failures.
CATEGORIES = ("hit", "inconclusive", "miss", "completed", "pruned", *FAILED_OUTCOMES)
NONE = "\N{EN DASH}"  # a figure that does not apply
ROW_LIMIT = 50  # rows of a per-run table (best first, as the analysis orders them)
GLOSSARY = {
    "failed short": FAILED_DEFINITION,
    "slice": (
        "Rows a model can pick out before it predicts: a quartile of the baseline's prediction "
        "(edges learned on each fold's training rows) or a half of a feature (split at its "
        "median). A slice win is a slice claim selected among the quarter's claims."
    ),
    "claim": (
        "A learner beating its baseline by more than the margin, overall or on a slice, with "
        "the folds of every replicate run (same short, data set and configuration, seeds apart) "
        "pooled and tested once by the corrected resampled t-test (Nadeau & Bengio 2003). All "
        "of a quarter's claims are selected together with the Benjamini-Hochberg procedure, so "
        "at most the stated share of selected claims is expected to be noise."
    ),
    "uplift": "The relative improvement of a short over its baseline on the same folds.",
    "technique ledger": (
        "Each technique tag across every short that tried it. A tag of the baseline side (a "
        'word "baseline" in it) gets no uplift: that belongs to the technique its runs tried.'
    ),
    "failure fingerprint": (
        "Crashes grouped by exception type and the innermost frame of the short's own code "
        "(library frames are skipped). Timeouts and memouts are under the cap lessons."
    ),
    "near miss": (
        "within-noise: a pooled uplift beyond the margin that was not selected, listed only "
        "when a reachable number of folds would settle it at the same effect; improving-at-cap: "
        "a cap stopped it while its last logged values were still improving."
    ),
    "what to try next": (
        "Techniques with a selected claim somewhere (a pooled hit or a slice win), "
        "each credited to the data set it was measured on, suggested for the data sets of the "
        "same task kind they have not been tried on yet."
    ),
    # What each outcome a cap causes means (``shorts.outcome.DESCRIPTIONS``).
    **{o.value: o.description.glossary for o in Outcome if o in CAPPED},
}


def _colour(category: str) -> str:
    """A verdict's or outcome's colour: the theme's (a team may set its own), else the
    outcome's own (``shorts.outcome.DESCRIPTIONS``)."""
    own = theme()["outcomes"].get(category)
    if own is None and category in {o.value for o in Outcome}:
        own = Outcome(category).description.colour
    return str(own or "#bdbdbd")


def _cap_glossary(headroom: float) -> str:
    return (
        f"The recommended cap is {headroom:g}x what the runs needed. A completed run needed its "
        "wall time; a run a cap stopped (a timeout, or a completion the soft deadline cut "
        "short) needed its elapsed time plus its remaining folds at its own pace (elapsed / "
        "share of folds done when no fold times were logged); a timeout with no progress logged "
        f"gets a guess of {max(headroom, 2.0):g}x what it ran. A memout's peak is at least its "
        "cap. Shorts that run until their cap by design (anytime) get no wall-time advice. Any "
        f"other cap (CPU time) is {headroom:g}x the most a run used; a run that cap stopped "
        f"needed more than it, a guess of {max(headroom, 2.0):g}x its use. Each "
        "cap cell reads: the cap (a range when the runs had different caps), the highest use by "
        "any run, the highest share of its own cap a run used, then the recommended cap."
    )


# -- public entry points ---------------------------------------------------------------------------


def render(retro: Retrospective, out_dir: Path) -> dict[str, Path]:
    """Write the three reports of ``retro`` into ``out_dir`` (created if missing); the written
    files by kind: ``{"html": ..., "md": ..., "json": ...}``."""
    return write_report(build_report(retro), out_dir, json=to_json(retro))


def to_json(retro: Retrospective) -> str:
    """``retro`` as JSON: ``dataclasses.asdict``, datetimes in ISO 8601, NaN and inf as null."""
    data = jsonable(dataclasses.asdict(retro))
    data["tracking_uri"] = redact_uri(retro.tracking_uri)
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def build_report(retro: Retrospective) -> Report:
    """The retrospective as a report model, ready for the templates."""
    period = retro.period
    last = period.end - timedelta(microseconds=1)  # the period is half-open
    meta: list[Inline] = [
        f"{period.start:%Y-%m-%d} to {last:%Y-%m-%d} (UTC) · store ",
        Code(redact_uri(retro.tracking_uri)),
        f" · generated {retro.generated_at.strftime('%Y-%m-%d %H:%M')}",
    ]
    if retro.ui_url:
        meta += [" · runs link to the MLflow UI at ", Code(retro.ui_url)]
    sections = [
        _portfolio(retro),
        _ledger(retro.ledger),
        _harvest(retro),
        _next(retro.suggestions),
    ]
    return Report(
        name="retro",
        title=f"Retrospective {period.label}",
        meta=meta,
        summary=[_summary(retro), *(Paragraph([note], "note") for note in retro.notes)],
        lessons=[_lesson(lesson) for lesson in retro.lessons],
        sections={s.id: s for s in sections},
        glossary=[
            *(Term(name, text) for name, text in GLOSSARY.items() if name != "what to try next"),
            Term("recommended cap", _cap_glossary(retro.headroom)),
            Term("what to try next", GLOSSARY["what to try next"]),
        ],
        footer="Made by shorts retro. Runs link to the MLflow UI; report.json holds the same "
        "content for machines, with the full run ids.",
        runs=RunIndex(
            names=retro.run_names,
            experiments=retro.run_experiments,
            ui_url=retro.ui_url,
            shorts=retro.run_shorts,
        ),
    )


def _lesson(lesson: Any) -> Lesson:
    text: list[Inline] = [lesson.text, " (", Runs("", lesson.runs), ")"]
    step: list[Inline] = [lesson.next_step]
    if lesson.command:
        step += [" ", Code(lesson.command)]
    return Lesson(lesson.kind, text, step)


# -- content ---------------------------------------------------------------------------------------


def _summary(retro: Retrospective) -> Paragraph:
    p = retro.portfolio
    if p.total_runs == 0:
        return Paragraph(["No runs in this period."], "summary")
    cats = _by_category(_per_short(p.counts))
    failures = _failed_runs(p.counts)
    kinds = ", ".join(
        f"{len(_runs_of(cats, c))} {c}" for c in FAILED_CATEGORIES if _runs_of(cats, c)
    )
    all_runs = [run for c in _per_short(p.counts) for run in c.runs]
    parts: list[Inline] = [Runs(_plural(p.total_runs, "run"), all_runs)]
    for key, plural in (("hit", "hits"), ("miss", "misses"), ("inconclusive", "inconclusive")):
        runs = _runs_of(cats, key)
        parts += [" · ", Runs(_plural(len(runs), key, plural), runs)]
    parts += [" · ", Runs(f"{len(failures):,} failed", failures)]
    if kinds:
        parts.append(f" ({kinds})")
    parts.append(
        f" · {_hours(p.cpu_hours)} CPU-hours, {_pct(p.failed_share)} of it on failed shorts"
    )
    return Paragraph(parts, "summary")


def _portfolio(retro: Retrospective) -> Section:
    p = retro.portfolio
    if p.total_runs == 0:
        return Section(
            "portfolio", "Portfolio", [_empty("No runs in this period: nothing to count.")]
        )
    blocks: list[Block] = [
        Paragraph(
            [
                Strong("Share of compute spent on failed shorts: "),
                Runs(_pct(p.failed_share), _failed_runs(p.counts)),
                " — the price of exploration. ",
                f"{_hours(p.failed_cpu_hours)} of {_hours(p.cpu_hours)} CPU-hours went to failed "
                f"shorts; {_hours(p.wall_hours)} wall-hours in all.",
            ],
            "price",
        )
    ]
    per_short = sorted(
        _per_short(p.counts), key=lambda c: (c.short, _rank(_category(c.outcome, c.verdict)))
    )
    outcome_plot = _outcome_plot(per_short)
    if outcome_plot is not None:
        blocks.append(outcome_plot)
    blocks.append(
        Table(
            ["short", "outcome", "verdict", "runs", "CPU-h", "wall-h"],
            [
                [
                    c.short,
                    Badge(c.outcome),
                    Badge(c.verdict) if c.verdict else "",
                    Runs(str(len(c.runs)), c.runs),
                    _hours(c.cpu_hours),
                    _hours(c.wall_hours),
                ]
                for c in per_short
            ],
            numeric=frozenset({3, 4, 5}),
        )
    )
    cats = _by_category(per_short)
    total_cpu = sum(cpu for _, cpu, _ in cats.values()) or 1.0
    blocks.append(
        Table(
            ["all shorts", "runs", "CPU-h", "wall-h", "share of CPU"],
            [
                [
                    Badge(cat),
                    Runs(str(len(runs)), runs),
                    _hours(cpu),
                    _hours(wall),
                    _pct(cpu / total_cpu),
                ]
                for cat, (runs, cpu, wall) in sorted(cats.items(), key=lambda kv: _rank(kv[0]))
            ],
            numeric=frozenset({1, 2, 3, 4}),
        )
    )
    weekly = _weekly_plot(retro)
    if weekly is not None:
        blocks.append(weekly)
    active = [w for w in p.weeks if w.runs or w.cpu_hours]
    if active:
        quiet = len(p.weeks) - len(active)
        blocks.append(
            Table(
                ["week of", "runs", "failed", "CPU-h", "failed CPU-h", "failed share"],
                [
                    [
                        w.week_start.strftime("%Y-%m-%d"),
                        str(w.runs),
                        str(w.failed),
                        _hours(w.cpu_hours),
                        _hours(w.failed_cpu_hours),
                        _pct(w.failed_cpu_hours / w.cpu_hours) if w.cpu_hours else NONE,
                    ]
                    for w in active
                ],
                numeric=frozenset({1, 2, 3, 4, 5}),
                notes=[f"{_plural(quiet, 'week')} without runs left out (the plot shows them)."]
                if quiet
                else [],
            )
        )
    return Section("portfolio", "Portfolio", blocks)


def _ledger(rows: list[LedgerRow]) -> Section:
    if not rows:
        return Section("ledger", "Technique ledger", [_empty("No techniques tagged.")])
    table = Table(
        [
            "technique",
            "shorts",
            "runs",
            "hits",
            "misses",
            "inconclusive",
            "capped",
            "crashed",
            "best uplift",
            "datasets",
        ],
        [
            [
                [Strong(r.technique), " (baseline side)"]
                if r.baseline_tag
                else Strong(r.technique),
                ", ".join(r.shorts),
                *(
                    Runs(str(len(runs)), runs)
                    for runs in (r.runs, r.hits, r.misses, r.inconclusive, r.capped, r.crashed)
                ),
                Runs(_uplift(r.best_uplift), [r.best_run] if r.best_run else [])
                if r.best_uplift is not None
                else NONE,
                ", ".join(r.datasets),
            ]
            for r in rows
        ],
        numeric=frozenset({2, 3, 4, 5, 6, 7, 8}),
    )
    return Section("ledger", "Technique ledger", [table])


def _harvest(retro: Retrospective) -> Section:
    subsections = [
        Section(
            "harvest-items",
            "Components and notes saved by failed shorts",
            _harvested(retro.harvested),
            3,
        ),
        Section(
            "slice-wins",
            "Slices where a failed short beat its baseline",
            _slice_wins(retro.slice_wins),
            3,
        ),
        Section("near-misses", "Near misses", _near_misses(retro.near_misses), 3),
        Section("fingerprints", "Failure fingerprints", _fingerprints(retro.fingerprints), 3),
        Section("cap-lessons", "Cap lessons", _cap_lessons(retro.cap_lessons), 3),
    ]
    intro = Paragraph(
        [
            "What failed shorts still teach: the parts they saved, the slices they won, how "
            "close they came and how they broke. The cap lessons also learn from the runs that "
            "fitted their caps."
        ]
    )
    return Section("harvest", "Harvest from failed shorts", [intro, *subsections])


def _harvested(items: list[HarvestedItem]) -> list[Block]:
    if not items:
        return [_empty("No failed short saved a component or note with ctx.harvest.")]
    items, more = _shown(items, ROW_LIMIT, "components and notes")
    return [
        Table(
            ["short", "item", "kind", "type", "evidence", "run ended", "run", "artifact"],
            [
                [
                    i.short,
                    Strong(i.name),
                    i.kind,
                    i.type,
                    _evidence(i.evidence),
                    [Badge(i.outcome), " ", Badge(i.verdict)] if i.verdict else [Badge(i.outcome)],
                    Runs("", [i.run]),
                    Code(i.artifact_path) if i.artifact_path else "",
                ]
                for i in items
            ],
            notes=more,
        )
    ]


def _slice_wins(wins: list[SliceWin]) -> list[Block]:
    if not wins:
        return [
            _empty(
                "No slice win: no slice claim of a short that missed overall was selected "
                "among the quarter's claims."
            )
        ]
    wins, more = _shown(wins, ROW_LIMIT, "slice wins, largest uplift first")
    return [
        Table(
            [
                "short",
                "model",
                "slice",
                "uplift",
                "95% interval",
                "folds",
                "adjusted p",
                "dataset",
                "overall",
                "runs",
            ],
            [
                [
                    w.short,
                    w.learner,
                    Strong(w.slice),
                    _uplift(w.uplift),
                    f"{w.interval[0]:+.1%} to {w.interval[1]:+.1%}",
                    str(w.folds),
                    format_probability(w.adjusted_p),
                    w.dataset,
                    Badge(w.verdict) if w.verdict else "",
                    Runs("", list(w.runs)),
                ]
                for w in wins
            ],
            numeric=frozenset({3, 5, 6}),
            notes=more,
        )
    ]


def _near_misses(misses: list[NearMiss]) -> list[Block]:
    if not misses:
        return [_empty("No near miss: nothing within noise, nothing still improving at its cap.")]
    total = len(misses)
    kinds = list(dict.fromkeys(m.kind for m in misses))
    per_kind = max(ROW_LIMIT // len(kinds), 1)
    misses = [m for kind in kinds for m in [n for n in misses if n.kind == kind][:per_kind]]
    more = (
        [_more_note(len(misses), total, f"near misses, the first {per_kind} of each kind")]
        if len(misses) < total
        else []
    )
    return [
        Table(
            ["short", "kind", "detail", "metric", "last values", "run"],
            [
                [
                    m.short,
                    Badge(m.kind),
                    m.detail,
                    m.metric or "",
                    ", ".join(_num(v) for v in m.last_values),
                    Runs("", [m.run]),
                ]
                for m in misses
            ],
            notes=more,
        )
    ]


def _fingerprints(prints: list[Fingerprint]) -> list[Block]:
    if not prints:
        return [_empty("No crash to group.")]
    prints, more = _shown(prints, ROW_LIMIT, "fingerprints, most frequent first")
    return [
        Table(
            ["error", "where", "runs", "shorts", "example reason", "example run"],
            [
                [
                    Code(f.error_type),
                    Code(f.where),
                    Runs(str(f.count), f.runs),
                    ", ".join(f.shorts),
                    f.example_reason,
                    Runs("", [f.example_run]),
                ]
                for f in prints
            ],
            numeric=frozenset({2}),
            notes=more,
        )
    ]


def _cap_lessons(lessons: list[CapLesson]) -> list[Block]:
    if not lessons:
        return [_empty("No cap figures recorded.")]
    blocks: list[Block] = [
        Paragraph(
            [
                "Runs grouped by short, data set (with its size) and configuration (seeds and "
                "caps aside; what sets it apart from the short's others in brackets), each run "
                "measured against its own caps, and ",
                Strong("the recommended cap"),
                " (see the glossary).",
            ]
        )
    ]
    cap_plot = _cap_plot(lessons)
    if cap_plot is not None:
        blocks.append(cap_plot)
    # One column per optional cap some lesson ran under (``caps.cpu_time``), read as wall time.
    others = list(dict.fromkeys(n.noun for c in lessons for n in c.others))
    blocks.append(
        Table(
            ["short", "data set", "runs", "timeouts", "memouts", "wall time", "memory"]
            + [f"{noun} (stopped)" for noun in others]
            + ["note"],
            [
                [
                    c.short,
                    f"{c.dataset or NONE} ({c.configuration_note})"
                    if c.configuration_note
                    else c.dataset or NONE,
                    Runs(str(len(c.runs)), c.runs),
                    Runs(str(len(c.timeouts)), c.timeouts),
                    Runs(str(len(c.memouts)), c.memouts),
                    _cap_cell(
                        _cap_range([_seconds(x) for x in c.wall_caps_seconds]),
                        c.peak_wall_share,
                        _seconds(c.observed_peak_wall_seconds),
                        "no advice (anytime)"
                        if c.anytime
                        else _seconds(c.recommended_wall_seconds),
                    ),
                    _cap_cell(
                        _cap_range([_mib(x) for x in c.memory_caps_mib]),
                        c.peak_memory_share,
                        _mib(c.observed_peak_memory_mib),
                        _mib(c.recommended_memory_mib),
                    ),
                    *(_other_cell(c, noun) for noun in others),
                    c.note,
                ]
                for c in lessons
            ],
            numeric=frozenset({2, 3, 4}),
        )
    )
    underused = [c for c in lessons if c.underused]
    if underused:
        parts: list[Inline] = [
            Strong("Underused caps: "),
            "every run of these shorts used under 10% of its wall and memory caps; the "
            "recommended caps would queue and fail faster: ",
        ]
        for n, c in enumerate(underused):
            label = f"{c.short} on {c.dataset}" if c.dataset else c.short
            parts += [", " if n else "", Runs(label, c.runs)]
        parts.append(".")
        blocks.append(Paragraph(parts))
    return blocks


def _cap_range(caps: list[str]) -> str:
    """One cap, or the smallest to the largest when the runs had different caps."""
    if not caps:
        return NONE
    return caps[0] if len(caps) == 1 else f"{caps[0]}\N{EN DASH}{caps[-1]}"


def _other_cell(lesson: CapLesson, noun: str) -> list[Inline]:
    """An optional cap's cell (``_cap_cell``), with how many runs it stopped; NONE if none ran
    under it."""
    need = next((n for n in lesson.others if n.noun == noun), None)
    if need is None:
        return [NONE]
    cell = _cap_cell(
        need.shown["caps"] or NONE,
        need.peak_share,
        need.shown.get("needed", NONE),
        need.shown.get("recommended", NONE),
    )
    return [f"{len(need.stopped)} · ", *cell]


def _cap_cell(cap: str, share: float | None, peak: str, recommended: str) -> list[Inline]:
    """``cap 10.0s to 1m11s · peak 14.5s · at most 100% of its own cap → 1m11s``."""
    used = f" · at most {_pct(share)} of its own cap" if share is not None else ""
    return [f"cap {cap} · peak {peak}{used} → ", Strong(recommended)]


def _next(suggestions: list[Suggestion]) -> Section:
    if not suggestions:
        return Section(
            "next",
            "What to try next",
            [_empty("Nothing to suggest: no technique with positive evidence left untried.")],
        )
    items: list[list[Inline]] = []
    for s in suggestions:
        item: list[Inline] = [Strong(s.technique)]
        if s.untried_datasets:
            item.append(f" on {', '.join(s.untried_datasets)}")
        if s.tasks:
            item.append(f" ({' and '.join(s.tasks)} data, like where it helped)")
        item += [" — ", s.evidence, " (", Runs(_plural(len(s.runs), "run"), s.runs), ")"]
        if s.tried_on:
            item.append(f"; tried so far on {', '.join(s.tried_on)}")
        items.append(item)
    return Section("next", "What to try next", [Bullets(items)])


# -- aggregation helpers --------------------------------------------------------------------------


def _per_short(counts: list[OutcomeCount]) -> list[OutcomeCount]:
    """Rows of single shorts; the all-shorts rows (``short == "*"``) only if there are no others."""
    rows = [c for c in counts if c.short != "*"]
    return rows or list(counts)


def _category(outcome: str, verdict: str) -> str:
    if outcome == "completed" and verdict in VERDICTS:
        return verdict
    return outcome


def _rank(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def _by_category(counts: Iterable[OutcomeCount]) -> dict[str, tuple[list[str], float, float]]:
    """Runs, CPU-hours and wall-hours by category (verdict for completed runs, else outcome)."""
    out: dict[str, tuple[list[str], float, float]] = {}
    for c in counts:
        key = _category(c.outcome, c.verdict)
        runs, cpu, wall = out.get(key, ([], 0.0, 0.0))
        out[key] = ([*runs, *c.runs], cpu + c.cpu_hours, wall + c.wall_hours)
    return out


def _runs_of(cats: dict[str, tuple[list[str], float, float]], key: str) -> list[str]:
    return cats[key][0] if key in cats else []


def _failed_runs(counts: list[OutcomeCount]) -> list[str]:
    """Runs of failed shorts (``is_failed``), in the counts' order."""
    return [run for c in _per_short(counts) if is_failed(c.outcome, c.verdict) for run in c.runs]


# -- formatting -----------------------------------------------------------------------------------


def _hours(x: float) -> str:
    """Hours to read at a glance: ``1,234``, ``3.50``, ``<0.01`` (report.json has the figure)."""
    if not math.isfinite(x):
        return NONE
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 0.005 or x == 0 else "<0.01"


def _pct(x: float) -> str:
    if not math.isfinite(x):
        return NONE
    return f"{x:.0%}" if abs(x) >= 0.1 or x == 0 else f"{x:.1%}"


def _uplift(x: float | None) -> str:
    return NONE if x is None or not math.isfinite(x) else f"{x:+.1%}"


def _num(x: float | None) -> str:
    return NONE if x is None else f"{x:.4g}"


def _seconds(x: float | None) -> str:
    return NONE if x is None or not math.isfinite(x) else format_duration(x)


def _mib(x: float | None) -> str:
    return NONE if x is None or not math.isfinite(x) else format_size(x * 2**20)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n:,} {plural or word + 's'}"


def _shown(items: list[T], limit: int, what: str) -> tuple[list[T], list[str]]:
    """The first ``limit`` items, and a note saying how many more report.json holds."""
    if len(items) <= limit:
        return items, []
    return items[:limit], [_more_note(limit, len(items), what)]


def _more_note(shown: int, total: int, what: str) -> str:
    return f"Showing {shown:,} of {total:,} {what}; report.json lists them all."


def _empty(text: str) -> Paragraph:
    return Paragraph([text], "empty")


def _evidence(evidence: dict[str, Any]) -> str:
    joined = "; ".join(
        f"{key}={_num(value) if isinstance(value, float) else value}"
        for key, value in evidence.items()
    )
    return joined if len(joined) <= 300 else joined[:299] + "…"


# -- plots ----------------------------------------------------------------------------------------


def _outcome_plot(counts: list[OutcomeCount]) -> Plot | None:
    from matplotlib.ticker import MaxNLocator

    shorts = sorted({c.short for c in counts})
    if not shorts:
        return None
    table: dict[str, Counter[str]] = {s: Counter() for s in shorts}
    for c in counts:
        table[c.short][_category(c.outcome, c.verdict)] += len(c.runs)
    cats = sorted({cat for row in table.values() for cat in row}, key=_rank)
    fig = agg_figure(9.0, 1.4 + 0.38 * len(shorts))
    ax = fig.add_subplot()
    left = [0] * len(shorts)
    ys = list(range(len(shorts)))
    for cat in cats:
        values = [table[s].get(cat, 0) for s in shorts]
        ax.barh(ys, values, left=left, color=_colour(cat), label=cat, height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(ys, [plot_label(s) for s in shorts])
    ax.invert_yaxis()
    ax.set_xlabel("runs")
    ax.set_title("Outcomes by short", loc="left", fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    tidy_axes(ax)
    alt = "Outcomes by short: " + "; ".join(
        f"{s}: " + ", ".join(f"{n} {cat}" for cat, n in table[s].items()) for s in shorts
    )
    return plot(fig, alt, "Runs of each short by outcome (completed runs by verdict).")


def _weekly_plot(retro: Retrospective) -> Plot | None:
    weeks = retro.portfolio.weeks
    if not weeks or not any(w.runs for w in weeks):
        return None
    fig = agg_figure(9.0, 3.4)
    ax = fig.add_subplot()
    xs = list(range(len(weeks)))
    failed = [w.failed_cpu_hours for w in weeks]
    rest = [max(w.cpu_hours - w.failed_cpu_hours, 0.0) for w in weeks]
    ax.bar(
        xs, rest, color=theme()["series"]["main"], label="CPU-hours, hits and the rest", width=0.75
    )
    ax.bar(
        xs,
        failed,
        bottom=rest,
        color=theme()["outcomes"]["miss"],
        label="CPU-hours on failures",
        width=0.75,
    )
    ax.set_ylabel("CPU-hours")
    ax.set_xticks(
        xs, [w.week_start.strftime("%m-%d") for w in weeks], rotation=45 if len(weeks) > 8 else 0
    )
    ax.set_xlabel("week of")
    share = ax.twinx()
    share.plot(
        xs,
        [100 * w.failed_cpu_hours / w.cpu_hours if w.cpu_hours else math.nan for w in weeks],
        color=theme()["series"]["line"],
        marker="o",
        linewidth=1.5,
        label="failed share",
    )
    share.set_ylim(0, 105)
    share.set_ylabel("failed share of CPU (%)")
    share.tick_params(labelsize=9)
    share.spines["top"].set_visible(False)
    tidy_axes(ax)
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = share.get_legend_handles_labels()
    fig.legend(
        handles + more,
        labels + more_labels,
        fontsize=8,
        frameon=False,
        loc="outside lower center",
        ncols=3,
    )
    ax.set_title("CPU-hours by week, with the failed share", loc="left", fontsize=11)
    alt = "CPU-hours by week: " + "; ".join(
        f"{w.week_start:%Y-%m-%d}: {_hours(w.cpu_hours)} CPU-h, {_hours(w.failed_cpu_hours)} failed"
        for w in weeks
    )
    return plot(fig, alt, "Compute by week: failures stacked on top, the line is their share.")


def _cap_plot(lessons: list[CapLesson]) -> Plot | None:
    rows: list[tuple[str, str, float | None, float | None]] = []  # name, tick label, shares
    for c in lessons:
        wall, memory = c.peak_wall_share, c.peak_memory_share
        if wall is not None or memory is not None:
            name = f"{c.short} on {c.dataset}" if c.dataset else c.short
            tick = (
                f"{plot_label(c.short)}\n{plot_label(c.dataset)}"
                if c.dataset
                else plot_label(c.short)
            )
            rows.append((name, tick, wall, memory))
    if not rows:
        return None
    fig = agg_figure(9.0, 1.5 + 0.6 * len(rows))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    height = 0.38
    series = (
        ("wall time", theme()["series"]["main"], -height / 2, [w for _, _, w, _ in rows]),
        ("memory", theme()["series"]["second"], height / 2, [m for _, _, _, m in rows]),
    )
    for name, color, offset, ratios in series:
        values = [100 * r if r is not None else 0.0 for r in ratios]
        bars = ax.barh([y + offset for y in ys], values, height=height, color=color, label=name)
        for bar, ratio in zip(bars, ratios, strict=True):
            if ratio is not None:
                ax.annotate(
                    f"{100 * ratio:.0f}%",
                    (bar.get_width(), bar.get_y() + height / 2),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
    ax.axvline(100, color=theme()["outcomes"]["crashed"], linestyle="--", linewidth=1)
    ax.set_yticks(ys, [tick for _, tick, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("highest use of a run's own cap, % (dashed: the cap)")
    peak = max(100 * r for _, _, _, ratios in series for r in ratios if r is not None)
    ax.set_xlim(0, max(110.0, peak * 1.12))
    fig.legend(fontsize=8, frameon=False, loc="outside right upper")
    ax.set_title("Cap use: each run against its own caps", loc="left", fontsize=11)
    tidy_axes(ax)
    alt = "Cap use: " + "; ".join(
        f"{name}: wall {_pct(w) if w is not None else 'n/a'} of its cap, "
        f"memory {_pct(m) if m is not None else 'n/a'} of its cap"
        for name, _, w, m in rows
    )
    return plot(
        fig,
        alt,
        "The highest share of its own wall-time and memory caps any run of a short used, by "
        "data set.",
    )
