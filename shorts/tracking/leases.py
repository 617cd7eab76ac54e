"""Finding and closing runs whose supervisor died: the ``lost`` outcome.

A SIGKILLed or crashed supervisor cannot close its MLflow run, which MLflow would then show as
RUNNING forever (mlflow#7078). Two traces let any later ``shorts`` command close it:

* a lease file per live run under ``.shorts/leases`` naming the supervisor's pid and its start
  time; checking it costs a directory listing, so every command can afford it without importing
  MLflow unless a lease is actually stale;
* a heartbeat tag the supervisor refreshes every 15 s, for runs on a shared tracking server whose
  supervisor ran on another machine.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shorts.project import Project
from shorts.tracking.recorder import HEARTBEAT_SECONDS, HEARTBEAT_TAG

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

STALE_HEARTBEAT_SECONDS = 8 * HEARTBEAT_SECONDS


@dataclass(frozen=True)
class Lease:
    """A live supervisor's claim on a run."""

    path: Path
    run_id: str
    uri: str
    pid: int
    pid_start: str
    host: str

    def holder_alive(self) -> bool:
        """True while the supervisor process that wrote the lease still runs."""
        return process_start(self.pid) == self.pid_start


def write_lease(project: Project, run_id: str, uri: str) -> Path:
    """Record that this process supervises ``run_id``."""
    project.leases.mkdir(parents=True, exist_ok=True)
    path = project.leases / f"{run_id}.json"
    record = {
        "run_id": run_id,
        "uri": uri,
        "pid": os.getpid(),
        "pid_start": process_start(os.getpid()),
        "host": socket.gethostname(),
        "written_at": time.time(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)
    return path


def stale_leases(project: Project) -> list[Lease]:
    """Leases on this host whose supervisor is gone."""
    if not project.leases.is_dir():
        return []
    stale = []
    host = socket.gethostname()
    for path in project.leases.glob("*.json"):
        try:
            data = json.loads(path.read_text())
            lease = Lease(
                path,
                data["run_id"],
                data["uri"],
                int(data["pid"]),
                str(data["pid_start"]),
                data["host"],
            )
        except (OSError, ValueError, KeyError):
            continue
        if lease.host == host and not lease.holder_alive():
            stale.append(lease)
    return stale


def close_lost(client: MlflowClient, run_id: str, why: str, end_time_ms: int | None = None) -> bool:
    """Close a RUNNING run as ``lost`` (status KILLED); False if it was already closed."""
    run = client.get_run(run_id)
    if run.info.status != "RUNNING":
        return False
    heartbeat = run.data.tags.get(HEARTBEAT_TAG)
    if end_time_ms is None:
        end_time_ms = int(float(heartbeat) * 1000) if heartbeat else int(time.time() * 1000)
    client.set_tag(run_id, "shorts.outcome", "lost")
    client.set_tag(run_id, "shorts.reason", why)
    client.set_terminated(run_id, status="KILLED", end_time=end_time_ms)
    return True


def repair_leases(project: Project) -> list[str]:
    """Close the runs of stale leases as lost; returns their run ids. Cheap when none is stale."""
    closed: list[str] = []
    leases = stale_leases(project)
    if not leases:
        return closed
    from shorts.tracking.store import open_client

    for lease in leases:
        try:
            client = open_client(lease.uri)
            why = (
                f"the supervisor (pid {lease.pid} on {lease.host}) died without closing the run; "
                f"closed by a later shorts command"
            )
            if close_lost(client, lease.run_id, why):
                closed.append(lease.run_id)
        except Exception:  # an unreachable store keeps the lease for the next command
            continue
        lease.path.unlink(missing_ok=True)
    return closed


def repair_heartbeats(client: MlflowClient, max_age: float = STALE_HEARTBEAT_SECONDS) -> list[str]:
    """Close RUNNING shorts runs whose heartbeat stopped more than ``max_age`` seconds ago."""
    from mlflow.entities import ViewType

    closed: list[str] = []
    cutoff = time.time() - max_age
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    ids = [e.experiment_id for e in experiments]
    if not ids:
        return closed
    runs = client.search_runs(ids, "attributes.status = 'RUNNING'", max_results=1000)
    for run in runs:
        beat = run.data.tags.get(HEARTBEAT_TAG)
        if beat is None or float(beat) >= cutoff:
            continue
        why = (
            f"no heartbeat from the supervisor on {run.data.tags.get('shorts.supervisor.host')} "
            f"for over {max_age:.0f}s; closed as lost"
        )
        if close_lost(client, run.info.run_id, why):
            closed.append(run.info.run_id)
    return closed


def process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), or '' if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return ""
    fields = data[data.rfind(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return ""
    return fields[19].decode()
