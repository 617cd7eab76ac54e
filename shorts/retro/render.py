"""A retrospective as three files: ``report.html``, ``report.md`` and ``report.json``.

The HTML and Markdown are rendered from one intermediate document (sections of paragraphs, tables,
lists and plots), so the two always say the same thing. The HTML is self-contained: CSS inline,
plots as base64 PNGs drawn with matplotlib's Agg canvas (no display, no global backend switch), no
external URL and no JavaScript; it opens from a file, a mail attachment or an MLflow artifact view.
The JSON is ``dataclasses.asdict`` of the retrospective, datetimes as ISO strings, non-finite
numbers as ``null`` and a password in the tracking URI masked.

Every number that comes from runs links to them through ``retro.run_links``: an ``<a href>`` when
the link is an http(s) URL of the MLflow UI, the run id in ``<code>`` otherwise. A cell backed by
many runs shows the number with the runs folded under it (``<details>``, no script needed). All
text taken from runs (reasons, names, evidence) is escaped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shorts.caps import format_duration, format_size
from shorts.reports import agg_figure as _figure
from shorts.reports import escape as _esc
from shorts.reports import img_tag, png_bytes, write_text_atomically
from shorts.reports import jsonable as _jsonable
from shorts.reports import plot_label as _label
from shorts.reports import tidy_axes as _style
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

if TYPE_CHECKING:
    from matplotlib.figure import Figure

T = TypeVar("T")
VERDICTS = ("hit", "miss", "inconclusive")
# Categories (verdicts of completed runs, else outcomes) that are failed shorts, in report order.
FAILED_CATEGORIES = (*FAILED_OUTCOMES, *FAILED_VERDICTS)
# Stacking order of the outcome plot and the tables: successes first, then failures.
CATEGORIES = (
    "hit",
    "inconclusive",
    "miss",
    "completed",
    "pruned",
    "timeout",
    "memout",
    "crashed",
    "lost",
    "interrupted",
)
COLORS = {
    "hit": "#2e7d32",
    "inconclusive": "#f2b705",
    "miss": "#e4572e",
    "completed": "#90a4ae",
    "pruned": "#b0bec5",
    "timeout": "#ef8a17",
    "memout": "#7b3fa0",
    "crashed": "#b71c1c",
    "lost": "#455a64",
    "interrupted": "#00838f",
    "within-noise": "#1565c0",
    "improving-at-cap": "#6a1b9a",
}
NONE = "\N{EN DASH}"  # a figure that does not apply
# Run links under one figure: enough to open a few, not a 10,000-run quarter's worth in every
# cell (the page would weigh megabytes). The full lists are in report.json.
HTML_RUN_LIMIT = 40
# Markdown has no folding: a figure names its first runs inline and counts the rest.
MD_RUN_LIMIT = 2
ROW_LIMIT = 50  # rows of a per-run table (best first, as the analysis orders them)
FILES = {"html": "report.html", "md": "report.md", "json": "report.json"}


# -- the intermediate document -------------------------------------------------------------------


@dataclass(frozen=True)
class _Runs:
    """A figure (``label``) backed by runs: the label links to them."""

    label: str
    runs: Sequence[str]


@dataclass(frozen=True)
class _Code:
    text: str


@dataclass(frozen=True)
class _Badge:
    """An outcome, verdict or near-miss kind, coloured in the HTML."""

    text: str


@dataclass(frozen=True)
class _Strong:
    text: str


Inline = str | _Runs | _Code | _Badge | _Strong
Cell = Inline | list[Inline]


@dataclass(frozen=True)
class _Para:
    parts: list[Inline]
    kind: str = ""  # "", "summary", "note", "price" or "empty": a CSS class in the HTML


@dataclass(frozen=True)
class _Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()  # right-aligned columns


@dataclass(frozen=True)
class _Bullets:
    items: list[list[Inline]]


@dataclass(frozen=True)
class _Plot:
    png: bytes
    alt: str
    caption: str


@dataclass(frozen=True)
class _Section:
    id: str
    title: str
    level: int
    blocks: list[Block]


Block = _Para | _Table | _Bullets | _Plot | _Section


# -- public entry point --------------------------------------------------------------------------


def render(retro: Retrospective, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and ``report.json`` for ``retro`` into ``out_dir``.

    Args:
        retro: the retrospective to report.
        out_dir: the folder to write to; created if missing, files in it are replaced.

    Returns:
        The written files by kind: ``{"html": ..., "md": ..., "json": ...}``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    title, meta, blocks = _document(retro)
    texts = {
        "html": _to_html(retro, title, meta, blocks),
        "md": _to_markdown(retro, title, meta, blocks),
        "json": to_json(retro),
    }
    return {
        kind: write_text_atomically(out_dir / FILES[kind], text) for kind, text in texts.items()
    }


def to_json(retro: Retrospective) -> str:
    """``retro`` as JSON: ``dataclasses.asdict``, datetimes in ISO 8601, NaN and inf as null."""
    data = _jsonable(dataclasses.asdict(retro))
    data["tracking_uri"] = redact_uri(retro.tracking_uri)
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# -- content ---------------------------------------------------------------------------------------


def _document(retro: Retrospective) -> tuple[str, list[Inline], list[Block]]:
    """Title, a line of metadata, then the summary, notes and sections, in report order."""
    period = retro.period
    title = f"Retrospective {period.label}"
    meta: list[Inline] = [
        f"{_period_range(period.start, period.end)} (UTC) · store ",
        _Code(redact_uri(retro.tracking_uri)),
        f" · generated {retro.generated_at.strftime('%Y-%m-%d %H:%M')}",
    ]
    blocks: list[Block] = [_summary(retro)]
    blocks += [_Para([note], kind="note") for note in retro.notes]
    blocks += [
        _portfolio(retro),
        _ledger(retro.ledger),
        _harvest(retro),
        _next(retro.suggestions),
    ]
    return title, meta, blocks


def _summary(retro: Retrospective) -> _Para:
    p = retro.portfolio
    if p.total_runs == 0:
        return _Para(["No runs in this period."], kind="summary")
    cats = _by_category(_per_short(p.counts))
    failures = _failed_runs(p.counts)
    kinds = ", ".join(
        f"{len(_runs_of(cats, c))} {c}" for c in FAILED_CATEGORIES if _runs_of(cats, c)
    )
    parts: list[Inline] = [_Runs(_plural(p.total_runs, "run"), _all_runs(p.counts))]
    for key, plural in (("hit", "hits"), ("miss", "misses"), ("inconclusive", "inconclusive")):
        runs = _runs_of(cats, key)
        parts += [" · ", _Runs(_plural(len(runs), key, plural), runs)]
    parts += [" · ", _Runs(f"{len(failures):,} failed", failures)]
    if kinds:
        parts.append(f" ({kinds})")
    parts.append(
        f" · {_hours(p.cpu_hours)} CPU-hours, {_pct(p.failed_share)} of it on failed shorts"
    )
    return _Para(parts, kind="summary")


def _portfolio(retro: Retrospective) -> _Section:
    p = retro.portfolio
    blocks: list[Block] = []
    if p.total_runs == 0:
        blocks.append(_Para(["No runs in this period: nothing to count."], kind="empty"))
        return _Section("portfolio", "Portfolio", 2, blocks)
    blocks.append(
        _Para(
            [
                _Strong("Share of compute spent on failures: "),
                _Runs(_pct(p.failed_share), _failed_runs(p.counts)),
                " — the price of exploration. ",
                f"{_hours(p.failed_cpu_hours)} of {_hours(p.cpu_hours)} CPU-hours went to failed "
                f"shorts; {_hours(p.wall_hours)} wall-hours in all. ",
                FAILED_DEFINITION,
            ],
            kind="price",
        )
    )
    plot = _outcome_plot(_per_short(p.counts))
    if plot is not None:
        blocks.append(plot)
    rows: list[list[Cell]] = []
    per_short = sorted(_per_short(p.counts), key=lambda c: (c.short, _category_rank(c)))
    for c in per_short:
        rows.append(
            [
                c.short,
                _Badge(c.outcome),
                _Badge(c.verdict) if c.verdict else "",
                _Runs(str(len(c.runs)), c.runs),
                _hours(c.cpu_hours),
                _hours(c.wall_hours),
            ]
        )
    blocks.append(
        _Table(
            ["short", "outcome", "verdict", "runs", "CPU-h", "wall-h"],
            rows,
            numeric=frozenset({3, 4, 5}),
        )
    )
    cats = _by_category(per_short)
    total_cpu = sum(cpu for _, cpu, _ in cats.values()) or 1.0
    blocks.append(
        _Table(
            ["all shorts", "runs", "CPU-h", "wall-h", "share of CPU"],
            [
                [
                    _Badge(cat),
                    _Runs(str(len(runs)), runs),
                    _hours(cpu),
                    _hours(wall),
                    _pct(cpu / total_cpu),
                ]
                for cat, (runs, cpu, wall) in sorted(cats.items(), key=lambda kv: _rank(kv[0]))
            ],
            numeric=frozenset({1, 2, 3, 4}),
        )
    )
    if p.weeks:
        plot = _weekly_plot(retro)
        if plot is not None:
            blocks.append(plot)
        blocks.append(
            _Table(
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
                    for w in p.weeks
                ],
                numeric=frozenset({1, 2, 3, 4, 5}),
            )
        )
    return _Section("portfolio", "Portfolio", 2, blocks)


def _ledger(rows: list[LedgerRow]) -> _Section:
    intro = _Para(
        [
            "Each technique tag across every short that tried it: how often it hit, missed, was "
            "capped or crashed, and its best relative uplift over a baseline. A tag of the "
            'baseline side (a word "baseline" in it) gets no uplift: that belongs to the '
            "technique its runs tried."
        ]
    )
    if not rows:
        return _Section("ledger", "Technique ledger", 2, [intro, _empty("No techniques tagged.")])
    table = _Table(
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
                [_Strong(r.technique), " (baseline side)"]
                if r.baseline_tag
                else _Strong(r.technique),
                ", ".join(r.shorts),
                _Runs(str(len(r.runs)), r.runs),
                _Runs(str(len(r.hits)), r.hits),
                _Runs(str(len(r.misses)), r.misses),
                _Runs(str(len(r.inconclusive)), r.inconclusive),
                _Runs(str(len(r.capped)), r.capped),
                _Runs(str(len(r.crashed)), r.crashed),
                _Runs(_uplift(r.best_uplift), [r.best_run] if r.best_run else [])
                if r.best_uplift is not None
                else NONE,
                ", ".join(r.datasets),
            ]
            for r in rows
        ],
        numeric=frozenset({2, 3, 4, 5, 6, 7, 8}),
    )
    return _Section("ledger", "Technique ledger", 2, [intro, table])


def _harvest(retro: Retrospective) -> _Section:
    blocks: list[Block] = [
        _Para(
            [
                "A failed short (as defined under Portfolio) still teaches: the parts it "
                "saved, the slices it won, how close it came, how it broke and what its caps "
                "should have been. Every row below comes from failed shorts, except the cap "
                "lessons, which also learn from the runs that fitted their caps."
            ]
        ),
        _Section(
            "harvest-items",
            "Components and notes saved by failed shorts",
            3,
            _harvested(retro.harvested),
        ),
        _Section(
            "slice-wins",
            "Slices where a failed short beat its baseline",
            3,
            _slice_wins(retro.slice_wins),
        ),
        _Section("near-misses", "Near misses", 3, _near_misses(retro.near_misses)),
        _Section("fingerprints", "Failure fingerprints", 3, _fingerprints(retro.fingerprints)),
        _Section("cap-lessons", "Cap lessons", 3, _cap_lessons(retro.cap_lessons, retro.headroom)),
    ]
    return _Section("harvest", "Harvest from failed shorts", 2, blocks)


def _harvested(items: list[HarvestedItem]) -> list[Block]:
    if not items:
        return [_empty("No failed short saved a component or note with ctx.harvest.")]
    items, more = _shown(items, ROW_LIMIT, "components and notes")
    return [
        _Table(
            ["short", "item", "kind", "type", "evidence", "run ended", "run", "artifact"],
            [
                [
                    i.short,
                    _Strong(i.name),
                    i.kind,
                    i.type,
                    _evidence(i.evidence),
                    _outcome_cell(i.outcome, i.verdict),
                    _run(i.run),
                    _Code(i.artifact_path) if i.artifact_path else "",
                ]
                for i in items
            ],
        ),
        *more,
    ]


def _slice_wins(wins: list[SliceWin]) -> list[Block]:
    intro = _Para(
        [
            "Slices q1 to q4 are the quartiles of the true target (q1 its lowest quarter of "
            "values, q4 its highest), scored out of fold for the short and its baseline; the "
            "uplift is the short's relative improvement over the baseline on that slice."
        ]
    )
    if not wins:
        return [intro, _empty("No slice where a failed short beat its baseline.")]
    wins, more = _shown(wins, ROW_LIMIT, "slice wins, largest uplift first")
    return [
        intro,
        _Table(
            [
                "short",
                "slice",
                "metric",
                "value",
                "baseline",
                "uplift",
                "dataset",
                "techniques",
                "run ended",
                "run",
            ],
            [
                [
                    w.short,
                    _Strong(w.slice),
                    w.metric,
                    _num(w.value),
                    _num(w.baseline),
                    _uplift(w.uplift),
                    w.dataset,
                    ", ".join(w.techniques),
                    _outcome_cell(w.outcome, w.verdict),
                    _run(w.run),
                ]
                for w in wins
            ],
            numeric=frozenset({3, 4, 5}),
        ),
        *more,
    ]


def _near_misses(misses: list[NearMiss]) -> list[Block]:
    if not misses:
        return [_empty("No near miss: nothing within noise, nothing still improving at its cap.")]
    total = len(misses)
    kinds = list(dict.fromkeys(m.kind for m in misses))
    per_kind = max(ROW_LIMIT // len(kinds), 1)
    misses = [m for kind in kinds for m in [n for n in misses if n.kind == kind][:per_kind]]
    more: list[Block] = []
    if len(misses) < total:
        more = [_more_note(len(misses), total, f"near misses, the first {per_kind} of each kind")]
    return [
        _Table(
            ["short", "kind", "detail", "metric", "last values", "run"],
            [
                [
                    m.short,
                    _Badge(m.kind),
                    m.detail,
                    m.metric or "",
                    ", ".join(_num(v) for v in m.last_values),
                    _run(m.run),
                ]
                for m in misses
            ],
        ),
        *more,
    ]


def _fingerprints(prints: list[Fingerprint]) -> list[Block]:
    intro = _Para(
        [
            "Crashes grouped by exception type and the innermost frame of the short's own code "
            "(library frames are skipped), with an example run each. Timeouts and memouts are "
            "under Cap lessons."
        ]
    )
    if not prints:
        return [intro, _empty("No crash to group.")]
    prints, more = _shown(prints, ROW_LIMIT, "fingerprints, most frequent first")
    return [
        intro,
        _Table(
            ["error", "where", "runs", "shorts", "example reason", "example run"],
            [
                [
                    _Code(f.error_type),
                    _Code(f.where),
                    _Runs(str(f.count), f.runs),
                    ", ".join(f.shorts),
                    f.example_reason,
                    _run(f.example_run),
                ]
                for f in prints
            ],
            numeric=frozenset({2}),
        ),
        *more,
    ]


def _cap_lessons(lessons: list[CapLesson], headroom: float) -> list[Block]:
    if not lessons:
        return [_empty("No cap figures recorded.")]
    blocks: list[Block] = [
        _Para(
            [
                "Runs grouped by short and data set (with its size), each run measured against "
                "its own caps. ",
                _Strong("The recommended cap"),
                f" is {headroom:g}x what the runs needed: a completed run needed its wall time; a "
                "run a cap stopped (a timeout, or a completion the soft deadline cut short) "
                "needed its elapsed time plus its remaining folds at its own pace (elapsed ÷ "
                "share of folds done when no fold times were logged); a timeout with no "
                f"progress logged gets a guess of {max(headroom, 2.0):g}x what it ran. A "
                "memout's peak is at least its cap. Shorts that run until their cap by design "
                "(anytime) get no wall-time advice.",
            ]
        )
    ]
    plot = _cap_plot(lessons)
    if plot is not None:
        blocks.append(plot)
    blocks.append(
        _Table(
            ["short", "data set", "runs", "timeouts", "memouts", "wall time", "memory", "note"],
            [
                [
                    c.short,
                    c.dataset or NONE,
                    _Runs(str(len(c.runs)), c.runs),
                    _Runs(str(len(c.timeouts)), c.timeouts),
                    _Runs(str(len(c.memouts)), c.memouts),
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
                    c.note,
                ]
                for c in lessons
            ],
            numeric=frozenset({2, 3, 4}),
        )
    )
    blocks.append(
        _Para(
            [
                "Each cap reads: the cap (the range, when the runs had different caps), the "
                "highest use by any run, the highest share of its own cap a run used, then ",
                _Strong("the recommended cap"),
                ".",
            ],
            kind="empty",
        )
    )
    underused = [c for c in lessons if c.underused]
    if underused:
        parts: list[Inline] = [
            _Strong("Underused caps: "),
            "every run of these shorts used under 10% of its wall and memory caps; the "
            "recommended caps would queue and fail faster: ",
        ]
        for n, c in enumerate(underused):
            label = f"{c.short} on {c.dataset}" if c.dataset else c.short
            parts += [", " if n else "", _Runs(label, c.runs)]
        parts.append(".")
        blocks.append(_Para(parts))
    return blocks


def _cap_range(caps: list[str]) -> str:
    """One cap, or the smallest to the largest when the runs had different caps."""
    if not caps:
        return NONE
    return caps[0] if len(caps) == 1 else f"{caps[0]}\N{EN DASH}{caps[-1]}"


def _cap_cell(cap: str, share: float | None, peak: str, recommended: str) -> list[Inline]:
    """``cap 10.0s to 1m11s · peak 14.5s · at most 100% of its own cap → 1m11s``."""
    used = f" · at most {_pct(share)} of its own cap" if share is not None else ""
    return [f"cap {cap} · peak {peak}{used} → ", _Strong(recommended)]


def _next(suggestions: list[Suggestion]) -> _Section:
    if not suggestions:
        return _Section(
            "next",
            "What to try next",
            2,
            [_empty("Nothing to suggest: no technique with positive evidence left untried.")],
        )
    items: list[list[Inline]] = []
    for s in suggestions:
        item: list[Inline] = [_Strong(s.technique)]
        if s.untried_datasets:
            item.append(f" on {', '.join(s.untried_datasets)}")
        if s.tasks:
            kinds = " and ".join(s.tasks)
            item.append(f" ({kinds} data, like where it helped)")
        item += [" — ", s.evidence, " (", _Runs(_plural(len(s.runs), "run"), s.runs), ")"]
        if s.tried_on:
            item.append(f"; tried so far on {', '.join(s.tried_on)}")
        items.append(item)
    intro = _Para(
        [
            "Techniques with positive evidence somewhere (a hit, a slice win, a positive "
            "uplift), each credited to the data set it was measured on, suggested for the data "
            "sets of the same task kind that they have not been tried on yet."
        ]
    )
    return _Section("next", "What to try next", 2, [intro, _Bullets(items)])


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


def _category_rank(c: OutcomeCount) -> int:
    return _rank(_category(c.outcome, c.verdict))


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


def _all_runs(counts: list[OutcomeCount]) -> list[str]:
    return [run for c in _per_short(counts) for run in c.runs]


def _failed_runs(counts: list[OutcomeCount]) -> list[str]:
    """Runs of failed shorts (``is_failed``), in the counts' order."""
    return [run for c in _per_short(counts) if is_failed(c.outcome, c.verdict) for run in c.runs]


# -- formatting -----------------------------------------------------------------------------------


def _period_range(start: datetime, end: datetime) -> str:
    last = end - timedelta(microseconds=1)  # the period is half-open
    return f"{start:%Y-%m-%d} to {last:%Y-%m-%d}"


def format_hours(x: float) -> str:
    """Hours to read at a glance: ``1,234``, ``3.50``, ``<0.01`` (report.json has the figure)."""
    if not math.isfinite(x):
        return NONE
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 0.005 or x == 0 else "<0.01"


_hours = format_hours


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


def _run(run_id: str) -> _Runs:
    return _Runs("", [run_id])


def _shown(items: list[T], limit: int, what: str) -> tuple[list[T], list[Block]]:
    """The first ``limit`` items, and a note saying how many more report.json holds."""
    if len(items) <= limit:
        return items, []
    return items[:limit], [_more_note(limit, len(items), what)]


def _more_note(shown: int, total: int, what: str) -> _Para:
    return _Para([f"Showing {shown:,} of {total:,} {what}; report.json lists them all."], "empty")


def _empty(text: str) -> _Para:
    return _Para([text], kind="empty")


def _outcome_cell(outcome: str, verdict: str) -> list[Inline]:
    cell: list[Inline] = [_Badge(outcome)]
    if verdict:
        cell += [" ", _Badge(verdict)]
    return cell


def _evidence(evidence: dict[str, Any]) -> str:
    shown = []
    for key, value in evidence.items():
        text = _num(value) if isinstance(value, float) else str(value)
        shown.append(f"{key}={text}")
    joined = "; ".join(shown)
    return joined if len(joined) <= 300 else joined[:299] + "…"


# -- plots ----------------------------------------------------------------------------------------


def _png(fig: Figure, alt: str, caption: str) -> _Plot:
    return _Plot(png_bytes(fig), alt, caption)


def _outcome_plot(counts: list[OutcomeCount]) -> _Plot | None:
    from matplotlib.ticker import MaxNLocator

    shorts = sorted({c.short for c in counts})
    if not shorts:
        return None
    table: dict[str, dict[str, int]] = {s: {} for s in shorts}
    for c in counts:
        cat = _category(c.outcome, c.verdict)
        table[c.short][cat] = table[c.short].get(cat, 0) + len(c.runs)
    cats = sorted({cat for row in table.values() for cat in row}, key=_rank)
    fig = _figure(9.0, 1.4 + 0.38 * len(shorts))
    ax = fig.add_subplot()
    left = [0] * len(shorts)
    ys = list(range(len(shorts)))
    for cat in cats:
        values = [table[s].get(cat, 0) for s in shorts]
        ax.barh(ys, values, left=left, color=COLORS.get(cat, "#bdbdbd"), label=cat, height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(ys, [_label(s) for s in shorts])
    ax.invert_yaxis()
    ax.set_xlabel("runs")
    ax.set_title("Outcomes by short", loc="left", fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    _style(ax)
    alt = "Outcomes by short: " + "; ".join(
        f"{s}: " + ", ".join(f"{n} {cat}" for cat, n in table[s].items()) for s in shorts
    )
    return _png(fig, alt, "Runs of each short by outcome (completed runs by verdict).")


def _weekly_plot(retro: Retrospective) -> _Plot | None:
    weeks = retro.portfolio.weeks
    if not weeks or not any(w.runs for w in weeks):
        return None
    fig = _figure(9.0, 3.4)
    ax = fig.add_subplot()
    xs = list(range(len(weeks)))
    failed = [w.failed_cpu_hours for w in weeks]
    rest = [max(w.cpu_hours - w.failed_cpu_hours, 0.0) for w in weeks]
    ax.bar(xs, rest, color="#4f81bd", label="CPU-hours, hits and the rest", width=0.75)
    ax.bar(xs, failed, bottom=rest, color=COLORS["miss"], label="CPU-hours on failures", width=0.75)
    ax.set_ylabel("CPU-hours")
    ax.set_xticks(
        xs, [w.week_start.strftime("%m-%d") for w in weeks], rotation=45 if len(weeks) > 8 else 0
    )
    ax.set_xlabel("week of")
    share = ax.twinx()
    share.plot(
        xs,
        [100 * w.failed_cpu_hours / w.cpu_hours if w.cpu_hours else math.nan for w in weeks],
        color="#222222",
        marker="o",
        linewidth=1.5,
        label="failed share",
    )
    share.set_ylim(0, 105)
    share.set_ylabel("failed share of CPU (%)")
    share.tick_params(labelsize=9)
    share.spines["top"].set_visible(False)
    _style(ax)
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
    return _png(fig, alt, "Compute by week: failures stacked on top, the line is their share.")


def _cap_plot(lessons: list[CapLesson]) -> _Plot | None:
    rows: list[tuple[str, str, float | None, float | None]] = []  # name, tick label, shares
    for c in lessons:
        wall, memory = c.peak_wall_share, c.peak_memory_share
        if wall is not None or memory is not None:
            name = f"{c.short} on {c.dataset}" if c.dataset else c.short
            tick = f"{_label(c.short)}\n{_label(c.dataset)}" if c.dataset else _label(c.short)
            rows.append((name, tick, wall, memory))
    if not rows:
        return None
    fig = _figure(9.0, 1.5 + 0.6 * len(rows))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    height = 0.38
    series = (
        ("wall time", "#4f81bd", -height / 2, [w for _, _, w, _ in rows]),
        ("memory", "#9bbb59", height / 2, [m for _, _, _, m in rows]),
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
    ax.axvline(100, color=COLORS["crashed"], linestyle="--", linewidth=1)
    ax.set_yticks(ys, [tick for _, tick, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("highest use of a run's own cap, % (dashed: the cap)")
    peak = max(100 * r for _, _, _, ratios in series for r in ratios if r is not None)
    ax.set_xlim(0, max(110.0, peak * 1.12))
    fig.legend(fontsize=8, frameon=False, loc="outside right upper")
    ax.set_title("Cap use: each run against its own caps", loc="left", fontsize=11)
    _style(ax)
    alt = "Cap use: " + "; ".join(
        f"{name}: wall {_pct(w) if w is not None else 'n/a'} of its cap, "
        f"memory {_pct(m) if m is not None else 'n/a'} of its cap"
        for name, _, w, m in rows
    )
    return _png(
        fig,
        alt,
        "The highest share of its own wall-time and memory caps any run of a short used, by "
        "data set.",
    )


# -- HTML -----------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --soft: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  max-width: 1180px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.8rem; margin: 0 0 .2rem; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 .6rem; padding-bottom: .3rem;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.8rem 0 .5rem; }
.meta { color: var(--muted); font-size: .9rem; }
nav { margin: 1rem 0; font-size: .9rem; }
nav a { margin-right: 1rem; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--soft); padding: .05em .3em; border-radius: 4px; overflow-wrap: break-word; }
a code, td > code:only-child { white-space: nowrap; }
.para { margin: .7rem 0; }
.summary { font-size: 1.1rem; padding: .8rem 1rem; background: var(--soft);
  border: 1px solid var(--line); border-radius: 8px; }
.note { padding: .6rem 1rem; background: #fff8c5; border: 1px solid #e6d27a; border-radius: 8px; }
.price { padding: .6rem 1rem; border-left: 4px solid #e4572e; background: #fdf1ed; }
.empty { color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; margin: .7rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .88rem; min-width: 50%; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .6rem; text-align: left;
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
details.runs { display: inline-block; vertical-align: top; }
details.runs summary { cursor: pointer; color: var(--accent); }
details.runs[open] { display: block; max-width: 28rem; }
details.runs .more { color: var(--muted); font-size: .85em; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 1em; font-size: .8rem;
  color: #fff; background: #8c959f; white-space: nowrap; }
figure { margin: 1rem 0 1.4rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: .85rem; }
ul.next li { margin: .4rem 0; }
footer { margin: 3rem 0 1rem; color: var(--muted); font-size: .8rem; }
"""


def _badge_css() -> str:
    return "\n".join(
        f".badge.b-{name} {{ background: {color}; }}"
        + (" .badge.b-inconclusive { color: #1f2328; }" if name == "inconclusive" else "")
        for name, color in COLORS.items()
    )


def _to_html(retro: Retrospective, title: str, meta: list[Inline], blocks: list[Block]) -> str:
    links = retro.run_links
    toc = [b for b in blocks if isinstance(b, _Section)]
    nav = " ".join(f'<a href="#{b.id}">{_esc(b.title)}</a>' for b in toc)
    body = "\n".join(_html_block(b, links) for b in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n"
        f"<style>{CSS}{_badge_css()}\n</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{_esc(title)}</h1>\n"
        f'<div class="meta">{_html_inlines(meta, links)}</div>\n'
        f"<nav>{nav}</nav>\n</header>\n<main>\n{body}\n</main>\n"
        "<footer>Made by <code>shorts retro</code>. Every figure that comes from runs links to "
        "them; report.json holds the same content for machines.</footer>\n"
        "</body>\n</html>\n"
    )


def _html_block(block: Block, links: dict[str, str]) -> str:
    if isinstance(block, _Section):
        inner = "\n".join(_html_block(b, links) for b in block.blocks)
        tag = f"h{block.level}"
        return (
            f'<section id="{_esc(block.id)}">\n<{tag}>{_esc(block.title)}</{tag}>\n{inner}\n'
            "</section>"
        )
    if isinstance(block, _Para):
        cls = f"para {block.kind}".strip()
        return f'<div class="{cls}">{_html_inlines(block.parts, links)}</div>'
    if isinstance(block, _Table):
        head = "".join(
            f'<th{_num_class(n, block.numeric)} scope="col">{_esc(h)}</th>'
            for n, h in enumerate(block.headers)
        )
        body = "\n".join(
            "<tr>"
            + "".join(
                f"<td{_num_class(n, block.numeric)}>{_html_inlines(_parts(cell), links)}</td>"
                for n, cell in enumerate(row)
            )
            + "</tr>"
            for row in block.rows
        )
        return (
            f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody></table></div>"
        )
    if isinstance(block, _Bullets):
        items = "\n".join(f"<li>{_html_inlines(item, links)}</li>" for item in block.items)
        return f'<ul class="next">\n{items}\n</ul>'
    return img_tag(block.png, block.alt, block.caption)


def _num_class(n: int, numeric: frozenset[int]) -> str:
    return ' class="num"' if n in numeric else ""


def _parts(cell: Cell) -> list[Inline]:
    return cell if isinstance(cell, list) else [cell]


def _html_inlines(parts: Sequence[Inline], links: dict[str, str]) -> str:
    return "".join(_html_inline(p, links) for p in parts)


def _html_inline(part: Inline, links: dict[str, str]) -> str:
    if isinstance(part, str):
        return _esc(part)
    if isinstance(part, _Code):
        return f"<code>{_esc(part.text)}</code>"
    if isinstance(part, _Strong):
        return f"<strong>{_esc(part.text)}</strong>"
    if isinstance(part, _Badge):
        if not part.text:
            return ""
        cls = f" b-{part.text}" if part.text in COLORS else ""
        return f'<span class="badge{cls}">{_esc(part.text)}</span>'
    return _html_runs(part, links)


def _url(run_id: str, links: dict[str, str]) -> str | None:
    """The UI link of a run when it is a web address (never ``javascript:`` or the like)."""
    target = links.get(run_id, "")
    return target if target.startswith(("http://", "https://")) else None


def _html_run(run_id: str, links: dict[str, str]) -> str:
    url = _url(run_id, links)
    if url is None:
        return f"<code>{_esc(run_id)}</code>"
    return f'<a href="{_esc(url)}"><code>{_esc(run_id[:8])}</code></a>'


def _html_runs(part: _Runs, links: dict[str, str]) -> str:
    runs = list(part.runs)
    if not part.label:  # a run column: the run itself
        return " ".join(_html_run(r, links) for r in runs)
    if not runs:
        return _esc(part.label)
    if len(runs) == 1:
        url = _url(runs[0], links)
        if url is not None:
            return f'<a href="{_esc(url)}" title="run {_esc(runs[0])}">{_esc(part.label)}</a>'
    shown = " ".join(_html_run(r, links) for r in runs[:HTML_RUN_LIMIT])
    more = (
        f' <span class="more">+{len(runs) - HTML_RUN_LIMIT} more in report.json</span>'
        if len(runs) > HTML_RUN_LIMIT
        else ""
    )
    return f'<details class="runs"><summary>{_esc(part.label)}</summary>{shown}{more}</details>'


# -- Markdown -------------------------------------------------------------------------------------


def _to_markdown(retro: Retrospective, title: str, meta: list[Inline], blocks: list[Block]) -> str:
    links = retro.run_links
    out = [f"# {_md(title)}", "", _md_inlines(meta, links), ""]
    for block in blocks:
        out += _md_block(block, links)
    out.append(
        "_Made by `shorts retro`. Plots are in report.html; report.json holds the same content "
        "for machines._"
    )
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Text from runs, safe in Markdown and in a table cell: no HTML, no emphasis, no pipes.

    Escaped the Markdown way (a backslash before ``<``, ``&``, ``*``...), not as HTML entities,
    which a Markdown viewer shows literally inside code and some tables (``&lt;0.01``).
    """
    text = str(text)
    for char in ("\\", "`", "*", "[", "]", "|", "<", ">", "&"):
        text = text.replace(char, "\\" + char)
    return re.sub(r"\s+", " ", text)


def _md_code(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _md_block(block: Block, links: dict[str, str]) -> list[str]:
    if isinstance(block, _Section):
        out = ["#" * block.level + " " + _md(block.title), ""]
        for b in block.blocks:
            out += _md_block(b, links)
        return out
    if isinstance(block, _Para):
        text = _md_inlines(block.parts, links)
        if block.kind == "empty":
            text = f"_{text}_"
        elif block.kind in ("note", "price"):
            text = f"> {text}"
        elif block.kind == "summary":
            text = f"**{text}**" if "\n" not in text else text
        return [text, ""]
    if isinstance(block, _Table):
        head = "| " + " | ".join(_md(h) for h in block.headers) + " |"
        rule = (
            "| "
            + " | ".join("---:" if n in block.numeric else "---" for n in range(len(block.headers)))
            + " |"
        )
        rows = [
            "| " + " | ".join(_md_inlines(_parts(cell), links) or " " for cell in row) + " |"
            for row in block.rows
        ]
        return [head, rule, *rows, ""]
    if isinstance(block, _Bullets):
        return [*(f"- {_md_inlines(item, links)}" for item in block.items), ""]
    return [f"_Plot (in report.html): {_md(block.caption)}_", ""]


def _md_inlines(parts: Sequence[Inline], links: dict[str, str]) -> str:
    return "".join(_md_inline(p, links) for p in parts)


def _md_inline(part: Inline, links: dict[str, str]) -> str:
    if isinstance(part, str):
        return _md(part)
    if isinstance(part, _Code):
        return _md_code(part.text)
    if isinstance(part, _Strong):
        # Emphasis must hug its text in CommonMark: spaces go outside the asterisks.
        core = part.text.strip()
        if not core:
            return _md(part.text)
        lead = part.text[: len(part.text) - len(part.text.lstrip())]
        trail = part.text[len(part.text.rstrip()) :]
        return f"{_md(lead)}**{_md(core)}**{_md(trail)}"
    if isinstance(part, _Badge):
        return _md(part.text)
    return _md_runs(part, links)


def _md_run(run_id: str, links: dict[str, str]) -> str:
    url = _url(run_id, links)
    if url is None:
        return _md_code(run_id)
    return f"[{_md_code(run_id[:8])}]({_md_url(url)})"


def _md_runs(part: _Runs, links: dict[str, str]) -> str:
    runs = list(part.runs)
    if not part.label:
        return " ".join(_md_run(r, links) for r in runs)
    if not runs:
        return _md(part.label)
    if len(runs) == 1:
        url = _url(runs[0], links)
        if url is not None:
            return f"[{_md(part.label)}]({_md_url(url)})"
    shown = ", ".join(_md_run(r, links) for r in runs[:MD_RUN_LIMIT])
    if len(runs) > MD_RUN_LIMIT:
        shown += f", +{len(runs) - MD_RUN_LIMIT} more in report.json"
    return f"{_md(part.label)} ({shown})"
