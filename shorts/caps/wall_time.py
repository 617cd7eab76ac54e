"""The wall-time cap: seconds from the worker's start; SIGTERM at the cap, SIGKILL after grace."""

from __future__ import annotations

from shorts import record
from shorts.caps.base import DurationCap, Usage
from shorts.outcome import Outcome


class WallTime(DurationCap):
    key = "wall_time"
    noun = "wall-time"
    outcome = Outcome.TIMEOUT
    usage_metric = record.WALL_SECONDS
    generic_advice = False  # a timeout's need is estimated from its progress (cap_lessons)

    @staticmethod
    def used(usage: Usage) -> float:
        return usage.elapsed

    def due(self, started: float) -> float | None:
        return started + self.limit

    def breached(self, usage: Usage) -> bool:
        return usage.elapsed >= self.limit

    def reason(self, usage: Usage) -> str:
        return f"still running at the {self.display(self.limit)} {self.noun} cap"
