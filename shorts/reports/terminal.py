"""Reports on the terminal: the one rich rendering of a ``Report``, in the files' order.

What a terminal cannot hold is said, never dropped silently: a plot becomes a line naming it, and
a table longer or wider than a screen shows its first rows and columns with a count of the rest.
A long command or path is printed whole on its own line, so it can be copied. Piped, each
paragraph stays one line (a script can find a sentence whole). Every text is a
``rich.text.Text``, never markup: names from the data print as typed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from shorts.reports.document import (
    Block,
    Bullets,
    Cell,
    Code,
    Inline,
    Paragraph,
    Plot,
    Report,
    RunIndex,
    Runs,
    Section,
    Strong,
    Table,
)

__all__ = ["print_report", "report_console"]

WIDTH = 100
MAX_ROWS = 20  # table rows above the footer shown before the rest are only counted
MAX_COLUMNS = 8  # table columns shown before the rest are only counted
LONG_CODE = 40  # a command or path this long gets a line of its own, unwrapped
STYLES = {"summary": "bold", "note": "yellow", "price": "yellow", "alarm": "bold red",
          "ok": "green", "dim": "dim", "empty": "dim"}  # fmt: skip


def report_console() -> Console:
    """Stdout at most ``WIDTH`` wide (``WIDTH`` when piped), without markup or highlighting."""
    console = Console(highlight=False, markup=False)
    console.width = min(console.width, WIDTH) if console.is_terminal else WIDTH
    return console


def print_report(report: Report, console: Console | None = None, brief: bool = False) -> None:
    """Print ``report``; ``brief``: the title, lessons and summary, and the sections by name."""
    console = console or report_console()
    index = report.runs
    console.rule(Text(report.title, style="bold"), align="left", style="dim")
    _paragraph(console, report.meta, index, "dim")
    if report.lessons:
        console.print()
        console.print(Text(report.lessons_title, style="bold"))
        for number, lesson in enumerate(report.lessons, 1):
            _paragraph(console, lesson.text, index, prefix=f"{number}.")
            _paragraph(console, lesson.next_step, index, "dim", prefix="→")
        console.print()
    for block in report.summary:
        _block(console, block, index)
    if brief:
        titles = " · ".join(s.title for s in report.sections.values())
        _line(console, Text(f"In the report: {titles}.", style="dim"))
        return
    for section in report.sections.values():
        _block(console, section, index)
    if report.glossary:
        console.print()
    for term in report.glossary:
        _line(console, Text(f"{term.name}: {term.definition}", style="dim"))


def _line(console: Console, text: Text) -> None:
    """A line of prose: wrapped on a terminal, whole when piped."""
    console.print(text, soft_wrap=not console.is_terminal)


def _block(console: Console, block: Block, index: RunIndex) -> None:
    if isinstance(block, Section):
        console.print()
        if block.level <= 2:
            console.rule(Text(block.title, style="bold"), align="left", style="dim")
        else:
            console.print(Text(block.title, style="bold underline"))
        for inner in block.blocks:
            _block(console, inner, index)
    elif isinstance(block, Paragraph):
        _paragraph(console, block.parts, index, STYLES.get(block.style, ""))
    elif isinstance(block, Bullets):
        for number, item in enumerate(block.items, 1):
            _paragraph(console, [f"{number}. " if block.ordered else "- ", *item], index)
    elif isinstance(block, Table):
        _table(console, block, index)
    elif isinstance(block, Plot):
        _line(console, Text(f"plot (in report.html): {block.caption}", style="dim"))


def _paragraph(
    console: Console, parts: Sequence[Inline], index: RunIndex, style: str = "", prefix: str = ""
) -> None:
    """Running text, wrapped (under a hanging ``prefix``: a number, an arrow); a long ``Code``
    (a command, a path) on a line of its own, whole, so it can be copied."""
    chunks: list[list[Inline]] = [[]]
    for part in parts:
        if isinstance(part, Code) and len(part.text) >= LONG_CODE:
            chunks += [[part], []]
        else:
            chunks[-1].append(part)
    indent = 4 if prefix else 0
    for chunk in chunks:
        first = chunk[0] if chunk else ""
        if isinstance(first, Code) and len(first.text) >= LONG_CODE:
            console.print(Text(" " * (indent + 2) + first.text, style="cyan"), soft_wrap=True)
            continue
        text = Text.assemble(*(_inline(part, index) for part in chunk), style=style)
        text = text[len(text.plain) - len(text.plain.lstrip()) :]  # after a command's line
        if not text.plain.strip():
            continue
        if prefix and console.is_terminal:
            grid = RichTable.grid(padding=(0, 1))
            grid.add_column(justify="right", width=indent - 1, no_wrap=True)
            grid.add_column()
            grid.add_row(Text(prefix, style=style), text)
            console.print(grid)
        else:
            _line(console, Text(f"{prefix:>3} " if prefix else "", style=style) + text)
        prefix = " " if prefix else ""


def _inline(part: Inline, index: RunIndex) -> Text:
    if isinstance(part, str):
        return Text(part)
    if isinstance(part, Strong):
        return Text(part.text, style="bold")
    if isinstance(part, Code):
        return Text(part.text, style="cyan")
    if isinstance(part, Runs):
        if part.label:
            return Text(part.label)
        refs = index.refs(part.runs)
        return Text(", ".join(r.name for r in refs) if len(refs) <= 3 else f"{len(refs)} runs")
    return Text(part.text, style="bold")  # a Badge


def _cell(value: Cell, index: RunIndex) -> Text:
    return Text.assemble(
        *(_inline(p, index) for p in (value if isinstance(value, list) else [value]))
    )


def _table(console: Console, table: Table, index: RunIndex) -> None:
    """The table's first ``MAX_COLUMNS`` columns and ``MAX_ROWS`` rows (its footer always)."""
    shown = range(min(len(table.headers), MAX_COLUMNS))
    body_end = len(table.rows) if table.footer_from is None else table.footer_from
    kept = [*range(min(body_end, MAX_ROWS)), *range(body_end, len(table.rows))]
    out = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    for column in shown:
        out.add_column(
            Text(table.headers[column]),
            justify="right" if column in table.numeric else "left",
            no_wrap=column == 0,
            overflow="fold",
        )
    for row in kept:
        if row == table.footer_from:
            out.add_section()
        style = "bold" if row == table.emphasis else "yellow" if row in table.flagged else ""
        out.add_row(*(_cell(table.rows[row][c], index) for c in shown), style=style)
    console.print(out)
    rest = [f"{body_end - MAX_ROWS} more rows"] if body_end > MAX_ROWS else []
    if len(table.headers) > MAX_COLUMNS:
        rest.append(f"{len(table.headers) - MAX_COLUMNS} more columns")
    if rest:
        _line(console, Text(f"... {' and '.join(rest)} in report.html", style="dim"))
    for note in table.notes:
        _line(console, Text(note, style="dim"))
