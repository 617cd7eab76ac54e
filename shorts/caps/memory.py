"""The memory cap: resident bytes of the whole worker tree; the tree is killed on crossing it.

Resident memory of the tree (not virtual memory of one process, which BLAS alone inflates) is
watched by sampling (``shorts.runner.tree``), since cgroup limits need a delegation many
machines do not give (FIELD_NOTES).
"""

from __future__ import annotations

import math
from typing import Any, Self

from shorts import record
from shorts.caps.base import Cap, Usage
from shorts.caps.units import format_duration, format_size, parse_size
from shorts.errors import UsageError
from shorts.outcome import Outcome


class Memory(Cap):
    key = "memory"
    unit = "bytes"
    noun = "memory"
    gauge = "mem"
    outcome = Outcome.MEMOUT
    usage_metric = record.PEAK_RSS_BYTES
    immediate = True  # a growing tree can take the machine down within a grace period
    generic_advice = False  # a memout's peak counts at least its cap (cap_lessons)

    @classmethod
    def parse(cls, value: Any) -> Self:
        return cls(parse_size(value, f"caps.{cls.key}"))

    @staticmethod
    def display(value: float) -> str:
        return format_size(value)

    @classmethod
    def override(cls, value: float) -> str:
        return f"caps.{cls.key}={math.ceil(value / 2**20)}MiB"

    @staticmethod
    def used(usage: Usage) -> float:
        return usage.rss

    def preflight(self) -> None:
        import psutil

        available = psutil.virtual_memory().available
        if self.limit > available:
            raise UsageError(
                f"caps.memory={format_size(self.limit)} is more than the "
                f"{format_size(available)} this machine has available; use a cap at most "
                f"{format_size(available)}."
            )

    def reason(self, usage: Usage) -> str:
        n = usage.n_procs
        return (
            f"the worker tree's resident memory reached {format_size(usage.rss)} "
            f"({n} process{'es' if n != 1 else ''}), over the {format_size(self.limit)} cap, "
            f"after {format_duration(usage.elapsed)}"
        )
