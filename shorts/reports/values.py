"""Figures as a report shows them: at a glance, never misleading, a dash when unknown."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_number", "format_probability", "format_score", "format_value"]

DASH = "\N{EN DASH}"


def format_number(x: float | None) -> str:
    """A figure to read at a glance: ``0.4521``, ``152.1``, ``18,823``; a dash when unknown."""
    if x is None or not math.isfinite(x):
        return DASH
    if x == round(x) and abs(x) < 1e15:
        return f"{round(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def format_probability(p: float | None) -> str:
    """A probability (a p-value too) to three decimals, ``<0.001`` below that: never a
    misleading ``0.000`` or ``0.001`` for 0.0007. The one wording of p in every report."""
    if p is None or not math.isfinite(p):
        return DASH
    return "<0.001" if 0 < p < 0.001 else f"{p:.3f}"


def format_score(x: float | None, digits: int = 3) -> str:
    """A score (R², AUC, a probability) with fixed decimals: ``0.404``, ``-0.000``."""
    if x is None or not math.isfinite(x):
        return DASH
    return f"{x:.{digits}f}"


def format_value(value: Any) -> str:
    """A value from a table as it reads there: ids and counts without separators, floats
    to 4 significant digits, missing as an empty string."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)
