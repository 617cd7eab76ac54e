"""``shorts sync`` and ``shorts repair``: pending records delivered, dead supervisors' runs closed.

``sync`` delivers this machine's journals whose supervisor is gone (closing as ``lost`` those
without an outcome); ``repair`` also closes runs on the store whose heartbeat went stale.
"""

from __future__ import annotations

from shorts.project import Project
from shorts.tracking.leases import repair_heartbeats
from shorts.tracking.pending import Settled, pending_folder, pending_journals, settle
from shorts.tracking.store import check_reachable, open_client, redact_uri, resolve_tracking_uri


def sync(project: Project) -> int:
    """Deliver every pending journal; exit status 1 if any is still pending."""
    settled = settle(project, budget=None)
    _print(settled)
    waiting = {journal for journal, _ in settled.waiting}
    left = [p for p in pending_journals(project) if p not in waiting]
    for journal, why in settled.waiting:
        print(f"still pending: {journal} ({why})")
    for journal in left:
        print(f"still delivered by its running supervisor: {journal}")
    print(
        f"{len(settled.delivered) + len(settled.lost)} record(s) delivered, "
        f"{len(settled.waiting)} still pending"
    )
    return 1 if settled.waiting else 0


def repair(project: Project, uri: str | None = None) -> int:
    """Close lost runs found by free journal locks (this machine) and stale heartbeats (any)."""
    settled = settle(project, budget=None)
    _print(settled)
    uri = resolve_tracking_uri(uri, project)
    check_reachable(uri)
    here = frozenset(path.stem for path in pending_folder(project).glob("*.json"))
    stale = repair_heartbeats(open_client(uri), journaled_here=here)
    for run_id in stale:
        print(f"closed run {run_id} as lost")
    print(f"{len(settled.lost) + len(stale)} lost run(s) closed in {redact_uri(uri)}")
    return 0


def _print(settled: Settled) -> None:
    for journal, cut in settled.cut:
        print(f"journal {journal} was cut: {cut}; its whole lines were delivered")
    for run_id in settled.delivered:
        print(f"delivered run {run_id}")
    for run_id in settled.lost:
        print(f"closed run {run_id} as lost")
