"""Runs of supervisors on other machines that stopped beating: the ``lost`` outcome there.

On this machine a dead supervisor is found by its journal's free lock (``shorts.tracking.pending``)
and its journal says whether it wrote an outcome. A run on a shared server whose supervisor ran
elsewhere has only its heartbeat tag, refreshed every 15 s while the supervisor delivers.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import psutil

from shorts import record
from shorts.outcome import Outcome
from shorts.tracking.recorder import HEARTBEAT_SECONDS

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

STALE_HEARTBEAT_SECONDS = 8 * HEARTBEAT_SECONDS


def close_lost(client: MlflowClient, run_id: str, why: str) -> bool:
    """Close a RUNNING run as ``lost`` (status KILLED), ended at its last heartbeat; False if it
    was already closed."""
    run = client.get_run(run_id)
    if run.info.status != "RUNNING":
        return False
    heartbeat = run.data.tags.get(record.HEARTBEAT)
    end_time_ms = int(float(heartbeat) * 1000) if heartbeat else int(time.time() * 1000)
    client.set_tag(run_id, record.OUTCOME, Outcome.LOST.value)
    client.set_tag(run_id, record.REASON, why)
    client.set_terminated(run_id, status=Outcome.LOST.mlflow_status, end_time=end_time_ms)
    return True


def repair_heartbeats(
    client: MlflowClient, journaled_here: frozenset[str] = frozenset()
) -> list[str]:
    """Close RUNNING shorts runs whose heartbeat stopped ``STALE_HEARTBEAT_SECONDS`` ago, except
    those whose journal is still pending on this machine (``journaled_here``: journal ids):
    their journal, not a silent heartbeat, says how they ended."""
    from mlflow.entities import ViewType

    closed: list[str] = []
    cutoff = time.time() - STALE_HEARTBEAT_SECONDS
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    ids = [e.experiment_id for e in experiments]
    if not ids:
        return closed
    runs = client.search_runs(ids, "attributes.status = 'RUNNING'", max_results=1000)
    for run in runs:
        beat = run.data.tags.get(record.HEARTBEAT)
        if beat is None or float(beat) >= cutoff:
            continue
        if run.data.tags.get(record.JOURNAL) in journaled_here:
            continue
        why = (
            f"no heartbeat from the supervisor on {run.data.tags.get(record.SUPERVISOR_HOST)} "
            f"for over {STALE_HEARTBEAT_SECONDS:.0f}s; closed as lost"
        )
        if close_lost(client, run.info.run_id, why):
            closed.append(run.info.run_id)
    return closed


def process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot, as ``/proc/PID/stat`` has
    it and as studies record it), or '' if it is gone."""
    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return ""
        since_boot = process.create_time() - psutil.boot_time()
    except psutil.Error:
        return ""
    return str(round(since_boot * os.sysconf("SC_CLK_TCK")))
