"""Duplicate rows: records entered twice (ids aside), and equal features with unequal targets.

A copy in another fold lets a model be tested on a row it trained on; rows with the same
features and different targets put a floor under every model's error. It fits no model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from shorts.inspect.checks import columns as columns_check
from shorts.inspect.checks.base import Check, Context, Items
from shorts.inspect.findings import ChecklistItem, Inspection, Remedies, listed
from shorts.reports.document import Block, Paragraph
from shorts.retro.wording import pct

if TYPE_CHECKING:
    import pandas as pd

EXAMPLE_GROUPS = 5
FEW_VALUES = 20  # features with at most this many values make equal rows plausible by chance


@dataclass(frozen=True)
class Duplicates:
    """Rows that repeat other rows.

    Attributes:
        exact_rows: rows equal to an earlier row in every column.
        duplicate_rows: rows equal to an earlier row in every column but the ID-like ones
            (a record entered twice under two ids is still a duplicate).
        ignored_columns: the ID-like columns left out of that comparison.
        conflicting_groups: groups of rows with equal features (target, ID-like and dropped
            columns aside) but more than one target value.
        conflicting_rows: the rows in those groups.
        examples: row numbers of a few duplicate groups (first row, then its copies).
        conflict_examples: row numbers of a few conflicting groups.
    """

    exact_rows: int
    duplicate_rows: int
    ignored_columns: list[str]
    conflicting_groups: int
    conflicting_rows: int
    examples: list[list[int]]
    conflict_examples: list[list[int]]


def _groups(frame: pd.DataFrame, columns: list[str]) -> list[list[int]]:
    """Row numbers of rows equal in ``columns`` (NaN equals NaN), groups of two or more."""
    import pandas as pd

    if not columns or frame.empty:
        return []
    keys = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return [sorted(order[s:e].tolist()) for s, e in zip(starts, ends, strict=True) if e - s > 1]


def find_duplicates(
    frame: pd.DataFrame, target: str | None, id_columns: list[str], left_out: list[str]
) -> Duplicates:
    """Exact duplicates, duplicates but for ``id_columns``, and equal features (``left_out``
    columns, e.g. ``dataset.drop``, aside) with unequal ``target`` values."""
    columns = [str(c) for c in frame.columns]
    records = [c for c in columns if c not in id_columns]
    # Rows alike in the target alone (every other column an id) are not duplicate records.
    groups = _groups(frame, records) if set(records) - {target} else []
    features = [c for c in records if c != target and c not in left_out]
    conflicts: list[list[int]] = []
    if target is not None and target in columns and features:
        labels = frame[target].to_numpy()
        for group in _groups(frame, features):
            present = {v for v in labels[group].tolist() if v == v}  # NaN is not a label
            if len(present) > 1:
                conflicts.append(group)
    return Duplicates(
        exact_rows=int(frame.duplicated().sum()) if columns else 0,
        duplicate_rows=sum(len(g) - 1 for g in groups),
        ignored_columns=[c for c in id_columns if c in columns],
        conflicting_groups=len(conflicts),
        conflicting_rows=sum(len(g) for g in conflicts),
        examples=groups[:EXAMPLE_GROUPS],
        conflict_examples=conflicts[:EXAMPLE_GROUPS],
    )


def of(found: Inspection) -> Duplicates:
    return cast(Duplicates, found.findings[DuplicateRows.name])


class DuplicateRows(Check):
    """Rows equal to an earlier one but for the ids; groups of equal features, unequal targets."""

    name = "duplicates"
    title = "Duplicate rows"

    def compute(self, ctx: Context, found: Inspection) -> Duplicates:
        ids = columns_check.id_like(found)
        return find_duplicates(ctx.frame, ctx.target, ids, ctx.drop)

    def headline(self, found: Inspection) -> str:
        return f"{of(found).duplicate_rows:,} duplicate rows"

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        return (_duplicates(found), _conflicts(found))

    def blocks(self, found: Inspection) -> list[Block]:
        d = of(found)
        ignored = f"the ID-like column(s) {', '.join(d.ignored_columns)}"
        blocks: list[Block] = []
        if d.duplicate_rows:
            blocks.append(
                Paragraph.of(f"{d.duplicate_rows:,} rows repeat an earlier row.", style="alarm")
            )
            if d.ignored_columns:
                blocks.append(
                    Paragraph.of(
                        f"Rows are compared without {ignored}; {d.exact_rows:,} rows are exact "
                        "copies in every column."
                    )
                )
            if d.examples:
                examples = _groups_text(d.examples)
                blocks.append(Paragraph.of(f"Examples (row numbers, from 0): {examples}"))
        else:
            compared = f" (compared without {ignored})" if d.ignored_columns else ""
            blocks.append(Paragraph.of(f"No row repeats another{compared}.", style="ok"))
        if d.conflicting_groups:
            blocks.append(
                Paragraph.of(
                    f"{d.conflicting_groups:,} groups of rows ({d.conflicting_rows:,} rows) have "
                    f"the same features but different targets, e.g. rows "
                    f"{_groups_text(d.conflict_examples)}"
                )
            )
        else:
            blocks.append(
                Paragraph.of("No rows with equal features and different targets.", style="dim")
            )
        return blocks

    def metrics(self, found: Inspection) -> dict[str, float]:
        d = of(found)
        return {
            "duplicate_rows": d.duplicate_rows,
            "exact_duplicate_rows": d.exact_rows,
            "conflicting_rows": d.conflicting_rows,
        }


def _groups_text(groups: list[list[int]]) -> str:
    return "; ".join(", ".join(str(r) for r in g) for g in groups)


def _duplicates(found: Inspection) -> ChecklistItem | None:
    d = of(found)
    if d.duplicate_rows == 0:
        return None
    ignoring = (
        f" (ignoring the ID-like column{'s' if len(d.ignored_columns) > 1 else ''} "
        f"{listed(d.ignored_columns)})"
        if d.ignored_columns and d.duplicate_rows != d.exact_rows
        else ""
    )
    example = f"; e.g. rows {listed(d.examples[0], 5)}" if d.examples else ""
    features = [c.distinct for c in columns_check.profiles(found) if c.is_feature]
    if features and max(features) <= FEW_VALUES:
        example += (
            f". Every feature takes at most {max(features)} distinct values, so equal rows can "
            "be different records"
        )
    return ChecklistItem(
        "duplicates",
        "Duplicate rows",
        f"{d.duplicate_rows:,} rows ({pct(d.duplicate_rows / found.rows)}) repeat an earlier "
        f"row{ignoring}{example}.",
        "A copy in another fold lets the model be tested on a row it trained on, which inflates "
        "cross-validated scores. Drop the copies if they are the same record entered twice; if "
        "they are genuine repeats, keep each group in one fold (GroupKFold).",
        rank=20,
    )


def _conflicts(found: Inspection) -> ChecklistItem | None:
    d = of(found)
    if d.conflicting_groups == 0:
        return None
    example = f"; e.g. rows {listed(d.conflict_examples[0], 5)}" if d.conflict_examples else ""
    return ChecklistItem(
        "conflicting_targets",
        "Same features, different targets",
        f"{d.conflicting_groups:,} groups of rows ({d.conflicting_rows:,} rows) have identical "
        f"features but different targets{example}.",
        "No model can get both right: either the labels are noisy or a feature that tells them "
        "apart is missing. Expect an error floor; check a few groups by hand.",
        rank=40,
    )
