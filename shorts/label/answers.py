"""The answers file: a person's predictions as a CSV, read, written as they come, or as a sheet.

One format for every way in and out: a CSV with a header whose ``row`` (row id, as
``shorts.inspect.row_ids`` numbers them) and ``prediction`` (empty: not answered yet) columns are
read, other columns ignored; comma, semicolon or tab separated, UTF-8 with or without a BOM.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shorts.errors import UsageError
from shorts.files import write_atomic
from shorts.label.feature_context import format_value

ROW = "row"
PREDICTION = "prediction"
FORMAT = (
    "a CSV with a header and the columns row,prediction (other columns are ignored), "
    "e.g. one written by sheet=FILE.csv"
)


@dataclass(frozen=True)
class Answers:
    """What a prediction may be for one data set: a number, or one of its classes."""

    task: str
    classes: tuple[float, ...] = ()

    @property
    def accepted(self) -> str:
        """What a prediction may be, in words."""
        if self.task == "classification":
            return "one of the classes " + ", ".join(format_value(c) for c in self.classes)
        return "a number (e.g. 12 or 3.5)"

    @property
    def hint(self) -> str:
        """What a prediction may be, in a few words for a prompt."""
        if self.task == "classification":
            return "one of " + ", ".join(format_value(c) for c in self.classes)
        return "a number"

    def parse(self, text: str) -> float:
        """``text`` as a prediction.

        Raises:
            ValueError: with a message naming the text and what is accepted.
        """
        cleaned = text.strip()
        try:
            value = float(cleaned)
        except ValueError:
            hint = "; use a point for decimals" if _decimal_comma(cleaned) else ""
            raise ValueError(f"{cleaned!r} is not {self.accepted}{hint}") from None
        if not math.isfinite(value) or (
            self.task == "classification" and value not in self.classes
        ):
            raise ValueError(f"{cleaned!r} is not {self.accepted}")
        return value


def _decimal_comma(text: str) -> bool:
    whole, comma, fraction = text.partition(",")
    return bool(comma) and whole.lstrip("-").isdigit() and fraction.isdigit()


def read_answers(
    path: Path,
    answers: Answers,
    rows: Sequence[int],
    total: int,
    dataset: str,
    same: str = "the same n= and seed= pick the same rows",
) -> dict[int, float]:
    """The predictions in ``path`` for the session's ``rows`` (row id → prediction), rows with
    an empty prediction left out. Row ids run ``0..total-1``; ``same`` says how the same rows are
    picked again, for the message about a row not asked.

    Raises:
        UsageError: the file is missing or unreadable, lacks a column, names a row that is not
            one of ``rows`` (or twice), or holds a prediction that is not accepted.
    """
    where = f"answers file {path}"
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise UsageError(f"{where} {problem}; answers= takes {FORMAT}.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where} could not be read ({exc}); answers= takes {FORMAT}.") from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise UsageError(f"{where} is empty; answers= takes {FORMAT}.")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(lines, dialect)
    header = [cell.strip().lower() for cell in next(reader)]
    missing = [column for column in (ROW, PREDICTION) if column not in header]
    if missing:
        shown = ", ".join(repr(c) for c in header if c) or "none"
        raise UsageError(
            f"{where} has no {' or '.join(repr(m) for m in missing)} column (its columns: "
            f"{shown}); answers= takes {FORMAT}."
        )
    row_at, prediction_at = header.index(ROW), header.index(PREDICTION)
    wanted = set(int(r) for r in rows)
    found: dict[int, float] = {}
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row_text = cells[row_at].strip() if row_at < len(cells) else ""
        row = _row_id(row_text)
        at = f"{where}, line {line_number}"
        if row is None:
            raise UsageError(
                f"{at}: row {row_text!r} is not a row id; row ids are whole numbers 0.."
                f"{total - 1}, as the session and the sheet show them."
            )
        if not 0 <= row < total:
            raise UsageError(f"{at}: row {row} is not a row of {dataset} (rows 0..{total - 1}).")
        if row not in wanted:
            raise UsageError(
                f"{at}: row {row} is not one of the {len(wanted)} rows this session labels "
                f"({same}; sheet=FILE.csv lists them)."
            )
        if row in found:
            raise UsageError(f"{at}: row {row} has a second answer; give one per row.")
        value_text = cells[prediction_at].strip() if prediction_at < len(cells) else ""
        if not value_text:
            continue
        try:
            found[row] = answers.parse(value_text)
        except ValueError as exc:
            raise UsageError(
                f"{at}: the prediction for row {row}: {exc} (or leave the cell empty "
                "to answer it in the terminal)."
            ) from None
    return found


def _row_id(text: str) -> int | None:
    """``"12"`` (or ``"12.0"``, as spreadsheets save it) as 12; anything else ``None``."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None  # not for inf or NaN


def prediction_text(value: float) -> str:
    """A prediction as written to a file: ``150`` or ``0.1``, exactly as parsed back."""
    if value == round(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass
class AnswerLog:
    """The answers file of a session in progress, rewritten whole (atomically, durably) after
    every answer, so at any moment (an interrupt, a crash) it is a complete answers file. It
    lists each of the session's ``rows``, with an empty prediction until answered."""

    path: Path
    rows: list[int]
    count: int = 0  # the answers in the file

    def rewrite(self, answers: Mapping[int, float]) -> None:
        """Make the file hold exactly ``answers`` (and the session's other rows, empty), on disk
        before this returns."""
        listed = [*self.rows, *(r for r in answers if r not in self.rows)]
        lines = ([row, prediction_text(answers[row]) if row in answers else ""] for row in listed)
        write_table(self.path, [ROW, PREDICTION], lines, durable=True)
        self.count = len(answers)

    def discard_if_empty(self) -> None:
        """Remove the file (and its folder, if empty) when it holds no answer."""
        if self.count:
            return
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.path.parent.rmdir()


def write_table(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[object]], durable: bool = False
) -> None:
    """A CSV file with ``header`` and ``rows``, written whole (``shorts.files.write_atomic``)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, text.getvalue(), durable=durable)
