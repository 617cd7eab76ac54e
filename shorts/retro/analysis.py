"""From a period's runs to a ``Retrospective``: portfolio, ledger, harvest, suggestions.

The input is the frame ``load_runs`` builds (one row per run); the analysis asks MLflow nothing
more, except metric histories of capped runs when the caller did not pass them. It is one pass
over the rows into plain Python records, then each section from those records, so 10,000 runs
cost well under a second here: the fetch, not the analysis, is what a retrospective waits for.

What counts as failed (``timeout``, ``memout``, ``crashed``, ``lost``, or completed with verdict
``miss``) is the same everywhere, so the price of exploration (the failed share of CPU-hours),
the weekly trend and the ledger agree with each other.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from shorts.caps import format_duration, format_size
from shorts.retro.load import COLUMNS, load_histories
from shorts.retro.model import (
    CapLesson,
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

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FAILED_OUTCOMES", "failed", "harvest", "metric_direction", "run_link"]

FAILED_OUTCOMES = frozenset({"timeout", "memout", "crashed", "lost"})
CAPPED_OUTCOMES = frozenset({"timeout", "memout"})
UNDERUSED_FRACTION = 0.10
IMPROVING_POINTS = 3  # a capped run "was still improving" over at least its last 3 points
OUTCOME_ORDER = (
    "completed",
    "pruned",
    "timeout",
    "memout",
    "crashed",
    "interrupted",
    "lost",
    "running",
)
VERDICT_ORDER = ("hit", "miss", "inconclusive", "none", "")

_MINIMISED = frozenset({"rmse", "mse", "mae", "mape", "error", "err", "loss", "logloss", "nll"})
_MAXIMISED = frozenset({"accuracy", "acc", "r2", "auc", "roc_auc", "f1", "uplift"})
_NOT_A_SCORE = frozenset({"std", "var", "count", "completed", "planned", "seconds", "time"})
_SLICE = re.compile(r"^slice_(q[1-4])_(.+)$")
_TOKENS = re.compile(r"[^a-z0-9]+")


class _Run(NamedTuple):
    """One row of the frame as plain Python values (NaN for a missing figure)."""

    run_id: str
    experiment_id: str
    short: str
    outcome: str
    verdict: str
    start: datetime | None
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    caps_wall_seconds: float
    caps_memory_mib: float
    uplift: float
    p_value: float
    techniques: list[str]
    dataset: str
    reason: str
    error_type: str
    error_where: str
    harvest: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]

    @property
    def failed(self) -> bool:
        return failed(self.outcome, self.verdict)

    @property
    def cpu_hours(self) -> float:
        return _or0(self.cpu_seconds) / 3600.0

    @property
    def wall_hours(self) -> float:
        return _or0(self.wall_seconds) / 3600.0


def harvest(
    runs: pd.DataFrame,
    period: Period,
    tracking_uri: str,
    histories: dict[str, dict[str, list[tuple[int, float]]]] | None = None,
    headroom: float = 1.5,
    ui_url: str | None = None,
) -> Retrospective:
    """Everything a retrospective reports about ``runs`` (the frame ``load_runs`` returns).

    Args:
        runs: one row per run, with the columns of ``shorts.retro.load.COLUMNS``.
        period: the period the runs were loaded for (labels, weeks of the trend).
        tracking_uri: where the runs live: for links, and to read capped runs' metric histories
            when ``histories`` is ``None``.
        histories: ``load_histories`` of the timeout and memout runs (``{}`` skips the
            improving-at-cap near misses without reading anything).
        headroom: recommended cap = ``headroom`` times the observed peak.
        ui_url: the MLflow UI (e.g. ``http://127.0.0.1:5000``) run links point at; an
            ``http(s)`` tracking URI serves as its own UI when this is left out.

    Returns:
        The filled ``Retrospective``; an empty period gives empty sections and a note.
    """
    generated_at = datetime.now(UTC)
    records = _records(runs)
    if histories is None:
        capped = [r.run_id for r in records if r.outcome in CAPPED_OUTCOMES]
        histories = load_histories(tracking_uri, capped) if capped else {}
    slice_wins = _slice_wins(records)
    ledger = _ledger(records)
    base = ui_url or (tracking_uri if tracking_uri.startswith(("http://", "https://")) else None)
    return Retrospective(
        period=period,
        tracking_uri=tracking_uri,
        generated_at=generated_at,
        portfolio=_portfolio(records, period, generated_at),
        ledger=ledger,
        harvested=_harvested(records),
        slice_wins=slice_wins,
        near_misses=_near_misses(records, histories),
        fingerprints=_fingerprints(records),
        cap_lessons=_cap_lessons(records, headroom),
        suggestions=_suggestions(records, ledger, slice_wins),
        run_links={r.run_id: run_link(r.run_id, r.experiment_id, base) for r in records},
        notes=_notes(records, period),
    )


def failed(outcome: str, verdict: str) -> bool:
    """Timeout, memout, crashed, lost, or completed with verdict miss."""
    return outcome in FAILED_OUTCOMES or (outcome == "completed" and verdict == "miss")


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


# -- rows --------------------------------------------------------------------------------------


def _records(runs: pd.DataFrame) -> list[_Run]:
    """The frame as ``_Run`` records, tolerating missing columns and NaN where a value belongs."""
    import pandas as pd

    if len(runs) == 0:
        return []
    frame = runs.reindex(columns=list(COLUMNS))
    starts = pd.to_datetime(frame["start_time"], utc=True)
    columns = {name: frame[name].tolist() for name in COLUMNS}
    records = []
    for i, start in enumerate(starts):
        records.append(
            _Run(
                run_id=str(columns["run_id"][i]),
                experiment_id=_text(columns["experiment_id"][i]),
                short=_text(columns["short"][i]) or _text(columns["experiment"][i]),
                outcome=_text(columns["outcome"][i]),
                verdict=_text(columns["verdict"][i]),
                start=None if pd.isna(start) else start.to_pydatetime(),
                wall_seconds=_float(columns["wall_seconds"][i]),
                cpu_seconds=_float(columns["cpu_seconds"][i]),
                peak_rss_mib=_float(columns["peak_rss_mib"][i]),
                caps_wall_seconds=_float(columns["caps_wall_seconds"][i]),
                caps_memory_mib=_float(columns["caps_memory_mib"][i]),
                uplift=_float(columns["uplift"][i]),
                p_value=_float(columns["p_value"][i]),
                techniques=_list(columns["techniques"][i]),
                dataset=_text(columns["dataset"][i]),
                reason=_text(columns["reason"][i]),
                error_type=_text(columns["error_type"][i]),
                error_where=_text(columns["error_where"][i]),
                harvest=_dict(columns["harvest"][i]),
                metrics=_dict(columns["metrics"][i]),
                tags=_dict(columns["tags"][i]),
            )
        )
    return records


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _finite(value: float) -> bool:
    return not math.isnan(value) and not math.isinf(value)


def _or0(value: float) -> float:
    return value if _finite(value) else 0.0


def _unique(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v})


# -- portfolio ---------------------------------------------------------------------------------


def _portfolio(records: list[_Run], period: Period, now: datetime) -> Portfolio:
    groups: dict[tuple[str, str, str], list[_Run]] = defaultdict(list)
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


def _weeks(records: list[_Run], period: Period, now: datetime) -> list[WeekPoint]:
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
        point = points.get(week)
        if point is None:
            point = points[week] = WeekPoint(week, 0, 0, 0.0, 0.0)
        point.runs += 1
        point.cpu_hours += r.cpu_hours
        if r.failed:
            point.failed += 1
            point.failed_cpu_hours += r.cpu_hours
    return [points[w] for w in sorted(points)]


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


# -- ledger ------------------------------------------------------------------------------------


def _ledger(records: list[_Run]) -> list[LedgerRow]:
    rows: dict[str, LedgerRow] = {}
    datasets: dict[str, set[str]] = defaultdict(set)
    shorts: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for technique in dict.fromkeys(r.techniques):
            row = rows.get(technique)
            if row is None:
                row = rows[technique] = LedgerRow(
                    technique, [], [], [], [], [], [], [], None, None, []
                )
            row.runs.append(r.run_id)
            shorts[technique].add(r.short)
            if r.dataset:
                datasets[technique].add(r.dataset)
            if r.outcome == "completed" and r.verdict == "hit":
                row.hits.append(r.run_id)
            elif r.outcome == "completed" and r.verdict == "miss":
                row.misses.append(r.run_id)
            elif r.outcome == "completed" and r.verdict == "inconclusive":
                row.inconclusive.append(r.run_id)
            elif r.outcome in CAPPED_OUTCOMES:
                row.capped.append(r.run_id)
            elif r.outcome == "crashed":
                row.crashed.append(r.run_id)
            if _finite(r.uplift) and (row.best_uplift is None or r.uplift > row.best_uplift):
                row.best_uplift, row.best_run = r.uplift, r.run_id
    for technique, row in rows.items():
        row.shorts = sorted(shorts[technique])
        row.datasets = sorted(datasets[technique])
    return sorted(rows.values(), key=lambda row: (-len(row.runs), row.technique))


# -- harvest -----------------------------------------------------------------------------------


def _harvested(records: list[_Run]) -> list[HarvestedItem]:
    items = []
    for r in records:
        for name, item in r.harvest.items():
            item = _dict(item)
            items.append(
                HarvestedItem(
                    short=r.short,
                    run=r.run_id,
                    name=str(name),
                    kind=_text(item.get("kind")),
                    type=_text(item.get("type")),
                    artifact_path=_text(item.get("path")),
                    evidence=_dict(item.get("evidence")),
                    outcome=r.outcome,
                    verdict=r.verdict,
                )
            )
    return sorted(items, key=lambda i: (i.short, i.name))  # stable: oldest run first


def _slice_wins(records: list[_Run]) -> list[SliceWin]:
    """Quartile slices where a short that missed (or was inconclusive) beat its baseline."""
    wins = []
    for r in records:
        if r.verdict not in ("miss", "inconclusive"):
            continue
        for key, raw in r.metrics.items():
            match = _SLICE.match(key)
            if match is None:
                continue
            quartile, metric = match.groups()
            direction = metric_direction(metric)
            value = _float(raw)
            baseline = _float(r.metrics.get(f"baseline_{key}"))
            if direction is None or not (_finite(value) and _finite(baseline)):
                continue
            sign = 1.0 if direction == "minimize" else -1.0
            uplift = sign * (baseline - value) / (abs(baseline) or 1.0)
            if uplift > 0:
                wins.append(
                    SliceWin(
                        short=r.short,
                        run=r.run_id,
                        slice=quartile,
                        metric=metric,
                        value=value,
                        baseline=baseline,
                        uplift=uplift,
                        techniques=list(r.techniques),
                        dataset=r.dataset,
                    )
                )
    return sorted(wins, key=lambda w: -w.uplift)


def _near_misses(
    records: list[_Run], histories: dict[str, dict[str, list[tuple[int, float]]]]
) -> list[NearMiss]:
    noise = []
    for r in records:
        if r.verdict == "inconclusive" and _finite(r.uplift) and r.uplift > 0:
            p = f", p={r.p_value:.2g}" if _finite(r.p_value) else ""
            noise.append(
                NearMiss(
                    short=r.short,
                    run=r.run_id,
                    kind="within-noise",
                    detail=f"better than the baseline by {r.uplift:+.1%}{p}, "
                    f"but within fold-to-fold noise: more folds or data may settle it",
                    metric="shorts.uplift",
                    last_values=[r.uplift],
                )
            )
    noise.sort(key=lambda m: -m.last_values[0])
    capped = []
    for r in records:
        if r.outcome not in CAPPED_OUTCOMES:
            continue
        found = _still_improving(histories.get(r.run_id) or {})
        if found is None:
            continue
        metric, values = found
        cap = "wall-time" if r.outcome == "timeout" else "memory"
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


def _still_improving(history: dict[str, list[tuple[int, float]]]) -> tuple[str, list[float]] | None:
    """The first of the short's own scores whose last 3+ logged values each improved.

    The baseline's series and ``shorts.*`` bookkeeping are not the short's progress; per-fold
    scores (``fold_*``) are looked at last, since folds are not a learning curve.
    """
    keys = sorted(
        (k for k in history if not k.startswith(("shorts.", "baseline_"))),
        key=lambda k: (k.startswith("fold_"), k),
    )
    for key in keys:
        direction = metric_direction(key)
        if direction is None:
            continue
        values = [v for _, v in history[key] if _finite(v)]
        sign = 1.0 if direction == "minimize" else -1.0
        run = 1
        for before, after in zip(reversed(values[:-1]), reversed(values[1:]), strict=True):
            tolerance = 1e-12 * max(abs(before), 1.0)
            if sign * (before - after) > tolerance:
                run += 1
            else:
                break
        if run >= IMPROVING_POINTS:
            return key, values[-min(run, 5) :]
    return None


def _fingerprints(records: list[_Run]) -> list[Fingerprint]:
    """Crashes grouped by exception type and innermost own frame.

    A crash that recorded no exception (killed by a signal, exited without a result) has an empty
    ``error_type`` and is grouped by the first line of its reason, which stands in for ``where``.
    """
    groups: dict[tuple[str, str], list[_Run]] = defaultdict(list)
    for r in records:
        if r.outcome != "crashed":
            continue
        if r.error_type:
            key = (r.error_type, r.error_where)
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


# -- caps --------------------------------------------------------------------------------------


def _cap_lessons(records: list[_Run], headroom: float) -> list[CapLesson]:
    by_short: dict[str, list[_Run]] = defaultdict(list)
    for r in records:
        by_short[r.short].append(r)
    lessons = []
    for short, members in sorted(by_short.items()):
        has_caps = any(_finite(r.caps_wall_seconds) or _finite(r.caps_memory_mib) for r in members)
        if has_caps or any(r.outcome in CAPPED_OUTCOMES for r in members):
            lessons.append(_cap_lesson(short, members, headroom))
    return lessons


def _cap_lesson(short: str, runs: list[_Run], headroom: float) -> CapLesson:
    """Peaks against caps for one short, and caps that would have fitted with ``headroom``.

    A memout's real peak is unknown but at least its cap, and a timeout's wall time at least its
    cap. For a timeout the recommendation is ``headroom`` times the longer of the longest
    completed run and the cap it hit: a cap below the one that just timed out would only repeat
    the timeout.
    """
    timeouts = [r for r in runs if r.outcome == "timeout"]
    memouts = [r for r in runs if r.outcome == "memout"]
    wall_cap = _latest(r.caps_wall_seconds for r in runs)
    memory_cap = _latest(r.caps_memory_mib for r in runs)
    peak_wall = _max(
        max(r.wall_seconds, r.caps_wall_seconds) if r.outcome == "timeout" else r.wall_seconds
        for r in runs
    )
    peak_memory = _max(
        max(r.peak_rss_mib, r.caps_memory_mib) if r.outcome == "memout" else r.peak_rss_mib
        for r in runs
    )
    if timeouts:
        longest_completed = _max(r.wall_seconds for r in runs if r.outcome == "completed")
        timeout_cap = _max(r.caps_wall_seconds for r in timeouts)
        need_wall = _max([longest_completed or math.nan, timeout_cap or math.nan])
        if need_wall is None:  # no cap tag on the timeouts: fall back to what they ran
            need_wall = _max(r.wall_seconds for r in timeouts)
    else:
        need_wall = peak_wall
    recommended_wall = math.ceil(headroom * need_wall) if need_wall is not None else None
    recommended_memory = math.ceil(headroom * peak_memory) if peak_memory is not None else None
    underused = bool(runs) and all(_underused(r) for r in runs)
    return CapLesson(
        short=short,
        runs=[r.run_id for r in runs],
        timeouts=[r.run_id for r in timeouts],
        memouts=[r.run_id for r in memouts],
        wall_cap_seconds=wall_cap,
        memory_cap_mib=memory_cap,
        observed_peak_wall_seconds=peak_wall,
        observed_peak_memory_mib=peak_memory,
        recommended_wall_seconds=float(recommended_wall) if recommended_wall is not None else None,
        recommended_memory_mib=(
            float(recommended_memory) if recommended_memory is not None else None
        ),
        underused=underused,
        note=_cap_note(
            len(timeouts),
            len(memouts),
            _max(r.caps_wall_seconds for r in timeouts) or wall_cap,
            _max(r.caps_memory_mib for r in memouts) or memory_cap,
            recommended_wall,
            recommended_memory,
            underused,
        ),
    )


def _underused(r: _Run) -> bool:
    """Under 10% of both caps; a run whose use of either cap is unknown does not count."""
    wall = _float(r.metrics.get("shorts.cap_used.wall_time"))
    if not _finite(wall) and _finite(r.caps_wall_seconds) and r.caps_wall_seconds > 0:
        wall = r.wall_seconds / r.caps_wall_seconds
    memory = _float(r.metrics.get("shorts.cap_used.memory"))
    if not _finite(memory) and _finite(r.caps_memory_mib) and r.caps_memory_mib > 0:
        memory = r.peak_rss_mib / r.caps_memory_mib
    return (
        _finite(wall)
        and _finite(memory)
        and wall < UNDERUSED_FRACTION
        and memory < UNDERUSED_FRACTION
    )


def _cap_note(
    timeouts: int,
    memouts: int,
    wall_cap: float | None,
    memory_cap: float | None,
    recommended_wall: int | None,
    recommended_memory: int | None,
    underused: bool,
) -> str:
    parts = []
    if memouts:
        at = f" at {_mib(memory_cap)}" if memory_cap else ""
        fit = f"; {_mib(recommended_memory)} would have fitted" if recommended_memory else ""
        parts.append(f"{_times(memouts, 'memout')}{at}{fit}")
    if timeouts:
        at = f" at {format_duration(wall_cap)}" if wall_cap else ""
        fit = f"; try {format_duration(recommended_wall)}" if recommended_wall else ""
        parts.append(f"{_times(timeouts, 'timeout')}{at}{fit}")
    if underused and recommended_wall and recommended_memory:
        parts.append(
            f"every run used under 10% of its caps; {format_duration(recommended_wall)} and "
            f"{_mib(recommended_memory)} would do"
        )
    return "; ".join(parts) + "." if parts else ""


def _mib(mib: float | None) -> str:
    return format_size((mib or 0.0) * 2**20)


def _times(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _latest(values: Iterable[float]) -> float | None:
    """The last finite value (rows are oldest first, so the cap now in force)."""
    found = None
    for value in values:
        if _finite(value):
            found = value
    return found


def _max(values: Iterable[float]) -> float | None:
    finite = [v for v in values if _finite(v)]
    return max(finite) if finite else None


# -- suggestions and notes ---------------------------------------------------------------------


def _suggestions(
    records: list[_Run], ledger: list[LedgerRow], slice_wins: list[SliceWin]
) -> list[Suggestion]:
    """Techniques with a hit, a slice win or a positive uplift, not yet tried on other data sets.

    "Other data sets" are those some run of the period used, so a suggestion never names data
    nobody here has loaded.
    """
    seen = set(_unique(r.dataset for r in records))
    evidence: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        for technique in r.techniques:
            if r.outcome == "completed" and r.verdict == "hit":
                evidence[technique]["hit"].append(r.run_id)
    for w in slice_wins:
        for technique in w.techniques:
            evidence[technique]["slice"].append(w.run)
    suggestions = []
    for row in ledger:
        found = evidence.get(row.technique, {})
        positive_uplift = row.best_uplift is not None and row.best_uplift > 0
        if not found and not positive_uplift:
            continue
        untried = sorted(seen - set(row.datasets))
        if not untried:
            continue
        parts = []
        if found.get("hit"):
            parts.append(_times(len(found["hit"]), "hit"))
        if found.get("slice"):
            parts.append(f"{_times(len(found['slice']), 'slice win')} over the baseline")
        if positive_uplift and row.best_uplift is not None:
            parts.append(f"best uplift {row.best_uplift:+.1%}")
        on = f" on {', '.join(row.datasets)}" if row.datasets else ""
        runs = list(dict.fromkeys([*found.get("hit", []), *found.get("slice", [])]))
        if positive_uplift and row.best_run is not None and row.best_run not in runs:
            runs.append(row.best_run)
        suggestions.append(
            Suggestion(
                technique=row.technique,
                evidence=", ".join(parts) + on,
                runs=runs,
                tried_on=list(row.datasets),
                untried_datasets=untried,
            )
        )
    return sorted(suggestions, key=lambda s: (-len(s.runs), s.technique))


def _notes(records: list[_Run], period: Period) -> list[str]:
    if not records:
        return [f"No runs in {period.label}."]
    notes = []
    foreign = sum(1 for r in records if "shorts.short" not in r.tags)
    if foreign:
        notes.append(
            f"{_times(foreign, 'run')} from other tools (no shorts tags) "
            f"{'counts' if foreign == 1 else 'count'} in the portfolio by MLflow status only."
        )
    running = sum(1 for r in records if r.outcome == "running")
    if running:
        notes.append(
            f"{_times(running, 'run')} still marked running; if the supervisor is gone, "
            f"`shorts repair` closes them as lost."
        )
    return notes
