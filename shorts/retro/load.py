"""Reading a period's runs out of MLflow: one row per run, in one pass, tolerant of anything.

Not ``mlflow.search_runs``: its frame has a column per metric, param and tag ever logged and
none of the meaning ``shorts`` gives its tags. Runs from other tools get their outcome from the
MLflow status, the rest left empty rather than guessed. ``search_runs`` is the one reader of
runs, for every caller.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, TypeVar

from shorts import record
from shorts.errors import UsageError
from shorts.outcome import OF_MLFLOW_STATUS, Outcome
from shorts.retro.model import Period
from shorts.tracking.store import import_mlflow, sqlite_path

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run
    from mlflow.store.entities import PagedList
    from mlflow.tracking import MlflowClient

__all__ = [
    "COLUMNS",
    "RETRO_EXPERIMENT",
    "TRACEBACK_ARTIFACT",
    "load_histories",
    "load_runs",
    "load_short_runs",
    "load_tracebacks",
    "quoted",
    "reader",
    "search_runs",
]

RETRO_EXPERIMENT = "retrospectives"
PAGE_SIZE = 1000
SQLITE_CHUNK = 900  # ids per IN clause: under sqlite's historical limit of 999 parameters
TRACEBACK_ARTIFACT = "shorts/traceback.txt"
T = TypeVar("T")
# {run_id: {metric key: [(step, value, timestamp in ms since the epoch), ...]}}
Histories = dict[str, dict[str, list[tuple[int, float, int]]]]

COLUMNS = (
    "run_id",
    "experiment_id",
    "experiment",
    "short",
    "run_name",
    "status",
    "outcome",
    "verdict",
    "start_time",
    "end_time",
    "wall_seconds",
    "cpu_seconds",
    "peak_rss_mib",
    "caps_wall_seconds",
    "caps_memory_mib",
    "caps_cpus",
    "uplift",
    "p_value",
    "techniques",
    "dataset",
    "model",
    "hypothesis",
    "reason",
    "error_type",
    "error_where",
    "harvest",
    "metrics",
    "params",
    "tags",
)
_STATUS_OUTCOME = {
    **{status: outcome.value for status, outcome in OF_MLFLOW_STATUS.items()},
    "RUNNING": record.RUNNING,
    "SCHEDULED": record.RUNNING,
}
_TEXT_TAGS = {
    "dataset": record.DATASET,
    "model": record.MODEL,
    "hypothesis": record.HYPOTHESIS,
    "reason": record.REASON,
    "error_type": record.ERROR_TYPE,
    "error_where": record.ERROR_WHERE,
}
_FLOAT_METRICS = {
    "cpu_seconds": record.CPU_SECONDS,
    "uplift": record.UPLIFT,
    "p_value": record.P_VALUE,
}


def load_runs(tracking_uri: str, period: Period, progress: bool = False) -> pd.DataFrame:
    """Every live run of every active experiment (but ``retrospectives``) started in ``period``.

    Args:
        tracking_uri: the MLflow store (``sqlite:///...`` or ``http(s)://...``).
        period: runs whose start time falls in ``[period.start, period.end)``.
        progress: show a progress bar on stderr while pages arrive.

    Returns:
        One row per run, oldest first, with the columns in ``COLUMNS``: datetimes in UTC, NaN for
        a figure the run did not record, ``techniques`` a list, ``harvest`` a dict of name to the
        parsed tag (``{"kind", "type", "path", "evidence"}``), ``metrics``, ``params`` (the
        flattened config, e.g. ``dataset.n_samples``, ``cv.folds``) and ``tags`` dicts.

    Raises:
        UsageError: a sqlite store whose file does not exist.
    """

    client = reader(tracking_uri)
    experiments = _experiments(client)
    pages: Iterable[list[Run]] = []
    if experiments:
        start_ms = int(period.start.timestamp() * 1000)
        end_ms = int(period.end.timestamp() * 1000)
        query = f"attributes.start_time >= {start_ms} AND attributes.start_time < {end_ms}"
        pages = search_runs(client, list(experiments), query)
        if progress:
            pages = _with_progress(pages, period.label)
    return _frame(pages, experiments)


def load_short_runs(tracking_uri: str, short: str) -> pd.DataFrame:
    """Every live run of one short (its MLflow experiment), all time, on every data set.

    What ``shorts caps suggest`` reads: the same rows as ``load_runs`` (sweep and multirun parents
    left out), filtered by the ``shorts.short`` tag in the store's query.

    Raises:
        UsageError: a sqlite store whose file does not exist.
    """
    client = reader(tracking_uri)
    experiment = client.get_experiment_by_name(short)
    if experiment is None or experiment.lifecycle_stage != "active":
        return _frame([], {})
    query = f"tags.`{record.SHORT}` = {quoted(short)}"
    experiments = {str(experiment.experiment_id): str(experiment.name)}
    return _frame(search_runs(client, list(experiments), query), experiments)


def load_histories(
    tracking_uri: str, run_ids: Iterable[str], keys: Sequence[str] | None = None
) -> Histories:
    """Every logged value of the runs' metrics (only ``keys`` if given), by step then time:
    ``{run_id: {key: [(step, value, ms since the epoch), ...]}}``; NaN stays NaN.

    A sqlite store's ``metrics`` table is read directly; other stores are asked per run and key.
    """
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    path = sqlite_path(tracking_uri)
    if path is not None and path.is_file():
        return _sqlite_histories(path.resolve().as_uri(), ids, keys)
    return _client_histories(tracking_uri, ids, keys)


def load_tracebacks(tracking_uri: str, run_ids: Iterable[str]) -> dict[str, str]:
    """The traceback each run's worker saved (``shorts/traceback.txt``), for runs that have one.

    A run without the artifact, or whose artifacts cannot be read, is left out: a traceback only
    sharpens a crash's fingerprint, it never decides whether the run is counted.
    """
    import tempfile
    from pathlib import Path

    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    client = reader(tracking_uri)
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="shorts-retro-") as folder:
        for n, run_id in enumerate(ids):
            target = Path(folder) / str(n)
            target.mkdir()
            try:
                path = client.download_artifacts(run_id, TRACEBACK_ARTIFACT, str(target))
                found[run_id] = Path(path).read_text(encoding="utf-8", errors="replace")
            except Exception:  # no such artifact, an unreachable artifact store, ...
                continue
    return found


# -- the one reader of runs -------------------------------------------------------------------


def reader(tracking_uri: str) -> MlflowClient:
    """A client to read runs from ``tracking_uri`` with (``search_runs``).

    Reading never creates a store: a sqlite file that does not exist is a ``UsageError``.
    MLflow keeps one store per URI, so asking again in the same process is cheap.
    """
    import logging

    import_mlflow()
    from mlflow.tracking import MlflowClient

    path = sqlite_path(tracking_uri)
    if path is not None and not path.is_file():
        raise UsageError(
            f"there is no MLflow store at {path}; point --tracking-uri (or MLFLOW_TRACKING_URI) "
            f"at an existing sqlite:/// file or an http(s):// tracking server."
        )
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=tracking_uri)


def _experiments(client: MlflowClient) -> dict[str, str]:
    """Active experiments, id -> name, without the retrospectives' own and ``on_location``
    (data QA and human baselines: work on the data, not shorts)."""
    from mlflow.entities import ViewType

    from shorts.inspect import ON_LOCATION_EXPERIMENT

    pages = _paged(
        lambda token: client.search_experiments(
            view_type=ViewType.ACTIVE_ONLY, max_results=PAGE_SIZE, page_token=token
        )
    )
    return {
        str(experiment.experiment_id): str(experiment.name)
        for page in pages
        for experiment in page
        if experiment.name not in (RETRO_EXPERIMENT, ON_LOCATION_EXPERIMENT)
    }


def _paged(search: Callable[[str | None], PagedList[T]]) -> Iterator[PagedList[T]]:
    """The pages of an MLflow search, each fetched when the one before it is consumed."""
    token: str | None = None
    while True:
        page = search(token)
        yield page
        token = page.token
        if not token:
            return


def search_runs(
    client: MlflowClient,
    experiment_ids: list[str],
    query: str,
    *,
    order_by: list[str] | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[Run]]:
    """The live runs of ``experiment_ids`` that match ``query`` (MLflow's filter grammar), a page
    at a time (``page_token``), newest first unless ``order_by`` says otherwise.

    Pages are fetched as they are consumed: a reader that finds what it wants in the first page
    (the headroom warning's newest peak) asks the store for nothing more.
    """
    from mlflow.entities import ViewType

    pages = _paged(
        lambda token: client.search_runs(
            experiment_ids,
            filter_string=query,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=page_size,
            order_by=order_by,
            page_token=token,
        )
    )
    for page in pages:
        yield list(page)


def _with_progress(pages: Iterable[list[Run]], label: str) -> Iterator[list[Run]]:
    """Pages passed through while a bar counts runs (the total is unknown until the end)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from shorts.console import stderr_console

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]reading runs of {task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} runs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task(label, total=None)
        for page in pages:
            bar.advance(task, len(page))
            yield page


def quoted(value: str) -> str:
    """``value`` as a string literal of MLflow's filter grammar (which has no escapes)."""
    for quote in ("'", '"'):
        if quote not in value:
            return f"{quote}{value}{quote}"
    raise UsageError(f"{value!r} holds both kinds of quote; MLflow cannot search for it.")


# -- one pass over the runs --------------------------------------------------------------------


def _frame(pages: Iterable[list[Run]], experiments: dict[str, str]) -> pd.DataFrame:
    """One row per run, oldest first (MLflow pages newest first); every lookup a dict access."""
    import pandas as pd

    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    seen: set[str] = set()
    append = {name: rows[name].append for name in COLUMNS}
    for page in pages:
        for run in page:
            info, data = run.info, run.data
            run_id = info.run_id
            if run_id in seen:  # offset paging can repeat a run when new ones arrive meanwhile
                continue
            seen.add(run_id)
            tags: dict[str, str] = data.tags
            if tags.get(record.KIND) in record.PARENT_KINDS:
                continue  # a sweep's or multirun's parent: its children are the shorts run
            metrics: dict[str, float] = data.metrics
            experiment = experiments.get(str(info.experiment_id), "")
            status = str(info.status)
            outcome = tags.get(record.OUTCOME) or _STATUS_OUTCOME.get(status, status.lower())
            verdict = tags.get(record.VERDICT) or (
                record.VERDICT_NONE if outcome == Outcome.COMPLETED else ""
            )
            start, end = info.start_time, info.end_time
            wall = record.number(metrics, record.WALL_SECONDS)
            if wall != wall and start is not None and end is not None and end >= start:
                wall = (end - start) / 1000.0
            append["run_id"](run_id)
            append["experiment_id"](str(info.experiment_id))
            append["experiment"](experiment)
            append["short"](tags.get(record.SHORT) or experiment)
            append["run_name"](info.run_name or "")
            append["status"](status)
            append["outcome"](outcome)
            append["verdict"](verdict)
            append["start_time"](start if start is not None else math.nan)
            append["end_time"](end if end is not None else math.nan)
            append["wall_seconds"](wall)
            for column, key in _FLOAT_METRICS.items():
                append[column](record.number(metrics, key))
            append["peak_rss_mib"](record.peak_rss_mib(metrics))
            # Older runs lack the cap metrics: unknown (NaN), not parsed from tags or params.
            caps = record.RecordedCaps.of(metrics)
            append["caps_wall_seconds"](caps.wall_time_seconds)
            append["caps_memory_mib"](caps.memory_mib)
            append["caps_cpus"](caps.cpus)
            append["techniques"](_techniques(tags.get(record.TECHNIQUES)))
            for column, key in _TEXT_TAGS.items():
                append[column](tags.get(key, ""))
            append["harvest"](_harvest(tags))
            append["metrics"](metrics)
            append["params"](data.params)
            append["tags"](tags)
    for name in ("start_time", "end_time"):
        rows[name] = pd.to_datetime(rows[name], unit="ms", utc=True)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.iloc[::-1].reset_index(drop=True)


def _techniques(text: str | None) -> list[str]:
    return [t for t in (part.strip() for part in (text or "").split(",")) if t]


def _harvest(tags: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``shorts.harvest.NAME`` tags parsed; a malformed one keeps its raw text under ``raw``."""
    found: dict[str, dict[str, Any]] = {}
    for key, text in tags.items():
        if not key.startswith(record.HARVEST_PREFIX):
            continue
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        raw = {} if isinstance(parsed, dict) else {"raw": text}
        parsed = parsed if isinstance(parsed, dict) else {}
        evidence = parsed.get("evidence")
        found[key.removeprefix(record.HARVEST_PREFIX)] = {
            **{field: str(parsed.get(field) or "") for field in ("kind", "type", "path")},
            "evidence": evidence if isinstance(evidence, dict) else {},
            **raw,
        }
    return found


# -- histories ---------------------------------------------------------------------------------


def _sqlite_histories(database_uri: str, ids: list[str], keys: Sequence[str] | None) -> Histories:
    histories: Histories = {run_id: {} for run_id in ids}
    wanted = set(keys) if keys is not None else None
    with closing(sqlite3.connect(f"{database_uri}?mode=ro", uri=True)) as connection:
        for i in range(0, len(ids), SQLITE_CHUNK):
            part = ids[i : i + SQLITE_CHUNK]
            sql = (
                "SELECT run_uuid, key, step, value, is_nan, timestamp FROM metrics "
                f"WHERE run_uuid IN ({','.join('?' * len(part))}) "
                "ORDER BY run_uuid, key, step, timestamp"
            )
            for run_uuid, key, step, value, is_nan, stamp in connection.execute(sql, part):
                if wanted is None or key in wanted:
                    histories[run_uuid].setdefault(key, []).append(
                        (int(step or 0), math.nan if is_nan else float(value), int(stamp or 0))
                    )
    return histories


def _client_histories(tracking_uri: str, ids: list[str], keys: Sequence[str] | None) -> Histories:
    client = reader(tracking_uri)
    histories: Histories = {}
    for run_id in ids:
        run_keys = list(keys) if keys is not None else list(client.get_run(run_id).data.metrics)
        per_key: dict[str, list[tuple[int, float, int]]] = {}
        for key in run_keys:
            points = sorted(
                client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp)
            )
            if points:
                per_key[key] = [(int(m.step), float(m.value), int(m.timestamp)) for m in points]
        histories[run_id] = per_key
    return histories
