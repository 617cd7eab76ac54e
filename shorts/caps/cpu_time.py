"""The CPU-time cap: user + system CPU seconds of the whole worker tree (BenchExec's ``cputime``).

A short that spins on several cores (or in children) uses CPU faster than wall time passes; one
that waits on I/O uses less. On crossing the cap the tree gets SIGTERM and ``caps.grace`` seconds
to stop, as at the wall-time cap.
"""

from __future__ import annotations

from shorts import record
from shorts.caps.base import DurationCap, Usage
from shorts.outcome import Outcome


class CpuTime(DurationCap):
    key = "cpu_time"
    noun = "CPU-time"
    gauge = "cpu"
    outcome = Outcome.CPUTIME
    usage_metric = record.CPU_SECONDS

    @staticmethod
    def used(usage: Usage) -> float:
        return usage.cpu_seconds

    def reason(self, usage: Usage) -> str:
        return (
            f"the worker tree used {usage.cpu_seconds:.2f} CPU seconds, over the "
            f"{self.display(self.limit)} {self.noun} cap, after {self.display(usage.elapsed)}"
        )
