"""Where a row's feature values sit among all rows of the data: what makes a number readable.

Why: diabetes' features are standardised, so ``bmi = 0.0617`` says little, "91st percentile of 442
rows" a lot. Many-valued numbers get a percentile bar, few-valued ones (``DISCRETE_LEVELS``) their
level as dots, a one-hot group its level; each with its share of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shorts import reports
from shorts.inspect.row_ids import FloatArray

DISCRETE_LEVELS = 6
BAR_WIDTH = 21


@dataclass(frozen=True)
class FeatureReading:
    """One feature of one row, ready to show: its ``name`` (a one-hot group's, without
    ``=level``), its ``value`` as text, a ``bar`` of where it sits (a percentile bar with the
    median marked ``┼``, or one dot per level; ``""``: none) whose ``marker``-th character is
    highlighted (-1: none), the same in words (``where``: ``91st percentile``, ``47% of rows``),
    and a ``short`` form for tables of many rows side by side: ``0.0617 (p91)``."""

    name: str
    value: str
    bar: str
    marker: int
    where: str
    short: str


@dataclass(frozen=True)
class _Feature:
    name: str
    columns: tuple[int, ...]
    levels: tuple[str, ...]  # one per column for a one-hot group; () for a numeric feature


def format_value(value: float) -> str:
    """A number as a person reads it: ``150``, ``0.0617``, ``-1.25``, ``missing``
    (``shorts.reports.format_value``, with NaN said in words)."""
    value = float(value)
    return "missing" if math.isnan(value) else reports.format_value(value)


def plain_number(value: float) -> str:
    """A number as a spreadsheet cell, at full precision; ``""`` when missing."""
    return "" if math.isnan(value) else f"{float(value):.10g}"


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``62nd``."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class FeatureContext:
    """The distribution of every feature over all rows (``X``, NaN: missing; one name per
    column), to place one row's values in it."""

    def __init__(self, X: FloatArray, names: list[str]) -> None:
        self.rows = int(X.shape[0])
        self._X = X
        self._features = _features(X, names)
        self._sorted = {
            f.columns[0]: np.sort(X[~np.isnan(X[:, f.columns[0]]), f.columns[0]])
            for f in self._features
            if not f.levels
        }

    @property
    def names(self) -> list[str]:
        """The features as a person reads them (one-hot groups folded into one)."""
        return [f.name for f in self._features]

    def plain(self, row: FloatArray) -> list[str]:
        """Each feature of ``row`` as a cell for a spreadsheet: a one-hot group's level, a
        number at full precision, ``""`` when missing."""
        cells = []
        for feature in self._features:
            if feature.levels:
                hot = [i for i, c in enumerate(feature.columns) if row[c] == 1.0]
                cells.append(feature.levels[hot[0]] if hot else "")
            else:
                cells.append(plain_number(row[feature.columns[0]]))
        return cells

    def read(self, row: FloatArray) -> list[FeatureReading]:
        """Each feature of ``row`` (one row of ``X``) with where it sits among all rows."""
        return [self._read(feature, row) for feature in self._features]

    def _read(self, feature: _Feature, row: FloatArray) -> FeatureReading:
        if feature.levels:
            return self._read_group(feature, row)
        column = feature.columns[0]
        value = float(row[column])
        values = self._sorted[column]
        if math.isnan(value) or len(values) == 0:
            missing = 1.0 - len(values) / max(self.rows, 1)
            return FeatureReading(
                feature.name, "missing", "", -1, f"missing ({missing:.0%} of rows)", "missing"
            )
        text = format_value(value)
        levels = np.unique(values)
        if len(levels) <= DISCRETE_LEVELS:
            index = int(np.searchsorted(levels, value))
            known = index < len(levels) and levels[index] == value
            share = float(np.mean(values == value))
            bar = " ".join("●" if known and i == index else "○" for i in range(len(levels)))
            where = f"{share:.0%} of rows" if known else "not a value seen in the data"
            marker = 2 * index if known else -1
            return FeatureReading(feature.name, text, bar, marker, where, f"{text} ({share:.0%})")
        below = int(np.searchsorted(values, value, side="left"))
        upto = int(np.searchsorted(values, value, side="right"))
        percentile = 100.0 * (below + 0.5 * (upto - below)) / len(values)
        rank = min(99, max(1, round(percentile)))
        tied = (upto - below) / len(values)
        where = f"{ordinal(rank)} percentile"
        if value <= values[0] or value >= values[-1]:
            low = value <= values[0]
            alone = f"the {'lowest' if low else 'highest'} of all rows"
            tie = f"the {'minimum' if low else 'maximum'} ({tied:.0%} of rows)"
            where = alone if upto - below <= 1 else tie
        position = min(BAR_WIDTH - 1, max(0, round(percentile / 100.0 * (BAR_WIDTH - 1))))
        line = ["─"] * BAR_WIDTH
        line[BAR_WIDTH // 2] = "┼"  # the median, for reference
        line[position] = "●"
        bar = "".join(line)
        return FeatureReading(feature.name, text, bar, position, where, f"{text} (p{rank})")

    def _read_group(self, feature: _Feature, row: FloatArray) -> FeatureReading:
        values = row[list(feature.columns)]
        hot = [i for i, v in enumerate(values) if v == 1.0]
        if not hot:
            level = "missing" if np.isnan(values).any() else "(none of its levels)"
            block = self._X[:, list(feature.columns)]
            share = float(np.mean(~(block == 1.0).any(axis=1)))
            return FeatureReading(feature.name, level, "", -1, f"{share:.0%} of rows", level)
        level = feature.levels[hot[0]]
        share = float(np.mean(self._X[:, feature.columns[hot[0]]] == 1.0))
        return FeatureReading(
            feature.name, level, "", -1, f"{share:.0%} of rows", f"{level} ({share:.0%})"
        )


def _features(X: FloatArray, names: list[str]) -> list[_Feature]:
    """The columns as a person reads them: one-hot ``column=value`` groups folded into one."""
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        prefix, sep, _ = name.partition("=")
        if sep and prefix:
            groups.setdefault(prefix, []).append(index)
    features = {index: _Feature(name, (index,), ()) for index, name in enumerate(names)}
    for prefix, columns in groups.items():
        block = X[:, columns]
        if np.isin(block[~np.isnan(block)], (0.0, 1.0)).all():
            levels = tuple(names[c].partition("=")[2] for c in columns)
            features[columns[0]] = _Feature(prefix, tuple(columns), levels)  # in its place
            for column in columns[1:]:
                del features[column]
    return list(features.values())
