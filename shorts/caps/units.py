"""Numbers with units in caps: durations, memory sizes and the headroom factor, parsed and shown.

One parser per kind of number, shared by every cap and every command that takes one
(``shorts caps suggest --headroom``, ``shorts retro --headroom``), so they accept and refuse the
same values. Display text is made from numbers here and never parsed back into them.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from shorts.errors import UsageError

HEADROOM_FORMS = (
    "a factor from 1 to 100 (e.g. 1.5): a recommended cap is the observed peak times it"
)
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
    """The headroom factor (a number or numeric text, 1 to 100); a ``UsageError`` otherwise."""
    if isinstance(value, bool):
        factor = math.nan
    elif isinstance(value, int | float):
        factor = float(value)
    else:
        try:
            factor = float(str(value))
        except ValueError:
            factor = math.nan
    if not math.isfinite(factor) or not 1 <= factor <= 100:
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
