"""The columns: types, missing values, constants, identifiers, text the models do not see.

It reads the table as its source holds it (what encoding into ``Dataset.X`` would hide or drop)
and fits no model. Its finding is one ``ColumnProfile`` per column.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from shorts.datasets import Dataset
from shorts.inspect.checks import target as target_check
from shorts.inspect.checks.base import Check, Context, Items
from shorts.inspect.findings import TIMES, ChecklistItem, Inspection, Remedies, listed
from shorts.reports.document import Block, Cell, Code, Paragraph, Plot, Table
from shorts.reports.figures import agg_figure, plot, plot_label, tidy_axes
from shorts.reports.rendering import theme
from shorts.retro.wording import pct

if TYPE_CHECKING:
    import pandas as pd

# A column needs this many rows before "unique per row" says anything about it.
MIN_ROWS_FOR_IDS = 10
EVEN_STEPS = 0.9  # share of equal steps that makes a monotone column count like a row number
WIDE = 0.1  # at least this many features per row: a wide table
MISSING_BARS = 25
_ID_NAMES = {"id", "key", "uuid", "guid", "index", "idx", "rownames", "rowid", "row_id", "row"}
_ID_SUFFIX = re.compile(r"(?:[_\s.-]id|[a-z]Id|[a-z]ID)$")
_UNNAMED = re.compile(r"(?i)^unnamed: ?\d+$")


@dataclass(frozen=True)
class ColumnProfile:
    """One column of the table as its source holds it.

    Attributes:
        kind: ``integer``, ``float``, ``boolean``, ``text``, ``datetime`` or ``other``.
        distinct: how many distinct values (missing not counted).
        role: what the models see of it: ``target``, ``feature``, ``one-hot (k columns)``,
            ``left out (text)`` or ``left out (dataset.drop)``.
        id_like: why it looks like an identifier (``""`` if it does not).
    """

    name: str
    dtype: str
    kind: str
    missing: int
    missing_share: float
    distinct: int
    role: str
    constant: bool
    id_like: str
    examples: list[str]

    @property
    def is_feature(self) -> bool:
        """The models see it (as it is, or one-hot encoded)."""
        return self.role == "feature" or self.role.startswith("one-hot")


def named_like_id(name: str) -> bool:
    """``id``, ``customer_id``, ``PatientID``, ``Unnamed: 0`` (pandas' saved index), ..."""
    return name.lower() in _ID_NAMES or bool(_ID_SUFFIX.search(name) or _UNNAMED.match(name))


def column_kind(values: pd.Series) -> str:
    """``integer`` (also floats that are all whole), ``float``, ``boolean``, ``datetime``,
    ``text`` or ``other``."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_integer_dtype(values):
            return "integer"
        present = values.dropna().to_numpy(dtype=np.float64)
        whole = len(present) > 0 and bool(np.all(np.isfinite(present)))
        return "integer" if whole and bool(np.all(present == np.round(present))) else "float"
    if pd.api.types.is_string_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        return "text"
    return "other"


def id_reason(name: str, values: pd.Series, kind: str) -> str:
    """Why ``values`` look like an identifier (unique per row, sequential, named so), or ``""``.

    Whole numbers unique per row are an id when they count with the row number in equal steps (a
    growing population rises in uneven steps) or fill a consecutive range; a continuous
    measurement can be unique per row too, so floats only count when named like an id. A column
    named like an id whose values repeat is a group id (several rows per patient).
    """
    rows = len(values)
    if rows < MIN_ROWS_FOR_IDS:
        return ""
    distinct = int(values.nunique(dropna=True))
    unique_per_row = distinct == rows and not values.isna().any()
    named = named_like_id(name)
    if unique_per_row and kind == "integer":
        numbers = values.to_numpy(dtype=np.float64)
        steps = np.diff(numbers)
        low, high = int(numbers.min()), int(numbers.max())
        monotone = bool(np.all(steps > 0)) or bool(np.all(steps < 0))
        values, counts = np.unique(steps, return_counts=True)
        if monotone and counts.max() >= EVEN_STEPS * len(steps):
            step = values[counts.argmax()]
            return (
                f"unique per row, counting with the row number in steps of {step:g} ({low}…{high})"
            )
        if high - low + 1 == rows:
            return f"unique per row, the whole numbers {low} to {high} shuffled"
        if named:
            return "unique per row, named like an id"
        return ""
    if unique_per_row and kind == "text":
        return "text, unique per row (a name or key)"
    if unique_per_row and named:
        return "unique per row, named like an id"
    if named and kind in ("integer", "text") and 1 < distinct < rows:
        return (
            f"named like an id, {distinct:,} distinct values over {rows:,} rows "
            "(several rows share an id)"
        )
    return ""


def _examples(values: pd.Series, count: int = 3) -> list[str]:
    shown = []
    for value in values.dropna().unique()[:count]:
        text = f"{value:.4g}" if isinstance(value, float | np.floating) else str(value)
        shown.append(text if len(text) <= 40 else text[:39] + "…")
    return shown


def column_roles(data: Dataset, columns: Sequence[str], target: str | None) -> dict[str, str]:
    """What the models see of each table column: ``feature``, ``one-hot (k columns)``, ...; a
    column left out that is not text was left out by the user (``dataset.drop``).

    ``target``: the table's target column (the data set's may be renamed, e.g. when binned).
    """
    roles: dict[str, str] = {}
    features = set(data.feature_names)
    for column in columns:
        onehot = [f for f in data.feature_names if f.startswith(f"{column}=")]
        if column in features:
            roles[column] = "feature"
        elif column in (data.target, target):
            roles[column] = "target"
        elif onehot:
            roles[column] = f"one-hot ({len(onehot)} columns)"
        elif column in data.dropped_columns:
            roles[column] = "left out (text)"
        else:
            roles[column] = "left out (dataset.drop)"
    return roles


def profile_columns(
    frame: pd.DataFrame, roles: dict[str, str], target: str | None
) -> list[ColumnProfile]:
    """One ``ColumnProfile`` per column of ``frame``; the target is never called an id."""
    rows = len(frame)
    profiles = []
    for name in frame.columns:
        values = frame[name]
        kind = column_kind(values)
        missing = int(values.isna().sum())
        distinct = int(values.nunique(dropna=True))
        profiles.append(
            ColumnProfile(
                name=str(name),
                dtype=str(values.dtype),
                kind=kind,
                missing=missing,
                missing_share=missing / rows if rows else 0.0,
                distinct=distinct,
                role=roles.get(str(name), "—"),
                constant=distinct <= 1,
                id_like="" if name == target else id_reason(str(name), values, kind),
                examples=_examples(values),
            )
        )
    return profiles


def profiles(found: Inspection) -> list[ColumnProfile]:
    return cast(list[ColumnProfile], found.findings[Columns.key])


def id_like(found: Inspection) -> list[str]:
    """Columns that look like identifiers."""
    return [c.name for c in profiles(found) if c.id_like]


class Columns(Check):
    """Each column's type, gaps and distinct values; ids, constants and text left out."""

    name = "columns"
    title = "Columns and missing values"
    key = "column_profiles"

    def compute(self, ctx: Context, found: Inspection) -> list[ColumnProfile]:
        ctx.progress("inspecting: columns, duplicates and the target")
        return profile_columns(ctx.frame, ctx.roles, ctx.target)

    def headline(self, found: Inspection) -> str:
        ids = len(id_like(found))
        missing = found.missing_cells
        return f"{ids} ID-like column{'s' if ids != 1 else ''} · " + (
            f"{missing:.1%} cells missing" if missing else "no missing values"
        )

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        return (_ids(found, remedies), _constant(found, remedies), _missing(found, remedies),
                _text(found), _wide(found))  # fmt: skip

    def blocks(self, found: Inspection) -> list[Block]:
        kinds = ", ".join(
            f"{n} {k}" for k, n in Counter(c.kind for c in profiles(found)).most_common()
        )
        rows: list[list[Cell]] = []
        flagged = set()
        for index, c in enumerate(profiles(found)):
            notes = [f"ID-like: {c.id_like}"] if c.id_like else []
            notes += ["constant"] if c.constant else []
            if notes:
                flagged.add(index)
            missing = f"{c.missing:,}" + (f" ({c.missing_share:.1%})" if c.missing else "")
            rows.append([Code(c.name), c.kind, c.dtype, missing, f"{c.distinct:,}", c.role,
                         ", ".join(c.examples), "; ".join(notes)])  # fmt: skip
        headers = ["column", "type", "dtype", "missing", "distinct", "role", "examples", "note"]
        return [
            Paragraph.of(
                f"{found.rows:,} rows {TIMES} {found.columns} columns; types: {kinds}. "
                f"{found.missing_cells:.2%} of all cells are missing."
            ),
            Table(headers, rows, numeric=frozenset({3, 4}), flagged=frozenset(flagged)),
            _missing_plot(found) or Paragraph.of("No missing values in any column.", style="ok"),
        ]

    def metrics(self, found: Inspection) -> dict[str, float]:
        return {
            "missing_share": found.missing_cells,
            "missing_columns": sum(1 for c in profiles(found) if c.missing),
            "constant_columns": sum(1 for c in profiles(found) if c.constant),
            "id_like_columns": len(id_like(found)),
        }


# -- checklist items ---------------------------------------------------------------------------


def _ids(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    used = [c for c in profiles(found) if c.id_like and c.is_feature]
    if not used:
        return None
    evidence = "; ".join(f"{c.name}: {c.id_like}" for c in used)
    grouped = [c.name for c in used if "share an id" in c.id_like]
    advice = (
        "An id says nothing about the target, but a model can split on it (and through it on "
        "the row order, if rows were added over time): " + remedies.drop([c.name for c in used])
    )
    if grouped:
        advice += (
            f". Rows that share {listed(grouped)} belong together: keep each group in one "
            "fold (GroupKFold), or the scores will flatter the model"
        )
    return ChecklistItem(
        "id_like",
        "ID-like columns among the features",
        f"{evidence}; the models see "
        f"{'it as a feature' if len(used) == 1 else 'them as features'}.",
        advice + ".",
        [c.name for c in used],
        rank=50,
    )


def _constant(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    constant = [c for c in profiles(found) if c.constant and c.role != "target"]
    if not constant:
        return None
    names = [c.name for c in constant]
    return ChecklistItem(
        "constant",
        "Constant columns",
        f"{listed(names)} hold{'s' if len(names) == 1 else ''} a single value (or none).",
        "A constant column carries no information; " + remedies.drop(names) + ".",
        names,
        rank=60,
    )


def _missing(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    gaps = sorted(
        (c for c in profiles(found) if c.missing and c.is_feature), key=lambda c: -c.missing
    )
    target_gap = target_check.of(found).missing
    if not gaps and not target_gap:
        return None
    evidence = ""
    if gaps:
        shown = listed([f"{c.name} {pct(c.missing_share)}" for c in gaps])
        evidence = (
            f"{len(gaps)} feature column{'s' if len(gaps) > 1 else ''} with missing values: "
            f"{shown}; {pct(found.missing_cells)} of all cells. "
        )
    if target_gap:
        evidence += (
            f"{target_gap:,} rows ({pct(target_gap / found.rows)}) have no target value and "
            "are left out."
        )
    if not gaps:
        advice = ""
    elif remedies.model_takes_nan:
        advice = (
            f"{remedies.model} takes missing values as they are; linear models, kNN and SVMs "
            "need an imputer first. "
        )
    else:
        advice = (
            f"{remedies.model} does not take missing values: impute them first (the checks put "
            "a median imputer with missing-value indicators in front of it), or use "
            "model=hist_gbm, which handles them. "
        )
    if gaps:
        advice += (
            "Check whether values are missing at random: a gap that depends on the target is "
            "itself a leak."
        )
    if target_gap:
        advice += (
            " Rows without a target may differ from the rest (cases still open, failed "
            "measurements): the model learns from and is scored on the labelled ones only."
        )
    return ChecklistItem(
        "missing",
        "Missing values",
        evidence.strip(),
        advice.strip(),
        [c.name for c in gaps],
        rank=70,
    )


def _text(found: Inspection) -> ChecklistItem | None:
    dropped = [c.name for c in profiles(found) if c.role == "left out (text)" and not c.id_like]
    if not dropped:
        return None
    return ChecklistItem(
        "text_left_out",
        "Text columns left out",
        f"{listed(dropped)}: non-numeric with too many distinct values to one-hot encode, "
        "so the models do not see them.",
        "If they carry signal (dates, free text, codes with structure), derive numeric columns "
        "from them before modelling; raise dataset.max_categories for a categorical column.",
        dropped,
        rank=130,
    )


def _wide(found: Inspection) -> ChecklistItem | None:
    if found.features < WIDE * found.rows:
        return None
    return ChecklistItem(
        "wide",
        "Many features per row",
        f"{found.features:,} features for {found.rows:,} rows.",
        "Flexible models overfit easily here: prefer regularised models, and select features "
        "inside the cross-validation, never before it.",
        rank=150,
    )


def _missing_plot(found: Inspection) -> Plot | None:
    gaps = sorted((c for c in profiles(found) if c.missing), key=lambda c: -c.missing)
    if not gaps:
        return None
    gaps = gaps[:MISSING_BARS]
    fig = agg_figure(9.0, 1.2 + 0.28 * len(gaps))
    ax = fig.add_subplot()
    ys = list(range(len(gaps)))
    ax.barh(ys, [100 * c.missing_share for c in gaps], color=theme()["series"]["warn"], height=0.7)
    ax.set_yticks(ys, [plot_label(c.name) for c in gaps])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("missing, % of rows")
    ax.set_title("Missing values by column", loc="left", fontsize=11)
    tidy_axes(ax)
    alt = "Missing values: " + ", ".join(f"{c.name} {c.missing_share:.1%}" for c in gaps)
    return plot(fig, alt, "Share of rows without a value, for every column that has gaps.")
