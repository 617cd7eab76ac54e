"""``shorts repair``: close every run whose supervisor died, as outcome ``lost``."""

from __future__ import annotations

from shorts.project import Project
from shorts.tracking.leases import repair_heartbeats, repair_leases
from shorts.tracking.store import check_reachable, open_client, resolve_tracking_uri


def repair(project: Project, uri: str | None = None) -> int:
    """Close lost runs found by stale leases (this machine) and stale heartbeats (any machine)."""
    closed = repair_leases(project)
    uri = resolve_tracking_uri(uri, project)
    check_reachable(uri)
    closed += repair_heartbeats(open_client(uri))
    for run_id in closed:
        print(f"closed run {run_id} as lost")
    print(f"{len(closed)} lost run(s) closed in {uri}")
    return 0
