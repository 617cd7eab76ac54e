"""The last observed memory peak of a short on a data set: one cheap read before a run starts.

"Last observed peak" is the ``shorts.peak_rss_mib`` metric of the most recent ended run of the
same short (its MLflow experiment, tag ``shorts.short``) on the same data set (tag
``shorts.dataset``) in the same tracking store. A memout's need is at least its cap
(``memory_floor``): the kill stopped it before it showed what it needed.

Why a sqlite store is read with one SQL query rather than ``MlflowClient.search_runs``: this read
sits on the path of every ``shorts run`` before the worker starts, and importing MLflow takes
about a second (FIELD_NOTES), which the runner otherwise overlaps with the worker's start-up. The
query asks the same as the client's search (``_from_client``, used for every other store): the
newest ended run with the peak metric, ordered by start time. The retrospective reads metric
histories straight from the same tables (``shorts.retro.load``).

Nothing here may break a run: any failure to read (no store yet, a locked or foreign database,
an unreachable server) is "no peak on record", and the run goes ahead without a warning.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shorts.caps import parse_size
from shorts.errors import UsageError
from shorts.retro.cap_lessons import memory_floor
from shorts.tracking.store import sqlite_path

__all__ = ["LastPeak", "last_peak"]

PEAK_METRIC = "shorts.peak_rss_mib"
ENDED = ("FINISHED", "FAILED", "KILLED")
SEARCHED = 5  # runs the client's search returns: the newest ended one is almost always first
SQLITE_TIMEOUT = 1.0  # seconds to wait for a writer's lock before giving up on the warning

_NEWEST_PEAK_SQL = f"""
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
LIMIT 1
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


def last_peak(
    tracking_uri: str, short: str, dataset: str, *, through_client: bool = False
) -> LastPeak | None:
    """The newest ended run of ``short`` on ``dataset`` with a recorded peak, or None.

    Never raises: a store that cannot be read has no peak on record.

    Args:
        tracking_uri: the store the run will be recorded in.
        short: the short's name (its MLflow experiment and ``shorts.short`` tag).
        dataset: the data set choice (``shorts.dataset`` tag), e.g. ``diabetes``.
        through_client: ask ``MlflowClient.search_runs`` even for a sqlite store, as for every
            other store (the two readings agree; tests check that they do).
    """
    try:
        path = sqlite_path(tracking_uri)
        if path is not None and not through_client:
            return _from_sqlite(path, short, dataset)
        return _from_client(tracking_uri, short, dataset)
    except Exception:  # never a reason not to run: no warning instead
        return None


def _from_sqlite(path: Path, short: str, dataset: str) -> LastPeak | None:
    if not path.is_file():
        return None  # no store yet: nothing on record (and nothing is created here)
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_TIMEOUT
    )
    try:
        row = connection.execute(_NEWEST_PEAK_SQL, {"short": short, "dataset": dataset}).fetchone()
    finally:
        connection.close()
    if row is None:
        return None
    run_id, start_ms, peak, outcome, cap = row
    return _peak(str(run_id), start_ms, peak, outcome, cap)


def _from_client(tracking_uri: str, short: str, dataset: str) -> LastPeak | None:
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
        max_results=SEARCHED,
    )
    for run in runs:
        if run.info.status in ENDED:
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
