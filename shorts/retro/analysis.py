"""From a period's runs to a ``Retrospective``: portfolio, ledger, harvest, suggestions.

One pass over ``load_runs``'s frame into plain records (``shorts.retro.records``), then each
section from them; MLflow is asked only for the histories of capped runs and some tracebacks
when the caller did not pass them. A failed short is ``shorts.retro.model.is_failed`` everywhere.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from shorts import record
from shorts.caps import kind_of
from shorts.outcome import CAPPED, Outcome
from shorts.retro.cap_lessons import cap_lessons, history_ids
from shorts.retro.claims import DEFAULT_LEVEL, Claims, select_claims, settling_folds
from shorts.retro.lessons import hybrid_command, lessons
from shorts.retro.load import load_histories, load_tracebacks
from shorts.retro.model import (
    Fingerprint,
    HarvestedItem,
    LedgerRow,
    NearMiss,
    OutcomeCount,
    Period,
    Portfolio,
    Retrospective,
    SliceWin,
    Suggestion,
    WeekPoint,
)
from shorts.retro.period import week_start, weeks_of
from shorts.retro.records import (
    HistoryIn,
    RunRecord,
    as_dict,
    as_text,
    finite,
    is_baseline_tag,
    run_records,
)
from shorts.retro.wording import times
from shorts.tracking.store import DEFAULT_UI_URL

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "harvest",
    "history_runs",
    "metric_direction",
    "own_frame",
    "run_link",
]

IMPROVING_POINTS = 3  # a capped run "was still improving" over at least its last 3 points
OUTCOME_ORDER = (
    "completed",
    "pruned",
    *(o.value for o in Outcome if o in CAPPED),  # ``shorts.outcome``: what a cap stopped
    "crashed",
    "interrupted",
    "lost",
    "running",
)
VERDICT_ORDER = ("hit", "miss", "inconclusive", "none", "")

_MINIMISED = frozenset({"rmse", "mse", "mae", "mape", "error", "err", "loss", "logloss", "nll"})
_MAXIMISED = frozenset({"accuracy", "acc", "r2", "auc", "roc_auc", "f1", "uplift"})
_NOT_A_SCORE = frozenset({"std", "var", "count", "completed", "planned", "seconds", "time"})
_TOKENS = re.compile(r"[^a-z0-9]+")
_WHERE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?: in (?P<function>.*))?$")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>.+?)\s*$')
_STDLIB = re.compile(r"(?:^|/)lib/python\d+(?:\.\d+)?/")


def harvest(
    runs: pd.DataFrame,
    period: Period,
    tracking_uri: str,
    histories: HistoryIn | None = None,
    headroom: float = 1.5,
    ui_url: str | None = None,
    tracebacks: Mapping[str, str] | None = None,
    level: float = DEFAULT_LEVEL,
) -> Retrospective:
    """Everything a retrospective reports about ``runs`` (the frame ``load_runs`` returns).

    Args:
        runs: one row per run, with the columns of ``shorts.retro.load.COLUMNS``.
        period: the period the runs were loaded for (labels, weeks of the trend).
        tracking_uri: where the runs live: for links, and to read ``histories`` and
            ``tracebacks`` when they are ``None``.
        histories: ``load_histories`` of the runs ``history_runs`` names. ``{}`` reads nothing:
            no improving-at-cap near misses, and a timeout's need is then a guess.
        headroom: recommended cap = ``headroom`` times what the runs needed.
        ui_url: the MLflow UI run links point at; left out, an ``http(s)`` tracking URI serves
            as its own UI, and an embedded store is linked at ``DEFAULT_UI_URL``.
        tracebacks: ``load_tracebacks`` of crashes recorded outside the short's own code
            (``{}`` reads nothing; the recorded location then stands).
        level: the false discovery rate the quarter's claims are selected at.

    Returns:
        The filled ``Retrospective``; an empty period gives empty sections and a note.
    """
    generated_at = datetime.now(UTC)
    records = run_records(runs)
    if histories is None:
        wanted = history_ids(records)
        histories = load_histories(tracking_uri, wanted) if wanted else {}
    if tracebacks is None:
        tracebacks = _read_tracebacks(tracking_uri, records)
    claims = select_claims(records, level)
    claims_summary = claims.summary()
    slice_wins = _slice_wins(records, claims)
    ledger = _ledger(records)
    base = ui_url or (
        tracking_uri if tracking_uri.startswith(("http://", "https://")) else DEFAULT_UI_URL
    ).rstrip("/")
    cap_advice = cap_lessons(records, histories, headroom)
    fingerprints = _fingerprints(records, tracebacks)
    return Retrospective(
        period=period,
        tracking_uri=tracking_uri,
        generated_at=generated_at,
        portfolio=_portfolio(records, period, generated_at),
        ledger=ledger,
        harvested=_harvested(records),
        slice_wins=slice_wins,
        near_misses=_near_misses(records, histories, claims),
        fingerprints=fingerprints,
        cap_lessons=cap_advice,
        suggestions=_suggestions(records, ledger, claims, slice_wins),
        run_links={r.run_id: run_link(r.run_id, r.experiment_id, base) for r in records},
        notes=[*_notes(records, period), claims_summary] if records else _notes(records, period),
        headroom=headroom,
        lessons=lessons(records, claims, slice_wins, cap_advice, fingerprints),
        run_names={r.run_id: r.run_name for r in records if r.run_name},
        run_experiments={r.run_id: r.experiment_id for r in records},
        run_shorts={r.run_id: r.short for r in records},
        ui_url=base,
        claims=[c.as_dict() for c in claims],
        claims_summary=claims_summary,
        fdr_level=level,
    )


def history_runs(runs: pd.DataFrame) -> list[str]:
    """The runs whose metric histories the analysis reads: those a cap stopped.

    Timeouts and memouts (near misses, and how far a timeout got), and completed runs the soft
    deadline cut short (``folds_completed`` below the folds planned): pass their
    ``load_histories`` to ``harvest``.
    """
    return history_ids(run_records(runs))


def own_frame(traceback_text: str, recorded_where: str = "") -> str | None:
    """``path:line in function`` of the innermost frame of the short's own code in a traceback.

    The short's own code is the project's, outside the ``shorts`` framework and any installed
    library (``site-packages``, the standard library). The project root is found by matching the
    recorded location (relative to the root) against the traceback's absolute paths; without it,
    a frame under an ``experiments/`` folder is the short's. ``None`` when no frame qualifies.
    """
    blocks = traceback_text.split("Traceback (most recent call last):")
    frames = [m.groupdict() for m in map(_FRAME.match, blocks[-1].splitlines()) if m]
    root: str | None = None
    where = _WHERE.match(recorded_where.strip()) if recorded_where else None
    if where is not None:
        relative = where["path"]
        for frame in frames:
            if frame["path"] == relative or frame["path"].endswith("/" + relative):
                root = frame["path"][: len(frame["path"]) - len(relative)]
                break
    found = None
    for frame in frames:
        path = frame["path"]
        if _library_path(path):
            continue
        if root is not None:
            if not path.startswith(root):
                continue
            relative = path[len(root) :]
        else:
            parts = PurePosixPath(path).parts
            if "experiments" not in parts:
                continue
            last = len(parts) - 1 - parts[::-1].index("experiments")
            relative = "/".join(parts[last:])
        if relative.split("/", 1)[0] == "shorts":
            continue  # the framework calling the short, not the short
        found = f"{relative}:{frame['line']} in {frame['function']}"
    return found


def metric_direction(name: str) -> str | None:
    """``minimize`` for rmse/mae/error/loss-like names, ``maximize`` for accuracy/r2/auc-like.

    Decided from the name's words (``fold_rmse``, ``val_loss``, ``rmse_uplift``); ``None`` when
    the name says nothing about a direction (``rmse_std``, ``folds_completed``, ``n_bins``).
    """
    tokens = set(_TOKENS.split(name.lower())) - {""}
    if tokens & _NOT_A_SCORE:
        return None
    if tokens & _MAXIMISED:
        return "maximize"
    if tokens & _MINIMISED:
        return "minimize"
    return None


def run_link(run_id: str, experiment_id: str, ui_url: str | None) -> str:
    """The run's page in the MLflow UI when its address is known, else the run id."""
    if not ui_url:
        return run_id
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _unique(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v})


# -- portfolio ---------------------------------------------------------------------------------


def _portfolio(records: list[RunRecord], period: Period, now: datetime) -> Portfolio:
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.short, r.outcome, r.verdict)].append(r)
    counts = [
        OutcomeCount(
            short=short,
            outcome=outcome,
            verdict=verdict,
            runs=[r.run_id for r in members],
            cpu_hours=sum(r.cpu_hours for r in members),
            wall_hours=sum(r.wall_hours for r in members),
        )
        for (short, outcome, verdict), members in groups.items()
    ]
    counts.sort(
        key=lambda c: (c.short, _rank(OUTCOME_ORDER, c.outcome), _rank(VERDICT_ORDER, c.verdict))
    )
    cpu_hours = sum(r.cpu_hours for r in records)
    failed_cpu = sum(r.cpu_hours for r in records if r.failed)
    return Portfolio(
        total_runs=len(records),
        counts=counts,
        weeks=_weeks(records, period, now),
        cpu_hours=cpu_hours,
        wall_hours=sum(r.wall_hours for r in records),
        failed_cpu_hours=failed_cpu,
        failed_share=failed_cpu / cpu_hours if cpu_hours > 0 else 0.0,
    )


def _weeks(records: list[RunRecord], period: Period, now: datetime) -> list[WeekPoint]:
    """Every week of the period up to now (empty weeks included), plus any week a run fell in.

    An open-ended period (``--until`` alone starts in 1970) begins at the first run's week.
    """
    starts = [r.start for r in records if r.start is not None]
    if not records:
        return []
    clipped = period
    if period.end - period.start > timedelta(days=400) and starts:
        clipped = Period(max(period.start, min(starts)), period.end, period.label)
    not_after = max([now, *starts])
    points = {w: WeekPoint(w, 0, 0, 0.0, 0.0) for w in weeks_of(clipped, not_after)}
    for r in records:
        if r.start is None:
            continue
        week = week_start(r.start)
        point = points.setdefault(week, WeekPoint(week, 0, 0, 0.0, 0.0))
        point.runs += 1
        point.cpu_hours += r.cpu_hours
        if r.failed:
            point.failed += 1
            point.failed_cpu_hours += r.cpu_hours
    return [points[w] for w in sorted(points)]


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


# -- ledger ------------------------------------------------------------------------------------


def _ledger(records: list[RunRecord]) -> list[LedgerRow]:
    rows: dict[str, LedgerRow] = {}
    for r in records:
        for technique in dict.fromkeys(r.techniques):
            row = rows.get(technique)
            if row is None:
                row = rows[technique] = LedgerRow(
                    technique, [], [], [], [], [], [], [], None, None, []
                )
                row.baseline_tag = is_baseline_tag(technique)
            row.runs.append(r.run_id)
            row.shorts.append(r.short)
            row.datasets.append(r.dataset)
            if r.outcome == "completed" and r.verdict == "hit":
                row.hits.append(r.run_id)
            elif r.outcome == "completed" and r.verdict == "miss":
                row.misses.append(r.run_id)
            elif r.outcome == "completed" and r.verdict == "inconclusive":
                row.inconclusive.append(r.run_id)
            elif r.outcome in CAPPED:
                row.capped.append(r.run_id)
            elif r.outcome == "crashed":
                row.crashed.append(r.run_id)
            if row.baseline_tag:
                continue  # the uplift is the tried technique's, not its baseline's
            if finite(r.uplift) and (row.best_uplift is None or r.uplift > row.best_uplift):
                row.best_uplift, row.best_run = r.uplift, r.run_id
    for row in rows.values():
        row.shorts, row.datasets = sorted(set(row.shorts)), _unique(row.datasets)
    return sorted(rows.values(), key=lambda row: (-len(row.runs), row.technique))


# -- harvest -----------------------------------------------------------------------------------


def _harvested(records: list[RunRecord]) -> list[HarvestedItem]:
    """What failed shorts saved with ``ctx.harvest`` (a hit's components are its result)."""
    items = []
    for r in records:
        if not r.failed:
            continue
        for name, item in r.harvest.items():
            item = as_dict(item)
            items.append(
                HarvestedItem(
                    short=r.short,
                    run=r.run_id,
                    name=str(name),
                    kind=as_text(item.get("kind")),
                    type=as_text(item.get("type")),
                    artifact_path=as_text(item.get("path")),
                    evidence=as_dict(item.get("evidence")),
                    outcome=r.outcome,
                    verdict=r.verdict,
                )
            )
    return sorted(items, key=lambda i: (i.short, i.name))  # stable: oldest run first


def _slice_wins(records: list[RunRecord], claims: Claims) -> list[SliceWin]:
    """Selected slice claims of learners that did not hit overall: what a hybrid could use."""
    by_id = {r.run_id: r for r in records}
    wins = []
    for c in claims.selected:
        overall = claims.overall(c)
        if not c.slice or (overall is not None and overall.selected):
            continue
        first = by_id.get(c.runs[0])
        wins.append(
            SliceWin(
                short=c.short,
                run=c.runs[0],
                slice=c.slice,
                metric=c.metric,
                uplift=c.uplift,
                techniques=list(first.techniques) if first else [],
                dataset=c.dataset,
                verdict=overall.verdict.value if overall is not None else "",
                learner=c.learner,
                runs=list(c.runs),
                folds=c.folds,
                interval=c.interval(),
                p_value=c.p_value,
                adjusted_p=c.adjusted,
                command=hybrid_command(c, records),
            )
        )
    return sorted(wins, key=lambda w: -w.uplift)


def _near_misses(records: list[RunRecord], histories: HistoryIn, claims: Claims) -> list[NearMiss]:
    noise = []
    alpha = claims.settling_alpha()
    for c in claims:
        if c.selected or c.slice or not c.uplift > c.margin:
            continue
        needed = settling_folds(c, alpha)
        if needed is None:
            continue  # out of reach of more folds: it needs more data, or it is noise
        low, high = c.interval()
        noise.append(
            NearMiss(
                short=c.short if c.learner == "model" else f"{c.short} ({c.learner})",
                run=c.runs[0],
                kind="within-noise",
                detail=f"better than the baseline by {c.uplift:+.1%} (95% interval {low:+.1%} "
                f"to {high:+.1%}) over {len(c.runs)} run(s) and {c.folds} folds on "
                f"{c.dataset}; about {needed} folds in all ({needed - c.folds} more, e.g. "
                f"cv.repeats) would settle it at this effect",
                metric=record.UPLIFT,
                last_values=[c.uplift],
            )
        )
    noise.sort(key=lambda m: -m.last_values[0])
    capped = []
    for r in records:
        if r.outcome not in CAPPED:
            continue
        found = _still_improving(histories.get(r.run_id) or {})
        if found is None:
            continue
        metric, values = found
        kind = kind_of(r.outcome)
        cap = kind.noun if kind is not None else r.outcome
        trail = " → ".join(f"{v:.4g}" for v in values)
        capped.append(
            NearMiss(
                short=r.short,
                run=r.run_id,
                kind="improving-at-cap",
                detail=f"stopped by its {cap} cap ({r.outcome}) while {metric} was still "
                f"improving over its last {len(values)} points: {trail}",
                metric=metric,
                last_values=values,
            )
        )
    return noise + capped


def _still_improving(
    history: Mapping[str, Sequence[Sequence[float]]],
) -> tuple[str, list[float]] | None:
    """The first of the short's own scores whose last 3+ logged values each improved.

    The baseline's series and ``shorts.*`` bookkeeping are not the short's progress; per-fold
    scores (``fold_*``) are looked at last, since folds are not a learning curve.
    """
    keys = sorted(
        (k for k in history if not k.startswith((record.PREFIX, "baseline_"))),
        key=lambda k: (k.startswith("fold_"), k),
    )
    for key in keys:
        direction = metric_direction(key)
        if direction is None:
            continue
        values = [float(p[1]) for p in history[key] if len(p) > 1 and finite(float(p[1]))]
        sign = 1.0 if direction == "minimize" else -1.0
        better = [sign * (b - a) > 1e-12 * max(abs(b), 1.0) for b, a in pairwise(values)]
        run = 1 + next((n for n, ok in enumerate(reversed(better)) if not ok), len(better))
        if run >= IMPROVING_POINTS:
            return key, values[-min(run, 5) :]
    return None


def _library_path(path: str) -> bool:
    """An installed library's or the standard library's file, or a frozen module."""
    parts = PurePosixPath(path).parts
    return (
        path.startswith("<")
        or "site-packages" in parts
        or "dist-packages" in parts
        or _STDLIB.search(path) is not None
    )


def _needs_traceback(r: RunRecord) -> bool:
    """A crash whose recorded ``path:line in function`` is not in the short's own code."""
    match = _WHERE.match(r.error_where.strip())
    path = match["path"] if match else r.error_where
    own = not _library_path(path) and path.split("/", 1)[0] != "shorts"
    return r.outcome == "crashed" and bool(r.error_type) and not own


def _read_tracebacks(tracking_uri: str, records: list[RunRecord]) -> dict[str, str]:
    """Tracebacks of crashes recorded with a location outside the short's code (best effort)."""
    wanted = [r.run_id for r in records if _needs_traceback(r)]
    if not wanted:
        return {}
    try:
        return load_tracebacks(tracking_uri, wanted)
    except Exception:  # an unreachable store: the recorded locations stand
        return {}


def _fingerprints(records: list[RunRecord], tracebacks: Mapping[str, str]) -> list[Fingerprint]:
    """Crashes grouped by exception type and the innermost frame of the short's own code.

    The runner records the innermost frame under the project root; when that is a library's
    (a virtualenv inside the project), the run's saved traceback gives the short's own frame.
    A crash that recorded no exception (killed by a signal, exited without a result) has an empty
    ``error_type`` and is grouped by the first line of its reason, which stands in for ``where``.
    """
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.outcome != "crashed":
            continue
        if r.error_type:
            text = tracebacks.get(r.run_id) if _needs_traceback(r) else None
            key = (
                r.error_type,
                (own_frame(text, r.error_where) if text else None) or r.error_where,
            )
        else:
            lines = r.reason.strip().splitlines()
            key = ("", lines[0][:300] if lines else "")
        groups[key].append(r)
    prints = [
        Fingerprint(
            error_type=error_type,
            where=where,
            count=len(members),
            shorts=_unique(m.short for m in members),
            example_run=members[-1].run_id,
            example_reason=members[-1].reason,
            runs=[m.run_id for m in members],
        )
        for (error_type, where), members in groups.items()
    ]
    return sorted(prints, key=lambda f: (-f.count, f.error_type, f.where))


# -- suggestions and notes ---------------------------------------------------------------------


def _suggestions(
    records: list[RunRecord], ledger: list[LedgerRow], claims: Claims, slice_wins: list[SliceWin]
) -> list[Suggestion]:
    """Techniques with a selected claim (a hit or a slice win), not yet tried on like data sets.

    Only selected claims count: a single run's hit is what noise looks like when many runs are
    made. A technique is suggested only for data sets of the kind of problem it helped on (a
    reframing for ordered classes says nothing about continuous targets), among those some run
    of the period used, so a suggestion never names data nobody here has loaded.
    """
    by_id = {r.run_id: r for r in records}
    tasks: dict[str, set[str]] = defaultdict(set)  # data set -> its declared kinds
    for r in records:
        if r.dataset:
            tasks[r.dataset].add(r.task)
    hits: dict[str, list[str]] = defaultdict(list)
    for c in claims.selected:
        if c.slice:
            continue
        first = by_id.get(c.runs[0])
        for technique in dict.fromkeys(first.techniques if first else []):
            hits[technique].extend(run for run in c.runs if run not in hits[technique])
    slices: dict[str, list[str]] = defaultdict(list)
    for w in slice_wins:
        for technique in dict.fromkeys(w.techniques):
            slices[technique].extend(run for run in w.runs if run not in slices[technique])
    suggestions = []
    for row in ledger:
        if row.baseline_tag:
            continue
        evidence_runs = [*hits[row.technique], *slices[row.technique]]
        if not evidence_runs:
            continue
        helped_tasks = {by_id[run].solved_as for run in evidence_runs if run in by_id}
        untried = sorted(d for d in tasks if d not in row.datasets and tasks[d] & helped_tasks)
        if not untried:
            continue
        parts = []
        if hits[row.technique]:
            parts.append(
                f"a hit pooled over {times(len(hits[row.technique]), 'run')}"
                + _on(hits[row.technique], by_id)
            )
        if slices[row.technique]:
            runs = slices[row.technique]
            parts.append(
                f"slice wins over the baseline pooled over {times(len(runs), 'run')}"
                + _on(runs, by_id)
            )
        suggestions.append(
            Suggestion(
                technique=row.technique,
                evidence=", ".join(parts),
                runs=list(dict.fromkeys(evidence_runs)),
                tried_on=list(row.datasets),
                untried_datasets=untried,
                tasks=sorted({t for d in untried for t in tasks[d] & helped_tasks if t}),
            )
        )
    return sorted(suggestions, key=lambda s: (-len(s.runs), s.technique))


def _on(runs: list[str], by_id: dict[str, RunRecord]) -> str:
    """`` on diabetes, fair`` for the data sets of ``runs`` (those where it was measured)."""
    datasets = _unique(by_id[run].dataset for run in runs if run in by_id)
    return f" on {', '.join(datasets)}" if datasets else ""


def _notes(records: list[RunRecord], period: Period) -> list[str]:
    if not records:
        return [f"No runs in {period.label}."]
    notes = []
    foreign = sum(1 for r in records if record.SHORT not in r.tags)
    if foreign:
        notes.append(
            f"{times(foreign, 'run')} from other tools (no shorts tags) "
            f"{'counts' if foreign == 1 else 'count'} in the portfolio by MLflow status only."
        )
    running = sum(1 for r in records if r.outcome == record.RUNNING)
    if running:
        notes.append(
            f"{times(running, 'run')} still marked running; if the supervisor is gone, "
            f"`shorts repair` closes them as lost."
        )
    return notes
