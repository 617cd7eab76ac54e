"""The last observed memory peak of a short on a data set: one cheap read before a run starts.

The peak of the newest ended run of the same short on the same data set in the same
configuration (seeds and caps aside: a run of ``~variants`` or fewer folds needs what it needs,
not what this one will), in the same store, read with the one reader of runs
(``shorts.retro.load``). A memout's need is at least its cap (``memory_floor``).

This read sits on the path of every ``shorts run``: the client imports MLflow (about a second,
FIELD_NOTES) and opens its store here rather than in the recorder's thread, which then finds both
ready. Nothing here may break a run: any failure to read is "no peak on record".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shorts import record
from shorts.outcome import ENDED_STATUSES, Outcome
from shorts.retro.cap_lessons import memory_floor
from shorts.retro.load import quoted, reader, search_runs
from shorts.retro.records import configuration as params_configuration

if TYPE_CHECKING:
    from mlflow.entities import Run

__all__ = ["LastPeak", "last_peak", "run_configuration"]

# Runs per page: without a configuration to match, the newest ended run is almost always among the
# first few; with one, the newest page almost always holds a run of it.
SEARCHED = 5
CANDIDATES = 200


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
        return self.outcome == Outcome.MEMOUT

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
) -> LastPeak | None:
    """The newest ended run of ``short`` on ``dataset`` with a recorded peak, or None.

    Never raises: a store that cannot be read has no peak on record.

    Args:
        tracking_uri: the store the run will be recorded in.
        short: the short's name (its MLflow experiment and ``shorts.short`` tag).
        dataset: the data set choice (``shorts.dataset`` tag), e.g. ``diabetes``.
        configuration: only runs of this configuration (``run_configuration`` of the run about
            to start, ``records.configuration`` of a run's params); None: any configuration.
    """
    try:
        client = reader(tracking_uri)  # no store yet: UsageError, nothing created
        experiment = client.get_experiment_by_name(short)
        if experiment is None or experiment.lifecycle_stage != "active":
            return None
        query = (
            f"tags.`{record.SHORT}` = {quoted(short)} AND "
            f"tags.`{record.DATASET}` = {quoted(dataset)} AND "
            f"metrics.`{record.PEAK_RSS_MIB}` >= 0"  # recorded by every run, old and new
        )
        pages = search_runs(
            client,
            [str(experiment.experiment_id)],
            query,
            order_by=["attributes.start_time DESC"],
            page_size=SEARCHED if configuration is None else CANDIDATES,
        )
        for run in (run for page in pages for run in page):
            if run.info.status in ENDED_STATUSES and (
                configuration is None or params_configuration(run.data.params) == configuration
            ):
                return _peak(run)
        return None
    except Exception:  # never a reason not to run: no warning instead
        return None


def _peak(run: Run) -> LastPeak | None:
    """A ``LastPeak`` from the run's record; None when the peak is not a usable number."""
    metrics = run.data.metrics
    peak_mib = record.peak_rss_mib(metrics)
    if not math.isfinite(peak_mib) or peak_mib < 0:
        return None
    start_ms = run.info.start_time
    started = datetime.fromtimestamp(start_ms / 1000) if start_ms else datetime.now()
    outcome = run.data.tags.get(record.OUTCOME) or ""
    cap_mib = record.RecordedCaps.of(metrics).memory_mib  # NaN: recorded before the metrics
    return LastPeak(str(run.info.run_id), started, outcome, peak_mib, cap_mib)
