"""Which cores a worker gets: free ones first, so parallel shorts do not share one core.

Pinning every worker with ``caps.cpus=1`` to "the first core" would make two parallel jobs (a
multirun, a sweep with ``--jobs 2``) take turns on core 0 while core 1 idles. Each supervisor
claims its cores with an advisory lock per core, machine-wide (in the temp folder), held for the
run's life and released by the kernel if the supervisor dies. When every core is claimed, the
least-recently-listed ones are shared: the cap (how many cores) still holds.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO


class CoreClaim:
    """The cores one run is pinned to, and the locks that say so to other supervisors."""

    def __init__(self, wanted: int, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.gettempdir()) / f"shorts-cores-{os.getuid()}"
        self.wanted = wanted
        self.cores: list[int] = []
        self._handles: list[IO[str]] = []

    def acquire(self) -> list[int]:
        """Claim up to ``wanted`` free cores; top up with shared ones; return the chosen cores."""
        usable = sorted(os.sched_getaffinity(0))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            self.cores = usable[: self.wanted]
            return self.cores
        for core in usable:
            if len(self.cores) == self.wanted:
                break
            handle = open(self.folder / f"cpu{core}.lock", "a+")  # noqa: SIM115 (held for the run)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self._handles.append(handle)
            self.cores.append(core)
        for core in usable:
            if len(self.cores) == self.wanted:
                break
            if core not in self.cores:
                self.cores.append(core)
        return sorted(self.cores)

    def release(self) -> None:
        """Give the claimed cores back (closing a file drops its lock)."""
        for handle in self._handles:
            handle.close()
        self._handles.clear()
