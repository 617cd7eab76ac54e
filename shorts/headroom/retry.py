"""``caps.on_memout=retry``: rerun a memout once, with its memory cap times the headroom.

Opt-in (the default is ``fail``), once only, and only when this machine has that much memory
available: a retry that the kernel's OOM killer would end is worse than none. The two runs are
linked in MLflow: ``shorts.retry_of`` on the second names the first, ``shorts.retried_as`` on the
first names the second, and both run notes say so. The first keeps its outcome ``memout``.

Sweep trials never retry (they call ``shorts.launch.execute`` directly): a trial's memout is
information for the search, and a retry would spend the sweep's budget on a point it already
judged. ``shorts run`` and the jobs of ``shorts run -m`` do (``shorts.launch.execute_retrying``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from shorts.caps import Caps, format_size, preflight
from shorts.errors import UsageError

__all__ = ["MemoutRetry", "plan_memout_retry"]


@dataclass(frozen=True)
class MemoutRetry:
    """How a memout is rerun: the raised cap, or why it is not rerun."""

    old_memory: int  # bytes
    new_memory_mib: int  # ceil(old cap x headroom), whole MiB so the override reads back exactly
    headroom: float
    refusal: str | None  # why not, in a line; None when the retry goes ahead

    @property
    def new_memory(self) -> int:
        return self.new_memory_mib * 2**20

    @property
    def override(self) -> str:
        """The override that reproduces the retry: ``caps.memory=240MiB``."""
        return f"caps.memory={self.new_memory_mib}MiB"

    def announcement(self, memout_id: str) -> str:
        """What the terminal says when the retry starts (or why it does not); the memout's run
        is named, as parallel multirun jobs share the terminal."""
        head = f"shorts: memout at {format_size(self.old_memory)}; "
        if self.refusal is not None:
            return head + f"not retried: {self.refusal} (run {memout_id})"
        return (
            head + f"retrying once with {self.override} (headroom {self.headroom:g}) as a new "
            f"run linked to run {memout_id}"
        )

    def first_note(self, hypothesis: str, retry_id: str) -> str:
        """The memout's run note once its retry exists."""
        return (
            f"{hypothesis}\n\nRan out of memory at its {format_size(self.old_memory)} cap; "
            f"retried as run {retry_id} with {self.override} (headroom {self.headroom:g})."
        ).strip()

    def retry_note(self, hypothesis: str, first_id: str) -> str:
        """The retry's run note."""
        return (
            f"{hypothesis}\n\nRetry of run {first_id}, which ran out of memory at its "
            f"{format_size(self.old_memory)} cap: {self.override} (headroom {self.headroom:g})."
        ).strip()


def plan_memout_retry(caps: Caps) -> MemoutRetry:
    """The retry of a memout under ``caps``: the cap raised by ``caps.headroom``, if it fits.

    The raised cap goes through the same preflight as any run's caps, so a retry is refused for
    the same reason a user's cap would be (more memory than this machine has available).
    """
    new_mib = math.ceil(caps.memory * caps.headroom / 2**20)
    refusal: str | None = None
    if new_mib * 2**20 <= caps.memory:
        refusal = (
            f"caps.headroom={caps.headroom:g} would rerun it under the same cap; raise "
            "caps.headroom above 1 to retry"
        )
    else:
        try:
            preflight(replace(caps, memory=new_mib * 2**20))
        except UsageError as exc:
            refusal = f"with headroom {caps.headroom:g}, {str(exc).rstrip('.')}"
    return MemoutRetry(caps.memory, new_mib, caps.headroom, refusal)
