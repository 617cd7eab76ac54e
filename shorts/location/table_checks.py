"""Checks on the table itself: columns, missing values, ids, duplicates and the target.

These read the table as its source holds it (``load_table``: text columns, ids and missing
values that encoding into ``Dataset.X`` would hide or drop) and the target as the models see it
(``Dataset.y``). They fit no model, so they are cheap at any size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shorts.datasets import Dataset
from shorts.location.findings import (
    OUTLIER_Z,
    ClassCount,
    ColumnProfile,
    Duplicates,
    TargetProfile,
)

if TYPE_CHECKING:
    import pandas as pd

# A column needs this many rows before "unique per row" says anything about it.
MIN_ROWS_FOR_IDS = 10
EXAMPLE_GROUPS = 5
HISTOGRAM_BINS = 40
EVEN_STEPS = 0.9  # share of equal steps that makes a monotone column count like a row number
_ID_NAMES = {"id", "key", "uuid", "guid", "index", "idx", "rownames", "rowid", "row_id", "row"}
_ID_SUFFIX = re.compile(r"(?:[_\s.-]id|[a-z]Id|[a-z]ID)$")
_UNNAMED = re.compile(r"(?i)^unnamed: ?\d+$")


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

    A whole-number column unique per row is an id when it counts with the row number in equal
    steps (a row number, a sequential id, a time index; a trend such as a growing population
    rises in uneven steps and is not one) or fills a consecutive range in another order; text
    unique per row is a name or key. A continuous measurement can be
    unique per row too, so floats only count when the name says ``id``. A column named like an
    id whose values repeat is a group id (several rows per patient, customer, ...).
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


def column_roles(
    data: Dataset, columns: Sequence[str], drop: Sequence[str], target: str | None
) -> dict[str, str]:
    """What the models see of each table column: ``feature``, ``one-hot (k columns)``, ...

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
        elif column in drop:
            roles[column] = "left out (dataset.drop)"
        elif column in data.dropped_columns:
            roles[column] = "left out (text)"
        else:
            roles[column] = "—"
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
    """Exact duplicates, duplicates but for the ids, and equal features with unequal targets.

    Args:
        frame: the table.
        target: its target column (``None`` when the table does not hold it by that name).
        id_columns: ID-like columns, ignored when comparing records.
        left_out: other columns that are not features (``dataset.drop``), ignored for conflicts.
    """
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


def _finite(x: Any) -> float:
    value = float(x)
    return value if np.isfinite(value) else float("nan")


def profile_target(data: Dataset, missing: int) -> TargetProfile:
    """The distribution of ``data.y``; ``missing``: table rows without a target value."""
    import pandas as pd
    from scipy.stats import spearmanr

    y = data.y
    series = pd.Series(y)
    q1, median, q3 = (float(v) for v in np.quantile(y, [0.25, 0.5, 0.75]))
    iqr = q3 - q1
    mad = float(np.median(np.abs(y - median))) * 1.4826
    robust = int(np.sum(np.abs(y - median) / mad > OUTLIER_Z)) if mad > 0 else None
    classes: list[ClassCount] = []
    imbalance = None
    if data.task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        classes = [
            ClassCount(float(label), int(count), float(count) / len(y))
            for label, count in zip(labels, counts, strict=True)
        ]
        imbalance = float(counts.max()) / float(counts.min())
    order = float(spearmanr(np.arange(len(y)), y).statistic) if np.ptp(y) > 0 else 0.0
    histogram: tuple[list[int], list[float]] = ([], [])
    if data.task == "regression":
        counts, edges = np.histogram(y, bins=HISTOGRAM_BINS)
        histogram = ([int(c) for c in counts], [float(e) for e in edges])
    return TargetProfile(
        name=data.target,
        task=data.task,
        rows=len(y),
        missing=missing,
        mean=float(np.mean(y)),
        std=float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
        minimum=float(np.min(y)),
        q1=q1,
        median=median,
        q3=q3,
        maximum=float(np.max(y)),
        skew=_finite(series.skew()),
        excess_kurtosis=_finite(series.kurt()),
        zero_share=float(np.mean(y == 0)),
        integer_valued=bool(np.all(y == np.round(y))),
        distinct=len(np.unique(y)),
        low_outliers=int(np.sum(y < q1 - 1.5 * iqr)),
        high_outliers=int(np.sum(y > q3 + 1.5 * iqr)),
        robust_outliers=robust,
        classes=classes,
        imbalance=imbalance,
        order_correlation=_finite(order),
        histogram_counts=histogram[0],
        histogram_edges=histogram[1],
    )
