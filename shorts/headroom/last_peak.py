"""The last observed memory peak of a short on a data set: one cheap read before a run starts.

"Last observed peak" is the ``shorts.peak_rss_mib`` metric of the most recent ended run of the
same short (its MLflow experiment, tag ``shorts.short``) on the same data set (tag
``shorts.dataset``) in the same configuration (``shorts.retro.records.configuration`` of its
params: seeds and caps aside) in the same tracking store. A run of another configuration
(``~variants``, fewer folds, a sample of the data) needs what it needs, not what this one will.
A memout's need is at least its cap (``memory_floor``): the kill stopped it before it showed what
it needed. The configuration of the run about to start is computed from its config the way the
runner logs it as params (``run_configuration``).

Why a sqlite store is read with SQL rather than ``MlflowClient.search_runs``: this read sits on
the path of every ``shorts run`` before the worker starts, and importing MLflow takes about a
second (FIELD_NOTES), which the runner otherwise overlaps with the worker's start-up. The queries
ask the same as the client's search (``_from_client``, used for every other store): the ended
runs with the peak metric, newest first, then the params of those (a page at a time, usually one)
until one has the configuration asked for. The retrospective reads metric histories straight from
the same tables (``shorts.retro.load``).

Nothing here may break a run: any failure to read (no store yet, a locked or foreign database,
an unreachable server) is "no peak on record", and the run goes ahead without a warning.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shorts.caps import parse_size
from shorts.errors import UsageError
from shorts.retro.cap_lessons import memory_floor
from shorts.retro.records import configuration as params_configuration
from shorts.tracking.store import sqlite_path

__all__ = ["LastPeak", "last_peak", "run_configuration"]

PEAK_METRIC = "shorts.peak_rss_mib"
ENDED = ("FINISHED", "FAILED", "KILLED")
SEARCHED = 5  # runs the client's search returns: the newest ended one is almost always first
# With a configuration to match, the client's search returns this many runs (newest first) and
# the sqlite read asks for the params of this many candidates at a time.
CANDIDATES = 200
SQLITE_TIMEOUT = 1.0  # seconds to wait for a writer's lock before giving up on the warning

_NEWEST_PEAKS_SQL = f"""
SELECT r.run_uuid, r.start_time, m.value,
       (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'shorts.outcome'),
       (SELECT value FROM tags WHERE run_uuid = r.run_uuid AND key = 'shorts.caps.memory')
FROM runs r
JOIN experiments e ON e.experiment_id = r.experiment_id
JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'shorts.short' AND s.value = :short
JOIN tags d ON d.run_uuid = r.run_uuid AND d.key = 'shorts.dataset' AND d.value = :dataset
JOIN latest_metrics m ON m.run_uuid = r.run_uuid AND m.key = '{PEAK_METRIC}' AND m.is_nan = 0
WHERE e.name = :short AND e.lifecycle_stage = 'active' AND r.lifecycle_stage = 'active'
  AND r.status IN ({", ".join(f"'{status}'" for status in ENDED)})
ORDER BY r.start_time DESC
"""


@dataclass(frozen=True)
class LastPeak:
    """The most recent ended run of a short on a data set, and the memory it showed it needs."""

    run_id: str
    started: datetime  # local time
    outcome: str  # completed, memout, timeout, ...
    peak_mib: float  # the metric, as the supervisor's samples saw it
    cap_mib: float  # the memory cap it ran under (NaN if not recorded)

    @property
    def killed_at_cap(self) -> bool:
        """A memout: its need is more than it showed, by an unknown amount."""
        return self.outcome == "memout"

    @property
    def need_mib(self) -> float:
        """What it needed at least: its peak, and for a memout at least its cap."""
        return memory_floor(self.outcome, self.peak_mib, self.cap_mib)


def run_configuration(config: Mapping[str, Any]) -> str:
    """The configuration of a run about to start, as its runs on record will have it.

    ``config`` is the run's resolved config (``PreparedRun.config``); the runner logs it as params
    as ``shorts.config.run_params`` gives them, and a run's
    configuration is those params without seeds, caps and tracking
    (``shorts.retro.records.configuration``).
    """
    from shorts.config import run_params

    return params_configuration(run_params(config))


def last_peak(
    tracking_uri: str,
    short: str,
    dataset: str,
    *,
    configuration: str | None = None,
    through_client: bool = False,
) -> LastPeak | None:
    """The newest ended run of ``short`` on ``dataset`` with a recorded peak, or None.

    Never raises: a store that cannot be read has no peak on record.

    Args:
        tracking_uri: the store the run will be recorded in.
        short: the short's name (its MLflow experiment and ``shorts.short`` tag).
        dataset: the data set choice (``shorts.dataset`` tag), e.g. ``diabetes``.
        configuration: only runs of this configuration (``run_configuration`` of the run about
            to start, ``records.configuration`` of a run's params); None: any configuration.
        through_client: ask ``MlflowClient.search_runs`` even for a sqlite store, as for every
            other store (the two readings agree; tests check that they do).
    """
    try:
        path = sqlite_path(tracking_uri)
        if path is not None and not through_client:
            return _from_sqlite(path, short, dataset, configuration)
        return _from_client(tracking_uri, short, dataset, configuration)
    except Exception:  # never a reason not to run: no warning instead
        return None


def _from_sqlite(
    path: Path, short: str, dataset: str, configuration: str | None
) -> LastPeak | None:
    if not path.is_file():
        return None  # no store yet: nothing on record (and nothing is created here)
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_TIMEOUT
    )
    try:
        rows = connection.execute(_NEWEST_PEAKS_SQL, {"short": short, "dataset": dataset})
        if configuration is None:
            row = rows.fetchone()
        else:
            candidates = rows.fetchall()
            row = next(_same_configuration(connection, candidates, configuration), None)
    finally:
        connection.close()
    if row is None:
        return None
    run_id, start_ms, peak, outcome, cap = row
    return _peak(str(run_id), start_ms, peak, outcome, cap)


def _same_configuration(
    connection: sqlite3.Connection, candidates: list[Any], configuration: str
) -> Iterator[Any]:
    """The candidates (newest first) whose params have ``configuration``, read a page of
    ``CANDIDATES`` runs' params at a time: the newest page almost always holds the one."""
    for first in range(0, len(candidates), CANDIDATES):
        page = candidates[first : first + CANDIDATES]
        marks = ", ".join("?" for _ in page)
        params: dict[str, dict[str, str]] = defaultdict(dict)
        for run_id, key, value in connection.execute(
            f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})",
            [row[0] for row in page],
        ):
            params[str(run_id)][str(key)] = str(value)
        for row in page:
            if params_configuration(params.get(str(row[0]), {})) == configuration:
                yield row


def _from_client(
    tracking_uri: str, short: str, dataset: str, configuration: str | None
) -> LastPeak | None:
    import logging

    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(short)
    if experiment is None or experiment.lifecycle_stage != "active":
        return None
    quote = "'" if "'" not in short + dataset else '"'
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"tags.`shorts.short` = {quote}{short}{quote} AND "
            f"tags.`shorts.dataset` = {quote}{dataset}{quote} AND "
            f"metrics.`{PEAK_METRIC}` >= 0"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=SEARCHED if configuration is None else CANDIDATES,
    )
    for run in runs:
        if run.info.status not in ENDED:
            continue
        if configuration is not None and params_configuration(run.data.params) != configuration:
            continue
        tags = run.data.tags
        return _peak(
            str(run.info.run_id),
            run.info.start_time,
            run.data.metrics.get(PEAK_METRIC),
            tags.get("shorts.outcome"),
            tags.get("shorts.caps.memory"),
        )
    return None


def _peak(
    run_id: str, start_ms: int | None, peak: object, outcome: object, cap: object
) -> LastPeak | None:
    """A ``LastPeak`` from the stored values; None when the peak is not a usable number."""
    peak_mib = float(peak) if isinstance(peak, int | float) else math.nan
    if not math.isfinite(peak_mib) or peak_mib < 0:
        return None
    try:
        cap_mib = parse_size(cap, "shorts.caps.memory") / 2**20 if cap else math.nan
    except UsageError:
        cap_mib = math.nan
    started = datetime.fromtimestamp(start_ms / 1000) if start_ms else datetime.now()
    return LastPeak(run_id, started, str(outcome or ""), peak_mib, cap_mib)
