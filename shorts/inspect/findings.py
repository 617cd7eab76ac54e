"""What ``shorts inspect`` found: the data set's facts, each check's finding (under its key in
``Inspection.findings``, read by the report and the JSON), the checklist.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shorts.reports import jsonable

TIMES = "\N{MULTIPLICATION SIGN}"  # 442 rows x 11 columns, as people write it
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


DEFAULT_TOP = 10
DEFAULT_SAMPLE = 25_000


@dataclass(frozen=True)
class Setting:
    """How to inspect: the model's config name, the override that leaves columns out
    (``dataset.drop``, or ``+dataset.drop`` when the config node has no such key yet; ``None``:
    the source cannot, as scikit-learn's arrays), ``shorts label`` with the data set's arguments,
    the folds, and the keys."""

    model_name: str
    drop_key: str | None
    label_command: str
    folds: int = 5
    seed: int = 0
    top: int = DEFAULT_TOP
    sample: int = DEFAULT_SAMPLE


@dataclass(frozen=True)
class ChecklistItem:
    """An assumption or edge case to watch, with the evidence that raised it.

    ``key`` is a stable name (``leak``, ``duplicates``, ...); ``rank`` says how serious (lower
    first): problems that make scores lie (leaks, duplicates, noisy labels) before those that only
    make them noisy or hard to read.
    """

    key: str
    title: str
    evidence: str
    advice: str
    columns: list[str] = field(default_factory=list)
    rank: int = 100


@dataclass(frozen=True)
class Remedies:
    """What the advice can point to: how the data set was inspected, and the class name of the
    model the checks fitted."""

    setting: Setting
    model: str
    model_takes_nan: bool

    def relabel(self, rows: Sequence[int]) -> str:
        """``shorts label`` asking a person for ``rows`` in this order (the row numbers mean
        the same rows in both commands: ``shorts.inspect.row_ids``)."""
        return f"{self.setting.label_command} rows={','.join(str(int(r)) for r in rows)}"

    def drop(self, columns: Sequence[str]) -> str:
        """The override leaving ``columns`` out, quoted for a shell; or how to do it by hand."""
        if self.setting.drop_key is None:
            return "leave it out of the features (this source has no dataset.drop)"
        names = ",".join(c if _SIMPLE_NAME.match(c) else f"'{c}'" for c in columns)
        return f'leave it out with "{self.setting.drop_key}=[{names}]"'


@dataclass
class Inspection:
    """Everything ``shorts inspect`` found about one data set.

    Attributes:
        rows, columns: the table's shape as its source holds it; ``features``: the model's
            feature columns (after encoding).
        missing_cells: share of the table's cells without a value.
        model_rows: rows the model-based checks used (all, or a random sample).
        findings: each check's finding by its key, in the registry's order.
        notes: how the checks were done where that matters (sampling, skipped checks).
        relabel_command: ``shorts label ... rows=...`` asking a person for the listed suspects
            (the same row numbers), empty when none is listed.
    """

    dataset: str
    source: str
    target: str
    task: str
    generated_at: datetime
    rows: int
    columns: int
    features: int
    missing_cells: float
    model_rows: int
    findings: dict[str, Any] = field(default_factory=dict)
    checklist: list[ChecklistItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    relabel_command: str = ""

    def to_json(self) -> str:
        """The inspection as JSON: the facts, then each finding under its key (a check's
        per-row arrays, such as the scores behind a plot, are fields it leaves out of repr)."""
        data = _public(self)
        data.update(data.pop("findings"))
        text = json.dumps(jsonable(data), indent=2, allow_nan=False, ensure_ascii=False)
        return text + "\n"


def _public(value: Any) -> Any:
    """``value`` as dicts and lists, without dataclass fields declared ``repr=False``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _public(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr
        }
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _public(v) for k, v in value.items()}
    return value


# -- wording the checks share ----------------------------------------------------------------


def listed(items: Sequence[object], limit: int = 6) -> str:
    """``a, b, c (+2 more)``: the first ``limit`` items, and how many more."""
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def plural(n: int, word: str) -> str:
    """``1 row``, ``3 rows``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
