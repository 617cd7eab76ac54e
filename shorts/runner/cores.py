"""Which cores a worker gets: free ones first, so parallel shorts do not share one core.

Pinning every worker with ``caps.cpus=1`` to "the first core" would make two parallel jobs (a
multirun, a sweep with ``--jobs 2``) take turns on core 0 while core 1 idles. Each supervisor
claims its cores with advisory locks, machine-wide (in the temp folder), held for the run's life
and released by the kernel if the supervisor dies.

When more runs want cores than there are, cores are shared evenly: every core has a first slot
(``cpuN.lock``), a second (``cpuN.1.lock``), and so on, and a claim takes the lowest free slot of
any core before a higher one. So a third run on two busy cores shares one of them, and a fourth
shares the other, instead of every run past the free cores piling onto core 0. The cap (how many
cores) holds either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

SLOTS = 8  # runs per core told apart; past that, the lowest-numbered cores are shared


class CoreClaim:
    """The cores one run is pinned to, and the locks that say so to other supervisors."""

    def __init__(self, wanted: int, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.gettempdir()) / f"shorts-cores-{os.getuid()}"
        self.wanted = wanted
        self.cores: list[int] = []
        self._handles: list[IO[str]] = []

    def acquire(self) -> list[int]:
        """Claim ``wanted`` cores, the least shared first; return the chosen cores, sorted."""
        usable = sorted(os.sched_getaffinity(0))
        with contextlib.suppress(OSError):  # without the folder no share can be locked
            self.folder.mkdir(parents=True, exist_ok=True)
        for slot in range(SLOTS):
            for core in usable:
                if len(self.cores) == self.wanted:
                    return sorted(self.cores)
                if core not in self.cores and self._lock(core, slot):
                    self.cores.append(core)
        free = [core for core in usable if core not in self.cores]  # past every slot: shared
        self.cores += free[: self.wanted - len(self.cores)]
        return sorted(self.cores)

    def _lock(self, core: int, slot: int) -> bool:
        """Take the ``slot``-th share of ``core`` if no other run holds it."""
        name = f"cpu{core}.lock" if slot == 0 else f"cpu{core}.{slot}.lock"
        try:
            handle = open(self.folder / name, "a+")  # noqa: SIM115 (held for the run)
        except OSError:  # e.g. a lock file left unwritable: that share cannot be claimed
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handles.append(handle)
        return True

    def release(self) -> None:
        """Give the claimed cores back (closing a file drops its lock)."""
        for handle in self._handles:
            handle.close()
        self._handles.clear()
