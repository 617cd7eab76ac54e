"""The inspection as a report: the checklist first (as lessons), then one section per check of
the registry, in its order, so no registered check goes missing; ``report.json`` holds the same.
"""

from __future__ import annotations

from pathlib import Path

from shorts.inspect import checks
from shorts.inspect.findings import TIMES, Inspection
from shorts.reports.document import Code, Lesson, Paragraph, Report, Section, Strong
from shorts.reports.rendering import write_report as write_files

LESSONS_TITLE = "What to watch, most serious first"


def write_report(found: Inspection, folder: Path) -> tuple[Report, dict[str, Path]]:
    """Write ``report.html``, ``report.md`` and ``report.json`` for ``found`` into ``folder``;
    the report, and the files by kind."""
    report = build_report(found)
    return report, write_files(report, folder, json=found.to_json())


def summary(found: Inspection) -> str:
    """One line: the shape, each check's headline, and how many things to watch."""
    watch = len(found.checklist)
    parts = [
        f"{found.rows:,} rows {TIMES} {found.columns} columns ({found.features} features)",
        *(line for check in checks.CHECKS if (line := check.headline(found))),
        f"{watch} thing{'s' if watch != 1 else ''} to watch",
    ]
    return " · ".join(parts)


def build_report(found: Inspection) -> Report:
    """The inspection as a report: the checklist as lessons, then each check's section."""
    sections = [Section(c.name, c.heading(found), c.blocks(found)) for c in checks.CHECKS]
    clean = Paragraph.of("No check found evidence of a problem worth watching.", style="ok")
    meta = (
        f" ({found.task}) · {found.rows:,} rows {TIMES} {found.columns} columns, {found.features} "
        f"model features · {found.generated_at:%Y-%m-%d %H:%M} · {found.seconds:.1f} s"
    )
    return Report(
        name="inspect",
        title=f"Inspection of {found.dataset}",
        meta=["source ", Code(found.source), " · target ", Code(found.target), meta],
        sections={s.id: s for s in sections},
        summary=[
            Paragraph.of(summary(found), style="summary"),
            *([] if found.checklist else [clean]),
            *(Paragraph.of(note, style="dim") for note in found.notes),
        ],
        lessons=[
            Lesson(i.key, [Strong(i.title), f". Seen: {i.evidence}"], [i.advice])
            for i in found.checklist
        ],
        footer="Made by shorts inspect; report.json holds the same findings for machines.",
        lessons_title=LESSONS_TITLE,
    )
