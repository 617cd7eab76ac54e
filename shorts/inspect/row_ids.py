"""What a row number means, one definition for ``shorts inspect`` and ``shorts label``: the row's
position in the table as its source holds it, from 0, rows without a target included.

Why the table's numbering and not the ``Dataset``'s (which drops rows without a target): it is the
one a person can find in their own file, so ``inspect``'s ``rows=`` advice names the same rows in
``label``. When the data set's rows cannot be matched to the table's, both count the data set's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from shorts.datasets import Dataset, Table

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class RowIds:
    """The id of each row of a ``Dataset``.

    Attributes:
        ids: each data set row's id, in the data set's order (increasing).
        span: ids run from 0 to ``span - 1`` (the table's rows; some may have no target).
        of_table: ``True`` when ids count the table's rows; ``False`` when they count the data
            set's rows (its rows could not be matched to the table's).
    """

    ids: IntArray
    span: int
    of_table: bool = True

    @property
    def gaps(self) -> bool:
        """Whether some ids in ``0..span-1`` have no data set row (no target)."""
        return len(self.ids) != self.span

    def has(self, row: int) -> bool:
        """Whether ``row`` is the id of a data set row."""
        at = int(np.searchsorted(self.ids, row))
        return at < len(self.ids) and int(self.ids[at]) == row

    def positions(self, rows: Iterable[int]) -> IntArray:
        """The data set positions of ids ``rows`` (each must be one, see ``has``)."""
        wanted = np.asarray(list(rows), dtype=np.int64)
        return np.searchsorted(self.ids, wanted).astype(np.int64)

    def of(self, positions: Iterable[int]) -> IntArray:
        """The ids of data set ``positions``."""
        return self.ids[np.asarray(list(positions), dtype=np.int64)].astype(np.int64)

    def by_id(self, values: FloatArray) -> FloatArray:
        """``values`` (one per data set row) indexed by id: NaN for ids without a data set row.

        Without gaps this is ``values`` itself, no copy.
        """
        if not self.gaps:
            return values
        spread = np.full((self.span, *values.shape[1:]), np.nan, dtype=np.float64)
        spread[self.ids] = values
        return spread


def row_ids(table: Table, data: Dataset) -> RowIds:
    """Each row of ``data`` (built from ``table``) numbered by its row in ``table``."""
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    named = table.target if table.target in columns else data.target
    target = named if named in columns else None
    rows = len(data.y)
    if target is not None:
        positions = np.flatnonzero(frame[target].notna().to_numpy()).astype(np.int64)
        if len(positions) == rows:
            return RowIds(positions, len(frame))
    # Else ids are the data set's positions: the table's too when no row was left out.
    return RowIds(np.arange(rows, dtype=np.int64), rows, of_table=len(frame) == rows)
