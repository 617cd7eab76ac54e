"""Caps: the wall-time, memory and CPU limits a short declares, parsed and checked.

Parsing lives apart from enforcement (``shorts.runner``) so the CLI can refuse a malformed or
unhonourable cap before any process starts or any MLflow run exists.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from shorts import record
from shorts.errors import UsageError

HEADROOM_RANGE = (1.0, 100.0)
HEADROOM_FORMS = (
    "a factor from 1 to 100 (e.g. 1.5): a recommended cap is the observed peak times it"
)
ON_MEMOUT = ("fail", "retry")
DEFAULT_HEADROOM = 1.5
DURATION_FORMS = "a number of seconds or a number with s, m or h (e.g. 90, '90s', '10m', '1.5h')"
SIZE_FORMS = "a number of bytes or a number with KB, MB, GB, KiB, MiB or GiB (e.g. '512MB', '2GiB')"

_DURATION_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 2**10,
    "kib": 2**10,
    "m": 2**20,
    "mib": 2**20,
    "g": 2**30,
    "gib": 2**30,
    "tib": 2**40,
}
_NUMBER_WITH_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_duration(value: Any, key: str = "duration") -> float:
    """Seconds from ``90``, ``"90s"``, ``"10m"`` or ``"1h"``; a ``UsageError`` naming the forms."""
    if isinstance(value, bool):
        raise UsageError(f"{key}={value!r} is not a duration; use {DURATION_FORMS}.")
    if isinstance(value, int | float):
        seconds = float(value) if abs(value) < 1e308 else math.inf
    else:
        match = _NUMBER_WITH_UNIT.match(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _DURATION_UNITS:
            raise UsageError(f"{key}={value!r} is not a duration; use {DURATION_FORMS}.")
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"{key}={value!r} must be a positive duration; use {DURATION_FORMS}.")
    return seconds


def parse_size(value: Any, key: str = "size") -> int:
    """Bytes from ``"512MB"``, ``"2GiB"`` or a plain number of bytes."""
    if isinstance(value, bool):
        raise UsageError(f"{key}={value!r} is not a memory size; use {SIZE_FORMS}.")
    not_positive = UsageError(f"{key}={value!r} must be a positive memory size; use {SIZE_FORMS}.")
    if isinstance(value, int):
        size = Fraction(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise not_positive
        size = Fraction(value)
    else:
        match = _NUMBER_WITH_UNIT.match(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise UsageError(f"{key}={value!r} is not a memory size; use {SIZE_FORMS}.")
        # Exact decimal arithmetic ('4.1MB' is 4100000 bytes, not a float's 4099999); the float
        # first bounds the exponent, so '1e-99999999' cannot make Fraction build a huge power.
        approx = float(match.group(1))
        if not math.isfinite(approx) or approx <= 0:
            raise not_positive
        try:
            size = Fraction(match.group(1)) * _SIZE_UNITS[unit]
        except ValueError:  # more digits than Python converts
            raise not_positive from None
    if size < 1:
        raise not_positive
    return int(size)


def parse_headroom(value: Any, key: str = "caps.headroom") -> float:
    """The headroom factor (a number or numeric text, 1 to 100); a ``UsageError`` otherwise.

    One parser for every place a user gives it (the caps config, ``shorts caps suggest
    --headroom``, ``shorts retro --headroom``), so they accept and refuse the same values.
    """
    if isinstance(value, bool):
        factor = math.nan
    elif isinstance(value, int | float):
        factor = float(value)
    else:
        try:
            factor = float(str(value))
        except ValueError:
            factor = math.nan
    low, high = HEADROOM_RANGE
    if not math.isfinite(factor) or not low <= factor <= high:
        given = f"{key} {value!r}" if key.startswith("--") else f"{key}={value!r}"
        raise UsageError(f"{given} is not accepted; use {HEADROOM_FORMS}.")
    return factor


def format_size(n_bytes: float) -> str:
    """Human-readable binary size, e.g. ``1.5 GiB``."""
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n_bytes) >= factor:
            return f"{n_bytes / factor:.1f} {unit}"
    return f"{n_bytes:.0f} B"


def format_duration(seconds: float) -> str:
    """Compact duration, e.g. ``1m05s`` or ``2.3s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass(frozen=True)
class Caps:
    """Validated caps, in seconds, bytes and cores.

    ``soft_fraction`` places the soft deadline (the one a short can poll) at that fraction of the
    wall time; at the wall time itself the tree gets SIGTERM, and SIGKILL ``grace`` seconds later.

    ``headroom`` and ``on_memout`` are not limits but the policy around the memory cap: a cap
    below ``headroom`` x the short's last observed peak draws a warning before the run starts,
    and ``on_memout="retry"`` reruns a memout once with its memory cap times ``headroom``
    (``shorts.headroom``).
    """

    wall_time: float
    memory: int
    cpus: int
    grace: float
    soft_fraction: float = 0.9
    headroom: float = DEFAULT_HEADROOM
    on_memout: str = "fail"

    @property
    def soft_time(self) -> float:
        """Seconds after start at which ``ctx.should_stop()`` turns true."""
        return self.wall_time * self.soft_fraction

    def as_tags(self) -> dict[str, str]:
        """The caps as MLflow tags, in units a person reads (display only: readers take
        ``as_metrics``)."""
        return {
            record.CAPS_WALL_TIME: format_duration(self.wall_time),
            record.CAPS_MEMORY: format_size(self.memory),
            record.CAPS_CPUS: str(self.cpus),
            record.CAPS_GRACE: format_duration(self.grace),
        }

    def as_metrics(self) -> dict[str, float]:
        """The caps as MLflow metrics in fixed units: seconds, bytes, cores
        (``shorts.record.CAP_METRICS``)."""
        return record.cap_metrics(self.wall_time, self.memory, self.cpus, self.grace)


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
    grace_raw = raw.get("grace", "2s")
    # Defaulted, so a project's own caps files written before these keys existed keep working.
    on_memout = raw.get("on_memout", "fail")
    if on_memout not in ON_MEMOUT:
        raise UsageError(f"caps.on_memout={on_memout!r} is not accepted; use fail or retry.")
    return Caps(
        wall_time=parse_duration(raw.get("wall_time"), "caps.wall_time"),
        memory=parse_size(raw.get("memory"), "caps.memory"),
        cpus=cpus_raw,
        grace=parse_duration(grace_raw, "caps.grace"),
        soft_fraction=float(soft),
        headroom=parse_headroom(raw.get("headroom", DEFAULT_HEADROOM)),
        on_memout=str(on_memout),
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
    import psutil

    usable_cpus = len(os.sched_getaffinity(0))
    if caps.cpus > usable_cpus:
        raise UsageError(
            f"caps.cpus={caps.cpus} but this machine lets shorts use {usable_cpus} core(s); "
            f"use caps.cpus between 1 and {usable_cpus}."
        )
    available = psutil.virtual_memory().available
    if caps.memory > available:
        raise UsageError(
            f"caps.memory={format_size(caps.memory)} is more than the {format_size(available)} "
            f"this machine has available; use a cap at most {format_size(available)}."
        )
