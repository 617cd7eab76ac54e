"""From a period's runs to a ``Retrospective``: portfolio, ledger, harvest, suggestions.

The input is the frame ``load_runs`` builds (one row per run); the analysis asks MLflow nothing
more, except metric histories of capped runs when the caller did not pass them. It is one pass
over the rows into plain Python records, then each section from those records, so 10,000 runs
cost well under a second here: the fetch, not the analysis, is what a retrospective waits for.

What counts as a failed short is defined once (``shorts.retro.model.is_failed``: any run that did
not end as a hit, short of runs without a verdict, pruned trials and running ones) and used
everywhere: the price of exploration (the failed share of CPU-hours), the weekly trend, the
headline and the harvest, whose every row comes from a failed short.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from shorts.caps import format_duration, format_size
from shorts.requirements import task_of
from shorts.retro.load import COLUMNS, load_histories, load_tracebacks
from shorts.retro.model import (
    FAILED_OUTCOMES,
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
    is_failed,
)
from shorts.retro.period import week_start, weeks_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAPPED_OUTCOMES",
    "FAILED_OUTCOMES",
    "GUESS_FACTOR",
    "dataset_label",
    "failed",
    "harvest",
    "history_runs",
    "metric_direction",
    "own_frame",
    "run_link",
]

# A run's metric history: (step, value) or (step, value, timestamp in ms) points per key.
HistoryIn = Mapping[str, Mapping[str, Sequence[Sequence[float]]]]

CAPPED_OUTCOMES = frozenset({"timeout", "memout"})
# A timeout that logged no progress needed more than it ran, by an unknown amount: the advice is
# then a guess of at least this many times what it ran (or the headroom, if larger).
GUESS_FACTOR = 2.0
SIZE_KNOBS = ("n_samples",)  # dataset params that change what a run needs, besides its name
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
_WHERE = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?: in (?P<function>.*))?$")
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>.+?)\s*$')
_STDLIB = re.compile(r"(?:^|/)lib/python\d+(?:\.\d+)?/")
_UNSET = frozenset({"", "null", "none", "???"})
_CLASSIFIERS = frozenset(
    {"LogisticRegression", "LogisticRegressionCV", "SVC", "LinearSVC", "NuSVC", "RidgeClassifier"}
)


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
    params: dict[str, str]
    tags: dict[str, str]
    dataset_config: str  # the data set with its size knobs: what a cap lesson is grouped by
    task: str  # the data set's declared kind: regression, classification, or "" (no data set)
    solved_as: str  # the kind the short treated it as (a classifier baseline: classification)

    @property
    def failed(self) -> bool:
        return is_failed(self.outcome, self.verdict)

    @property
    def start_ms(self) -> float | None:
        return self.start.timestamp() * 1000.0 if self.start is not None else None

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
    histories: HistoryIn | None = None,
    headroom: float = 1.5,
    ui_url: str | None = None,
    tracebacks: Mapping[str, str] | None = None,
) -> Retrospective:
    """Everything a retrospective reports about ``runs`` (the frame ``load_runs`` returns).

    Args:
        runs: one row per run, with the columns of ``shorts.retro.load.COLUMNS``.
        period: the period the runs were loaded for (labels, weeks of the trend).
        tracking_uri: where the runs live: for links, and to read what ``histories`` and
            ``tracebacks`` leave out when they are ``None``.
        histories: ``load_histories`` of the runs ``history_runs`` names (those a cap stopped),
            points as ``(step, value, ms)`` or ``(step, value)``. ``{}`` reads nothing: no
            improving-at-cap near misses, and a timeout's need is then a guess.
        headroom: recommended cap = ``headroom`` times what the runs needed.
        ui_url: the MLflow UI (e.g. ``http://127.0.0.1:5000``) run links point at; an
            ``http(s)`` tracking URI serves as its own UI when this is left out.
        tracebacks: ``load_tracebacks`` of crashes whose recorded location is not the short's
            own code (``{}`` reads nothing; the recorded location then stands).

    Returns:
        The filled ``Retrospective``; an empty period gives empty sections and a note.
    """
    generated_at = datetime.now(UTC)
    records = _records(runs)
    if histories is None:
        wanted = _history_ids(records)
        histories = load_histories(tracking_uri, wanted) if wanted else {}
    if tracebacks is None:
        tracebacks = _read_tracebacks(tracking_uri, records)
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
        fingerprints=_fingerprints(records, tracebacks),
        cap_lessons=_cap_lessons(records, histories, headroom),
        suggestions=_suggestions(records, ledger, slice_wins),
        run_links={r.run_id: run_link(r.run_id, r.experiment_id, base) for r in records},
        notes=_notes(records, period),
        headroom=headroom,
    )


def failed(outcome: str, verdict: str) -> bool:
    """Whether the run is a failed short: ``shorts.retro.model.is_failed``."""
    return is_failed(outcome, verdict)


def history_runs(runs: pd.DataFrame) -> list[str]:
    """The runs whose metric histories the analysis reads: those a cap stopped.

    Timeouts and memouts (near misses, and how far a timeout got), and completed runs the soft
    deadline cut short (``folds_completed`` below the folds planned): pass their
    ``load_histories`` to ``harvest``.
    """
    return _history_ids(_records(runs))


def dataset_label(dataset: str, params: Mapping[str, str]) -> str:
    """The data set a run used, with what sets its size: ``friedman1 (n_samples=20000)``.

    ``dataset`` is the run's ``shorts.dataset`` tag (the config choice); a generic source's own
    name or file (``statsmodels:longley``, ``file:data/houses.csv``) and the size knobs
    (``SIZE_KNOBS``) are added from the run's params.
    """
    name = _param(params, "dataset.name")
    path = _param(params, "dataset.path")
    base = dataset or name
    if path and (dataset == "file" or _param(params, "dataset.source") == "file"):
        base = f"{base}:{path}" if base else path
    elif name and dataset and name not in dataset:
        base = f"{dataset}:{name}"
    knobs = [f"{k}={v}" for k in SIZE_KNOBS if (v := _param(params, f"dataset.{k}"))]
    return f"{base} ({', '.join(knobs)})" if base and knobs else base


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
        params = {str(k): str(v) for k, v in _dict(columns["params"][i]).items()}
        dataset = _text(columns["dataset"][i])
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
                dataset=dataset,
                reason=_text(columns["reason"][i]),
                error_type=_text(columns["error_type"][i]),
                error_where=_text(columns["error_where"][i]),
                harvest=_dict(columns["harvest"][i]),
                metrics=_dict(columns["metrics"][i]),
                params=params,
                tags=_dict(columns["tags"][i]),
                dataset_config=dataset_label(dataset, params),
                task=_task(dataset, params),
                solved_as=_solved_as(dataset, params),
            )
        )
    return records


def _param(params: Mapping[str, str], key: str) -> str:
    """A param's value, or ``""`` when it is missing or unset (``null``, ``???``)."""
    value = str(params.get(key, "")).strip()
    return "" if value.lower() in _UNSET else value


def _task(dataset: str, params: Mapping[str, str]) -> str:
    """Regression or classification, as the data set config says (``task``, or ``bins``)."""
    if not (dataset or any(k.startswith("dataset.") for k in params)):
        return ""
    declared = {
        "task": _param(params, "dataset.task").lower(),
        "bins": _param(params, "dataset.bins"),
    }
    return task_of(declared)


def _solved_as(dataset: str, params: Mapping[str, str]) -> str:
    """The kind of problem the run solved: its data set's, or classification when the short
    compared itself with a classifier (``baseline._target_``), which predicts classes whatever
    the data set declares (an ordinal reframing on a data set with an integer target)."""
    declared = _task(dataset, params)
    if declared == "classification":
        return declared
    for key in ("baseline._target_", "model._target_"):
        name = _param(params, key).rsplit(".", 1)[-1]
        if name.endswith(("Classifier", "ClassifierCV", "NB")) or name in _CLASSIFIERS:
            return "classification"
    return declared


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


def _is_baseline_tag(technique: str) -> bool:
    """A tag naming the baseline side of the comparison (``linear-baseline``), not a technique.

    Techniques are free-form tags and the baseline's are not marked apart, so the convention is
    the word: a tag with ``baseline`` among its words describes what a short is compared with.
    """
    return "baseline" in _TOKENS.split(technique.lower())


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
                row.baseline_tag = _is_baseline_tag(technique)
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
            if row.baseline_tag:
                continue  # the uplift is the tried technique's, not its baseline's
            if _finite(r.uplift) and (row.best_uplift is None or r.uplift > row.best_uplift):
                row.best_uplift, row.best_run = r.uplift, r.run_id
    for technique, row in rows.items():
        row.shorts = sorted(shorts[technique])
        row.datasets = sorted(datasets[technique])
    return sorted(rows.values(), key=lambda row: (-len(row.runs), row.technique))


# -- harvest -----------------------------------------------------------------------------------


def _harvested(records: list[_Run]) -> list[HarvestedItem]:
    """What failed shorts saved with ``ctx.harvest`` (a hit's components are its result)."""
    items = []
    for r in records:
        if not r.failed:
            continue
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
    """Quartile slices of the true target where a failed short beat its baseline."""
    wins = []
    for r in records:
        if not r.failed:
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
                        outcome=r.outcome,
                        verdict=r.verdict,
                    )
                )
    return sorted(wins, key=lambda w: -w.uplift)


def _near_misses(records: list[_Run], histories: HistoryIn) -> list[NearMiss]:
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


def _still_improving(
    history: Mapping[str, Sequence[Sequence[float]]],
) -> tuple[str, list[float]] | None:
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
        values = [float(p[1]) for p in history[key] if len(p) > 1 and _finite(float(p[1]))]
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


def _library_path(path: str) -> bool:
    """An installed library's or the standard library's file, or a frozen module."""
    parts = PurePosixPath(path).parts
    return (
        path.startswith("<")
        or "site-packages" in parts
        or "dist-packages" in parts
        or _STDLIB.search(path) is not None
    )


def _own_code(where: str) -> bool:
    """Whether a recorded ``path:line in function`` lies in the short's own code."""
    match = _WHERE.match(where.strip())
    path = match["path"] if match else where
    return not _library_path(path) and path.split("/", 1)[0] != "shorts"


def _needs_traceback(r: _Run) -> bool:
    return r.outcome == "crashed" and bool(r.error_type) and not _own_code(r.error_where)


def _read_tracebacks(tracking_uri: str, records: list[_Run]) -> dict[str, str]:
    """Tracebacks of crashes recorded with a location outside the short's code (best effort)."""
    wanted = [r.run_id for r in records if _needs_traceback(r)]
    if not wanted:
        return {}
    try:
        return load_tracebacks(tracking_uri, wanted)
    except Exception:  # an unreachable store: the recorded locations stand
        return {}


def _fingerprint_where(r: _Run, tracebacks: Mapping[str, str]) -> str:
    """The innermost frame of the short's own code; the recorded one if none can be found."""
    if not _needs_traceback(r):
        return r.error_where
    text = tracebacks.get(r.run_id)
    found = own_frame(text, r.error_where) if text else None
    return found or r.error_where


def _fingerprints(records: list[_Run], tracebacks: Mapping[str, str]) -> list[Fingerprint]:
    """Crashes grouped by exception type and the innermost frame of the short's own code.

    The runner records the innermost frame under the project root; when that is a library's
    (a virtualenv inside the project), the run's saved traceback gives the short's own frame.
    A crash that recorded no exception (killed by a signal, exited without a result) has an empty
    ``error_type`` and is grouped by the first line of its reason, which stands in for ``where``.
    """
    groups: dict[tuple[str, str], list[_Run]] = defaultdict(list)
    for r in records:
        if r.outcome != "crashed":
            continue
        if r.error_type:
            key = (r.error_type, _fingerprint_where(r, tracebacks))
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


class _Progress(NamedTuple):
    """How far a run got: folds done of folds planned, and when each finished (s from start)."""

    done: int
    planned: int
    fold_seconds: list[float]


class _WallNeed(NamedTuple):
    """What one run tells about the wall time its short needs on its data set."""

    run: str
    need: float  # seconds needed; for a guess, a lower bound (what it ran)
    recommended: float
    basis: str
    guess: bool


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if _finite(number) and number >= 0 else None


def _history_ids(records: list[_Run]) -> list[str]:
    return [r.run_id for r in records if r.outcome in CAPPED_OUTCOMES or _cut_short(r)]


def _planned_folds(r: _Run) -> int | None:
    return _int(r.metrics.get("folds_planned")) or _int(_param(r.params, "cv.folds") or None)


def _cut_short(r: _Run) -> bool:
    """A completed run the soft deadline stopped before all its planned folds."""
    done = _int(r.metrics.get("folds_completed"))
    planned = _planned_folds(r)
    return r.outcome == "completed" and done is not None and planned is not None and done < planned


def _progress(r: _Run, history: Mapping[str, Sequence[Sequence[float]]]) -> _Progress | None:
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
            logged[step] = min(logged.get(step, math.inf), stamp if _finite(stamp) else math.inf)
    done = _int(r.metrics.get("folds_completed"))
    if done is None:
        if not logged:
            return None
        done = len(logged)
    start = r.start_ms
    seconds = []
    if start is not None:
        seconds = [
            (stamp - start) / 1000.0
            for _, stamp in sorted(logged.items())
            if _finite(stamp) and stamp > start
        ]
    return _Progress(done, planned, seconds)


def _pace(elapsed: float, progress: _Progress) -> tuple[float, str]:
    """Seconds per remaining fold, and how it was measured."""
    times = progress.fold_seconds
    if len(times) >= 2 and times[-1] > times[0]:
        return (times[-1] - times[0]) / (len(times) - 1), "its pace between logged folds"
    if times:
        return times[0], "the time to its first fold, start-up included"
    return elapsed / progress.done, "its average per fold, start-up included"


def _wall_need(
    r: _Run, history: Mapping[str, Sequence[Sequence[float]]], headroom: float
) -> _WallNeed | None:
    """What the run needed, if it says anything about wall time (completed or timed out).

    A clean completion needed its wall time. A run stopped by a cap (a timeout, or a completion
    the soft deadline cut short) needed its elapsed time plus its remaining folds at its own
    pace: ``elapsed + (planned - done) x pace``; with no fold times logged the pace is
    ``elapsed / done``, i.e. ``elapsed / share done``. A timeout with no progress logged needed
    more than it ran by an unknown amount: the advice is then a guess of
    ``max(headroom, GUESS_FACTOR)`` x what it ran.
    """
    elapsed = r.wall_seconds
    if r.outcome == "timeout" and _finite(r.caps_wall_seconds):
        elapsed = max(elapsed, r.caps_wall_seconds) if _finite(elapsed) else r.caps_wall_seconds
    if not _finite(elapsed) or elapsed <= 0:
        return None
    progress = _progress(r, history) if r.outcome in ("timeout", "completed") else None
    cut_short = progress is not None and 0 < progress.done < progress.planned
    if r.outcome == "completed" and not cut_short:
        return _WallNeed(
            r.run_id, elapsed, headroom * elapsed, f"a completed run took {_s(elapsed)}", False
        )
    if cut_short:
        assert progress is not None
        pace, how = _pace(elapsed, progress)
        left = progress.planned - progress.done
        need = elapsed + left * pace
        stopped = "timed out" if r.outcome == "timeout" else "stopped at its soft deadline"
        basis = (
            f"a run {stopped} after {progress.done} of {progress.planned} folds in "
            f"{_s(elapsed)}; {left} more at {_s(pace)} each ({how}) make about {_s(need)}"
        )
        return _WallNeed(r.run_id, need, headroom * need, basis, False)
    if r.outcome != "timeout":
        return None
    factor = max(headroom, GUESS_FACTOR)
    if progress is not None and progress.done >= progress.planned:
        why = f"all {progress.planned} folds were done, what it was still doing is unknown"
    else:
        why = "no progress logged"
    basis = f"a guess ({why}): {factor:g}x the {_s(elapsed)} a timeout ran"
    return _WallNeed(r.run_id, elapsed, factor * elapsed, basis, True)


def _anytime(r: _Run) -> bool:
    """Runs until its wall-time cap by design: an ``anytime`` technique or ``*.anytime`` param."""
    if any("anytime" in _TOKENS.split(t.lower()) for t in r.techniques):
        return True
    return any(
        key.rsplit(".", 1)[-1] == "anytime" and str(value).strip().lower() in ("true", "1", "yes")
        for key, value in r.params.items()
    )


def _cap_lessons(records: list[_Run], histories: HistoryIn, headroom: float) -> list[CapLesson]:
    """One lesson per short and data set (with its size knobs) that recorded caps."""
    groups: dict[tuple[str, str], list[_Run]] = defaultdict(list)
    for r in records:
        groups[(r.short, r.dataset_config)].append(r)
    lessons = []
    for (short, dataset), members in sorted(groups.items()):
        has_caps = any(_finite(r.caps_wall_seconds) or _finite(r.caps_memory_mib) for r in members)
        if has_caps or any(r.outcome in CAPPED_OUTCOMES for r in members):
            lessons.append(_cap_lesson(short, dataset, members, histories, headroom))
    return lessons


def _cap_lesson(
    short: str, dataset: str, runs: list[_Run], histories: HistoryIn, headroom: float
) -> CapLesson:
    """Each run against its own caps, and caps with ``headroom`` over what the runs needed.

    Wall time: the largest of the runs' recommendations (``_wall_need``), so the cap fits the
    most demanding run seen; none for a short that runs until its cap by design (``_anytime``).
    Memory: ``headroom`` times the highest peak; a memout's peak is at least its cap.
    """
    timeouts = [r for r in runs if r.outcome == "timeout"]
    memouts = [r for r in runs if r.outcome == "memout"]
    peak_wall = _max(
        max(r.wall_seconds, r.caps_wall_seconds) if r.outcome == "timeout" else r.wall_seconds
        for r in runs
    )
    peak_memory = _max(
        max(r.peak_rss_mib, r.caps_memory_mib) if r.outcome == "memout" else r.peak_rss_mib
        for r in runs
    )
    anytime = any(_anytime(r) for r in runs)
    needs = [
        need
        for r in runs
        if (need := _wall_need(r, histories.get(r.run_id) or {}, headroom)) is not None
    ]
    stopped_early = [r for r in runs if r.outcome == "completed" and _was_cut_short(r, histories)]
    recommended_wall: float | None = None
    needed_wall: float | None = None
    if anytime:
        wall_basis = (
            "it runs until its wall-time cap by design (an anytime search): the cap is its "
            "budget, not a limit it outgrew, so there is no wall-time advice"
        )
    elif needs:
        top = max(needs, key=lambda n: n.recommended)
        recommended_wall = float(math.ceil(top.recommended))
        needed_wall = max(n.need for n in needs)
        wall_basis = top.basis
    else:
        wall_basis = "no run completed or reached its wall-time cap"
    recommended_memory: float | None = None
    memory_basis = "no peak memory recorded"
    if memouts:
        worst = max(memouts, key=lambda r: _or0(max(r.peak_rss_mib, r.caps_memory_mib)))
        floor = max(worst.peak_rss_mib, worst.caps_memory_mib)
        cap = worst.caps_memory_mib
        if not _finite(cap) or _mib(floor) == _mib(cap):
            memory_basis = f"a memout needs more than the {_mib(floor)} it reached"
        else:
            memory_basis = (
                f"a memout needs more than the {_mib(floor)} it reached before its "
                f"{_mib(cap)} cap stopped it"
            )
    elif peak_memory is not None:
        memory_basis = f"the highest peak was {_mib(peak_memory)}"
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
    )
    lesson.note = _cap_note(
        lesson,
        wall_caps=_distinct(r.caps_wall_seconds for r in timeouts),
        memory_caps=_distinct(r.caps_memory_mib for r in memouts),
        headroom=headroom,
    )
    return lesson


def _was_cut_short(r: _Run, histories: HistoryIn) -> bool:
    progress = _progress(r, histories.get(r.run_id) or {})
    return progress is not None and 0 < progress.done < progress.planned


def _share(used: float, cap: float) -> float:
    return used / cap if _finite(used) and _finite(cap) and cap > 0 else math.nan


def _distinct(values: Iterable[float]) -> list[float]:
    return sorted({v for v in values if _finite(v)})


def _underused(r: _Run) -> bool:
    """Under 10% of both caps; a run whose use of either cap is unknown does not count."""
    wall = _float(r.metrics.get("shorts.cap_used.wall_time"))
    if not _finite(wall):
        wall = _share(r.wall_seconds, r.caps_wall_seconds)
    memory = _float(r.metrics.get("shorts.cap_used.memory"))
    if not _finite(memory):
        memory = _share(r.peak_rss_mib, r.caps_memory_mib)
    return (
        _finite(wall)
        and _finite(memory)
        and wall < UNDERUSED_FRACTION
        and memory < UNDERUSED_FRACTION
    )


def _cap_note(
    lesson: CapLesson, wall_caps: list[float], memory_caps: list[float], headroom: float
) -> str:
    """The lesson in a sentence: what hit which caps, and what to set instead, and why."""
    parts = []
    rec_wall, rec_memory = lesson.recommended_wall_seconds, lesson.recommended_memory_mib
    if lesson.memouts:
        at = f" at {', '.join(_mib(c) for c in memory_caps)}" if memory_caps else ""
        fit = (
            f"; try {_mib(rec_memory)} ({headroom:g}x: {lesson.memory_basis})" if rec_memory else ""
        )
        parts.append(f"{_times(len(lesson.memouts), 'memout')}{at}{fit}")
    capped = []
    if lesson.timeouts:
        at = f" at {', '.join(_s(c) for c in wall_caps)}" if wall_caps else ""
        capped.append(f"{_times(len(lesson.timeouts), 'timeout')}{at}")
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
            capped.append(f"try {_s(rec_wall)} ({why})")
        parts.append("; ".join(capped))
    if lesson.underused and rec_wall and rec_memory:
        parts.append(
            f"every run used under 10% of its caps; {_s(rec_wall)} and {_mib(rec_memory)} would do"
        )
    if not parts:
        used = [
            f"{_pct(share)} of its {what} cap"
            for share, what in (
                (lesson.peak_wall_share, "wall-time"),
                (lesson.peak_memory_share, "memory"),
            )
            if share is not None
        ]
        if used:
            parts.append(f"every run fitted its caps, using at most {' and '.join(used)}")
        if rec_wall is None and not lesson.anytime:
            parts.append(f"no wall-time advice: {lesson.wall_basis}")
        elif rec_wall is not None and rec_memory is not None:
            parts.append(
                f"{_s(rec_wall)} and {_mib(rec_memory)} would do ({headroom:g}x the peaks)"
            )
    return "; ".join(parts) + "." if parts else ""


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"


def _s(seconds: float | None) -> str:
    return format_duration(seconds or 0.0)


def _mib(mib: float | None) -> str:
    return format_size((mib or 0.0) * 2**20)


def _times(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _max(values: Iterable[float]) -> float | None:
    finite = [v for v in values if _finite(v)]
    return max(finite) if finite else None


# -- suggestions and notes ---------------------------------------------------------------------


def _suggestions(
    records: list[_Run], ledger: list[LedgerRow], slice_wins: list[SliceWin]
) -> list[Suggestion]:
    """Techniques with a hit, a slice win or a positive uplift, not yet tried on like data sets.

    Each piece of evidence is credited to the data set it was measured on, and a technique is
    suggested only for data sets whose declared kind (regression, classification) is the kind of
    problem it helped on (``_solved_as``): a reframing for ordered classes says nothing about
    continuous targets. "Other data sets" are
    those some run of the period used, so a suggestion never names data nobody here has loaded.
    Tags of the baseline side (``_is_baseline_tag``) are never suggested.
    """
    by_id = {r.run_id: r for r in records}
    tasks: dict[str, set[str]] = defaultdict(set)  # data set -> its declared kinds
    for r in records:
        if r.dataset:
            tasks[r.dataset].add(r.task)
    hits: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r.outcome == "completed" and r.verdict == "hit":
            for technique in dict.fromkeys(r.techniques):
                hits[technique].append(r.run_id)
    slices: dict[str, list[str]] = defaultdict(list)
    for w in slice_wins:
        for technique in dict.fromkeys(w.techniques):
            if w.run not in slices[technique]:
                slices[technique].append(w.run)
    suggestions = []
    for row in ledger:
        if row.baseline_tag:
            continue
        positive_uplift = row.best_uplift is not None and row.best_uplift > 0
        uplift_runs = [row.best_run] if positive_uplift and row.best_run else []
        evidence_runs = [*hits[row.technique], *slices[row.technique], *uplift_runs]
        if not evidence_runs:
            continue
        helped_tasks = {by_id[run].solved_as for run in evidence_runs if run in by_id}
        untried = sorted(d for d in tasks if d not in row.datasets and tasks[d] & helped_tasks)
        if not untried:
            continue
        parts = []
        if hits[row.technique]:
            parts.append(_times(len(hits[row.technique]), "hit") + _on(hits[row.technique], by_id))
        if slices[row.technique]:
            runs = slices[row.technique]
            parts.append(
                f"slice wins over the baseline in {_times(len(runs), 'failed run')}"
                + _on(runs, by_id)
            )
        if positive_uplift and row.best_uplift is not None:
            parts.append(f"best uplift {row.best_uplift:+.1%}" + _on(uplift_runs, by_id))
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


def _on(runs: list[str], by_id: dict[str, _Run]) -> str:
    """`` on diabetes, fair`` for the data sets of ``runs`` (those where it was measured)."""
    datasets = _unique(by_id[run].dataset for run in runs if run in by_id)
    return f" on {', '.join(datasets)}" if datasets else ""


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
