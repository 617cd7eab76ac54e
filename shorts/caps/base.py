"""The protocol every cap follows: parse, preflight, check a sample, evidence, record, display.

A cap is one small frozen object holding its limit in a fixed unit (seconds, bytes). The
supervisor loops over the caps a run was given and asks each whether a sample of the tree
breaches it; the outcome, the reason, the metrics and the advice all come from the cap. A new
kind of cap is one module with one subclass, listed in ``shorts.caps.KINDS`` (pynisher's
``Limiter``: one method per limit; BenchExec: one termination reason per limit).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Self

from shorts import record
from shorts.caps.units import format_duration, parse_duration
from shorts.outcome import Outcome


class Usage(NamedTuple):
    """What the worker tree has used: a live sample, or the run's totals at its end."""

    elapsed: float  # seconds since the worker started
    cpu_seconds: float  # user + system CPU of the whole tree
    rss: int  # resident bytes of the tree (at its end: the peak)
    n_procs: int = 0


@dataclass(frozen=True)
class Cap(ABC):
    """One limit on a run, in the fixed unit of its kind."""

    limit: float

    key: ClassVar[str]  # the config key under ``caps``: ``caps.cpu_time``
    unit: ClassVar[str]  # the unit of ``limit`` and of the recorded metric: seconds, bytes
    noun: ClassVar[str]  # in sentences: "the 60s CPU-time cap"
    outcome: ClassVar[Outcome]  # what a breach ends the run as
    usage_metric: ClassVar[str]  # the record's metric of what the run used (``shorts.record``)
    gauge: ClassVar[str] = ""  # its label on the live status line: ``mem 80 MiB / 2 GiB``
    # A breach kills the tree at once (memory grows too fast to wait); otherwise it gets SIGTERM
    # and ``caps.grace`` seconds to stop, as at the wall-time cap.
    immediate: ClassVar[bool] = False
    # Advised by the generic rule of ``shorts.retro.cap_lessons`` (headroom x the most a run
    # used; a run the cap stopped needed more than its cap); wall time and memory have their own.
    generic_advice: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def parse(cls, value: Any) -> Self:
        """The cap from its config value; a ``UsageError`` naming ``caps.KEY`` and the forms."""

    @staticmethod
    @abstractmethod
    def display(value: float) -> str:
        """A value in this cap's unit as a person reads it: ``1m05s``, ``768.0 MiB``."""

    @staticmethod
    @abstractmethod
    def used(usage: Usage) -> float:
        """What of this cap the tree has used, in its unit."""

    def preflight(self) -> None:
        """Refuse, with a ``UsageError``, a cap this machine cannot honour (default: any)."""
        return None

    def due(self, started: float) -> float | None:
        """When the cap will be breached whatever the tree does (a deadline), on the clock
        ``started`` is read from; None for a cap that only a sample can breach."""
        return None

    def breached(self, usage: Usage) -> bool:
        return self.used(usage) > self.limit

    def reason(self, usage: Usage) -> str:
        """The breach in words, from the numbers (the supervisor adds how the tree stopped)."""
        return (
            f"the worker tree used {self.display(self.used(usage))}, over the "
            f"{self.display(self.limit)} {self.noun} cap, after {format_duration(usage.elapsed)}"
        )

    @classmethod
    @abstractmethod
    def override(cls, value: float) -> str:
        """The override that sets this cap to ``value`` (rounded up): ``caps.cpu_time=62s``."""

    @classmethod
    def metric(cls) -> str:
        """The cap's numeric metric: ``shorts.caps.KEY_UNIT``."""
        return record.caps_metric(cls.key, cls.unit)

    def as_tags(self) -> dict[str, str]:
        return {record.caps_tag(self.key): self.display(self.limit)}

    def as_metrics(self) -> dict[str, float]:
        return {self.metric(): float(self.limit)}

    def usage_metrics(self, usage: Usage) -> dict[str, float]:
        """The share of the cap the run used (``shorts.cap_used.KEY``)."""
        return {record.cap_used(self.key): self.used(usage) / self.limit}

    def evidence(self, usage: Usage) -> dict[str, Any]:
        """The breach as the observation records it (``observation.json``)."""
        return {
            "cap": self.key,
            "unit": self.unit,
            "limit": self.limit,
            "used": round(self.used(usage), 3),
        }


class DurationCap(Cap):
    """A cap measured in seconds (wall time, CPU time): ``90``, ``"90s"``, ``"10m"``, ``"1h"``."""

    unit = "seconds"

    @classmethod
    def parse(cls, value: Any) -> Self:
        return cls(parse_duration(value, f"caps.{cls.key}"))

    @staticmethod
    def display(value: float) -> str:
        return format_duration(value)

    @classmethod
    def override(cls, value: float) -> str:
        return f"caps.{cls.key}={math.ceil(value)}s"
