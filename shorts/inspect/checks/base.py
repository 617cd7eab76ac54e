"""What a data-QA check is: one object that computes its finding (``compute``), says it in the
summary (``headline``), raises checklist items on evidence, shows one report section (``heading``,
``blocks``) and gives the run its figures (``metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from shorts.datasets import Dataset
    from shorts.inspect.findings import ChecklistItem, Inspection, Remedies, Setting
    from shorts.inspect.fitting import Fitted
    from shorts.reports.document import Block


Items = Sequence["ChecklistItem | None"]


@dataclass
class Context:
    """The data as every check sees it, and what a check hands on to later ones.

    Attributes:
        frame: the raw table (``load_table``), with what encoding into ``data`` hides or drops.
        target: the table's target column (``None`` when the table does not hold it by name).
        drop, roles: columns the user left out; what the models see of each table column.
        checked, table_rows: the rows the model-based checks use (all, or a seeded sample) and
            their numbers in the table.
        values: a table row's values by column, JSON-ready.
        notes: how the checks were done, where that matters; a check may add one.
        fitted: the model out of fold without leaks and ids (``leakage`` fits it, ``noisy``
            reads its doubts); ``None`` when it could not be fitted.
    """

    frame: pd.DataFrame
    data: Dataset
    target: str | None
    drop: list[str]
    roles: dict[str, str]
    setting: Setting
    model_cfg: Any
    checked: Dataset
    table_rows: np.ndarray[Any, Any]
    values: Callable[[int], dict[str, Any]]
    missing_target: int
    progress: Callable[[str], None]
    notes: list[str] = field(default_factory=list)
    fitted: Fitted | None = None


class Check:
    """One data-QA check: ``name`` is its section's id, ``title`` the section's heading, ``key``
    where its finding is kept (``Inspection.findings``, report.json; ``name`` if unset)."""

    name: ClassVar[str]
    title: ClassVar[str]
    key: ClassVar[str] = ""

    @property
    def finding_key(self) -> str:
        return self.key or self.name

    def compute(self, ctx: Context, found: Inspection) -> Any:
        """The finding (earlier checks' findings are in ``found.findings``)."""
        raise NotImplementedError

    def headline(self, found: Inspection) -> str:
        """Its part of the report's one-line summary, ``""`` for none."""
        return ""

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        """The items its finding gives evidence for (``None`` where it gives none)."""
        return []

    def heading(self, found: Inspection) -> str:
        """The section's heading for this data (``title`` unless it names something)."""
        return self.title

    def blocks(self, found: Inspection) -> list[Block]:
        """The section's paragraphs, tables and plots."""
        raise NotImplementedError

    def metrics(self, found: Inspection) -> dict[str, float]:
        """Figures for the run, by metric key."""
        return {}
