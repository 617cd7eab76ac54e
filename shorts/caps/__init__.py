"""Caps: the limits a short declares (wall time, memory, CPU time, cores), parsed and checked.

Each kind of limit is a ``Cap`` (``shorts.caps.base``) in a module of its own, listed once in
``KINDS``; the supervisor (``shorts.runner``) loops over a run's ``Caps.limits`` and never names
one. Parsing lives apart from enforcement so the CLI can refuse a malformed or unhonourable cap
before any process starts or any MLflow run exists.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from shorts import record
from shorts.caps.base import Cap, Usage
from shorts.caps.cpu_time import CpuTime
from shorts.caps.memory import Memory
from shorts.caps.units import (
    DEFAULT_HEADROOM,
    DURATION_FORMS,
    SIZE_FORMS,
    format_duration,
    format_size,
    parse_duration,
    parse_headroom,
    parse_size,
)
from shorts.caps.wall_time import WallTime
from shorts.errors import UsageError

__all__ = [
    "DURATION_FORMS",
    "KINDS",
    "ON_MEMOUT",
    "SIZE_FORMS",
    "Cap",
    "Caps",
    "CpuTime",
    "Memory",
    "Usage",
    "WallTime",
    "format_duration",
    "format_size",
    "kind_of",
    "parse_caps",
    "parse_duration",
    "parse_headroom",
    "parse_size",
    "preflight",
]

ON_MEMOUT = ("fail", "retry")
# Every kind of cap. Wall time and memory every run has (``Caps.wall_time``, ``Caps.memory``);
# the others are optional, absent or null in the config meaning no such cap.
REQUIRED: tuple[type[Cap], ...] = (WallTime, Memory)
KINDS: tuple[type[Cap], ...] = (*REQUIRED, CpuTime)


def kind_of(outcome: str) -> type[Cap] | None:
    """The kind of cap whose breach ends a run as ``outcome``; None for other outcomes."""
    return next((kind for kind in KINDS if kind.outcome == outcome), None)


@dataclass(frozen=True)
class Caps:
    """Validated caps, in seconds, bytes and cores.

    ``soft_fraction`` places the soft deadline (the one a short can poll) at that fraction of the
    wall time; at the wall time itself the tree gets SIGTERM, and SIGKILL ``grace`` seconds later.
    ``headroom`` and ``on_memout`` are the policy around the memory cap (``shorts.headroom``): a
    cap below ``headroom`` x the last observed peak draws a warning, and ``on_memout="retry"``
    reruns a memout once with its memory cap times ``headroom``.
    """

    wall_time: float
    memory: int
    cpus: int
    grace: float
    soft_fraction: float = 0.9
    headroom: float = DEFAULT_HEADROOM
    on_memout: str = "fail"
    optional: tuple[Cap, ...] = ()

    @property
    def soft_time(self) -> float:
        """Seconds after start at which ``ctx.should_stop()`` turns true."""
        return self.wall_time * self.soft_fraction

    @property
    def limits(self) -> tuple[Cap, ...]:
        """Every cap the supervisor enforces."""
        return (WallTime(self.wall_time), Memory(self.memory), *self.optional)

    def get(self, key: str) -> Cap | None:
        """The cap ``caps.KEY``, if the run has one."""
        return next((cap for cap in self.limits if cap.key == key), None)

    def as_tags(self) -> dict[str, str]:
        """The caps as MLflow tags for people (display only: readers take ``as_metrics``)."""
        tags = {tag: text for cap in self.limits for tag, text in cap.as_tags().items()}
        tags[record.CAPS_CPUS] = str(self.cpus)
        tags[record.CAPS_GRACE] = format_duration(self.grace)
        return tags

    def as_metrics(self) -> dict[str, float]:
        """The caps as MLflow metrics in fixed units: seconds, bytes, cores."""
        metrics = record.cap_metrics(self.wall_time, self.memory, self.cpus, self.grace)
        for cap in self.optional:
            metrics.update(cap.as_metrics())
        return metrics

    def usage_metrics(self, usage: Usage) -> dict[str, float]:
        """What the run used (``usage``: wall, CPU, peak), and the share of each cap it used."""
        metrics = record.usage_metrics(
            usage.elapsed, usage.cpu_seconds, usage.rss, self.wall_time, self.memory, self.cpus
        )
        for cap in self.optional:
            metrics.update(cap.usage_metrics(usage))
        return metrics


def parse_caps(raw: Any) -> Caps:
    """Turn the ``caps`` config node (a mapping) into ``Caps`` or raise a ``UsageError``."""
    if not hasattr(raw, "get"):
        raise UsageError("caps must be a mapping with wall_time, memory, cpus and grace.")
    cpus_raw = raw.get("cpus", 1)
    if isinstance(cpus_raw, bool) or not isinstance(cpus_raw, int) or cpus_raw < 1:
        raise UsageError(f"caps.cpus={cpus_raw!r} must be a whole number of cores, at least 1.")
    soft = raw.get("soft_fraction", 0.9)
    if isinstance(soft, bool) or not isinstance(soft, int | float) or not 0 < soft <= 1:
        raise UsageError(f"caps.soft_fraction={soft!r} must be a number in (0, 1].")
    # Defaulted, so a project's own caps files written before these keys existed keep working.
    on_memout = raw.get("on_memout", "fail")
    if on_memout not in ON_MEMOUT:
        raise UsageError(f"caps.on_memout={on_memout!r} is not accepted; use fail or retry.")
    wall_time, memory = (kind.parse(raw.get(kind.key)) for kind in REQUIRED)
    return Caps(
        wall_time=wall_time.limit,
        memory=int(memory.limit),
        cpus=cpus_raw,
        grace=parse_duration(raw.get("grace", "2s"), "caps.grace"),
        soft_fraction=float(soft),
        headroom=parse_headroom(raw.get("headroom", DEFAULT_HEADROOM)),
        on_memout=str(on_memout),
        optional=tuple(
            kind.parse(value)
            for kind in KINDS
            if kind not in REQUIRED and (value := raw.get(kind.key)) is not None
        ),
    )


def preflight(caps: Caps) -> None:
    """Refuse caps this machine cannot honour, before anything starts.

    A cap that is silently not enforced is worse than no cap: the run would be recorded as having
    run under a limit it never had.
    """
    if not sys.platform.startswith("linux"):
        raise UsageError(
            f"shorts enforces caps with Linux process controls (prctl, affinity); "
            f"this OS ({sys.platform}) is not supported."
        )
    usable_cpus = len(os.sched_getaffinity(0))
    if caps.cpus > usable_cpus:
        raise UsageError(
            f"caps.cpus={caps.cpus} but this machine lets shorts use {usable_cpus} core(s); "
            f"use caps.cpus between 1 and {usable_cpus}."
        )
    for cap in caps.limits:
        cap.preflight()
