"""Accounting and signalling for a worker process tree: its members, memory and CPU time.

The supervisor samples the tree every few tens of milliseconds, so each sample must be cheap.
The members come from the kernel's ``/proc/<pid>/task/<tid>/children`` lists below the guardian
(``_guardian.descendants``, standard library only since the guardian runs with ``python -I -S``),
not from psutil's ``children()``, which scans every process on the machine; each member's
facts come from psutil, one ``oneshot`` read per process. Memory is the resident set of the
whole tree (a conservative sum: shared pages count once per process), never virtual memory.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, field

import psutil

from shorts.runner import _guardian

_GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)  # exited, awaiting (or past) the reap


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
    _processes: dict[int, psutil.Process] = field(default_factory=dict, repr=False)

    def _members(self) -> list[psutil.Process]:
        """The guardian's descendants, as psutil processes kept from one sample to the next."""
        found = {}
        for pid in _guardian.descendants(self.guardian_pid):
            process = self._processes.get(pid)
            if process is None:
                try:
                    process = psutil.Process(pid)
                except psutil.Error:
                    continue
            found[pid] = process
        self._processes = found
        return list(found.values())

    def live_pids(self) -> list[int]:
        """Descendants that have not exited (zombies awaiting the guardian's reap excluded)."""
        live = []
        for process in self._members():
            with contextlib.suppress(psutil.Error):
                if process.status() not in _GONE:
                    live.append(process.pid)
        return live

    def sample(self) -> TreeSample:
        """Sum resident memory and note CPU time of every live process in the tree."""
        total = 0
        pids = []
        for process in self._members():
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    # Only an exited process has no resident pages: ask its state (a further
                    # read) only then.
                    if rss == 0 and process.status() in _GONE:
                        continue
                    cpu = process.cpu_times()
            except psutil.Error:
                continue
            total += rss
            pids.append(process.pid)
            self.cpu_by_pid[process.pid] = cpu.user + cpu.system
        self.peak_rss = max(self.peak_rss, total)
        return TreeSample(total, pids)

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU seconds of every process seen so far, at its last sample."""
        return sum(self.cpu_by_pid.values())

    def signal_all(self, signum: int) -> None:
        """Send ``signum`` to the worker's process group and to every live descendant."""
        _guardian.signal_all(self.worker_pgid, self.live_pids(), signum)

    def kill_all(self) -> None:
        """SIGKILL the whole tree."""
        self.signal_all(signal.SIGKILL)
