"""How figures read inside the retro's sentences: durations, MiB, shares and counts.

One place for them, so a cap lesson in a retrospective and the advice of ``shorts caps suggest``
write the same figure the same way.
"""

from __future__ import annotations

from shorts.caps import format_duration, format_size

__all__ = ["mib", "pct", "seconds", "times"]


def seconds(value: float | None) -> str:
    """A duration in seconds as ``2.3s``, ``1m05s`` or ``2h03m`` (0 for unknown)."""
    return format_duration(value or 0.0)


def mib(value: float | None) -> str:
    """A size in MiB as ``212.0 MiB`` or ``1.5 GiB`` (0 for unknown)."""
    return format_size((value or 0.0) * 2**20)


def pct(share: float) -> str:
    """A share as ``45%``, or ``4.5%`` below a tenth."""
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"


def times(n: int, what: str, plural: str | None = None) -> str:
    """``1 memout``, ``3 memouts`` (``plural`` for words that do not just take an s)."""
    return f"{n} {what}" if n == 1 else f"{n} {plural or what + 's'}"
