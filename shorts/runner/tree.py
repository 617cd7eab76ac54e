"""Accounting and signalling for a worker process tree, read straight from /proc.

The supervisor samples the tree every few tens of milliseconds, so each sample must be cheap:
reading ``/proc/<pid>/task/<tid>/children``, ``statm`` and ``stat`` of the tree's own processes
costs far less than psutil's scan of every process on the machine. Memory is the resident set of
the whole tree (a conservative sum: shared pages count once per process), never virtual memory.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field

from shorts.runner._guardian import descendants

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class TreeSample:
    """One look at the tree: total resident bytes and the live process ids."""

    rss: int
    pids: list[int]


@dataclass
class ProcessTree:
    """The processes below the guardian (the worker, its children, adopted orphans)."""

    guardian_pid: int
    worker_pgid: int | None = None
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0

    def live_pids(self) -> list[int]:
        """Descendants that have not exited (zombies awaiting the guardian's reap excluded)."""
        return [
            pid for pid in descendants(self.guardian_pid) if _state(pid) not in ("Z", "X", None)
        ]

    def sample(self) -> TreeSample:
        """Sum resident memory and note CPU time of every live process in the tree."""
        total = 0
        pids = self.live_pids()
        for pid in pids:
            total += _rss(pid)
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.cpu_by_pid[pid] = cpu
        self.peak_rss = max(self.peak_rss, total)
        return TreeSample(total, pids)

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU seconds of every process seen so far, at its last sample."""
        return sum(self.cpu_by_pid.values())

    def signal_all(self, signum: int) -> int:
        """Send ``signum`` to the worker's process group and to every live descendant."""
        if self.worker_pgid is not None:
            try:
                os.killpg(self.worker_pgid, signum)
            except OSError:
                pass
        pids = self.live_pids()
        for pid in pids:
            try:
                os.kill(pid, signum)
            except OSError:
                pass
        return len(pids)

    def kill_all(self) -> int:
        """SIGKILL the whole tree; returns how many processes were signalled."""
        return self.signal_all(signal.SIGKILL)


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3].decode()


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK
