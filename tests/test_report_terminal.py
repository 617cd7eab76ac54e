"""The one terminal rendering of a report: every section in order, nothing dropped silently.

``shorts.reports.terminal.print_report`` prints the report model that the HTML and Markdown
templates render, for retro, inspect and label alike.
"""

from __future__ import annotations

import io

from rich.console import Console

from shorts.reports.document import (
    Code,
    Lesson,
    Paragraph,
    Plot,
    Report,
    RunIndex,
    Runs,
    Section,
    Strong,
    Table,
    Term,
)
from shorts.reports.terminal import MAX_COLUMNS, MAX_ROWS, print_report

COMMAND = "shorts label dataset=file dataset.path=a/very/long/path/data.csv rows=1,2,3,4,5,6,7"
MARKUP = "[bold]x[/bold]"


def report() -> Report:
    wide = Table(
        [f"c{i}" for i in range(MAX_COLUMNS + 3)],
        [[str(r * 100 + i) for i in range(MAX_COLUMNS + 3)] for r in range(MAX_ROWS + 5)]
        + [["total", *([""] * (MAX_COLUMNS + 2))]],
        footer_from=MAX_ROWS + 5,
    )
    return Report(
        name="inspect",
        title="A report",
        meta=["made ", Code("today")],
        sections={
            "first": Section("first", "First section", [Paragraph.of("Its text ", Strong(MARKUP))]),
            "second": Section(
                "second",
                "Second section",
                [Paragraph.of("Run this: ", Code(COMMAND), " then look."), wide],
            ),
            "third": Section("third", "Third section", [Plot(b"", "alt", "A plot's caption.")]),
        },
        summary=[Paragraph.of(Runs("", ["a" * 32]), " did it.", style="summary")],
        lessons=[Lesson("k", ["Something seen"], ["Do this"])],
        glossary=[Term("word", "what it means.")],
        runs=RunIndex(names={"a" * 32: "my-run"}),
        lessons_title="What to watch",
    )


def printed(width: int = 100, **options: bool) -> str:
    out = io.StringIO()
    print_report(report(), Console(file=out, width=width), **options)
    return out.getvalue()


def test_every_section_prints_in_the_models_order_with_lessons_and_glossary_around() -> None:
    text = printed()
    order = ["A report", "What to watch", "1. Something seen", "→ Do this", "my-run did it.",
             "First section", "Second section", "Third section", "word: what it"]  # fmt: skip
    found = [text.index(part) for part in order]
    assert found == sorted(found), text
    assert MARKUP in text  # text, never markup


def test_what_a_terminal_cannot_hold_is_counted_not_dropped() -> None:
    text = printed()
    assert "... 5 more rows and 3 more columns in report.html" in text
    assert "total" in text  # a table's footer is always shown
    assert f"{(MAX_ROWS - 1) * 100}" in text and f"{MAX_ROWS * 100}" not in text
    assert "plot (in report.html): A plot's caption." in text


def test_a_long_command_is_printed_whole_on_its_own_line() -> None:
    lines = printed(width=60).splitlines()
    assert f"  {COMMAND}" in lines
    assert lines[lines.index(f"  {COMMAND}") + 1] == "then look."


def test_brief_names_the_sections_instead_of_printing_them() -> None:
    text = printed(brief=True)
    assert "In the report: First section · Second section · Third section." in text
    assert "Its text" not in text and "my-run did it." in text
