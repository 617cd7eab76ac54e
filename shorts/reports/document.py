"""A report as data: sections of paragraphs, tables, lists and plots, plus lessons and a glossary.

Python computes, templates present (``shorts.reports.rendering``): no markup is built here. Text
is kept in small typed pieces (``Inline``) so each format can escape and style it its own way: a
``Badge`` is a coloured outcome in HTML and a plain word in Markdown, ``Runs`` a figure backed by
MLflow runs that the templates turn into links by run name (through ``RunIndex``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote

__all__ = [
    "Badge",
    "Block",
    "Bullets",
    "Cell",
    "Code",
    "Inline",
    "Lesson",
    "Paragraph",
    "Plot",
    "Report",
    "RunIndex",
    "RunRef",
    "Runs",
    "Section",
    "Strong",
    "Table",
    "Term",
]


@dataclass(frozen=True)
class Code:
    """A name the user types or reads in code: a command, a column, a path."""

    text: str
    kind: ClassVar[str] = "code"


@dataclass(frozen=True)
class Strong:
    text: str
    kind: ClassVar[str] = "strong"


@dataclass(frozen=True)
class Badge:
    """An outcome, verdict or kind (``hit``, ``timeout``...): a coloured label in HTML."""

    text: str
    kind: ClassVar[str] = "badge"


@dataclass(frozen=True)
class Runs:
    """A figure backed by MLflow runs; an empty ``label`` means the runs themselves, by name."""

    label: str
    runs: Sequence[str]
    kind: ClassVar[str] = "runs"


Inline = str | Code | Strong | Badge | Runs
Cell = Inline | list[Inline]


@dataclass(frozen=True)
class Paragraph:
    """Running text. ``style``: "", summary, note, price, empty, dim, ok or alarm (a CSS class)."""

    parts: list[Inline]
    style: str = ""
    kind: ClassVar[str] = "paragraph"

    @classmethod
    def of(cls, *parts: Inline, style: str = "") -> Paragraph:
        """A paragraph from its parts: most are one sentence, so no list to wrap it in."""
        return cls(list(parts), style)


@dataclass(frozen=True)
class Table:
    """Rows of cells under headers.

    Attributes:
        numeric: columns aligned right (figures).
        flagged: rows to highlight (a leak, an ID-like column).
        footer_from: rows from this index on are a footer, set off by a line.
        emphasis: a row shown in bold.
        notes: a line or two under the table, about it.
    """

    headers: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()
    flagged: frozenset[int] = frozenset()
    footer_from: int | None = None
    emphasis: int | None = None
    notes: list[str] = field(default_factory=list)
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Bullets:
    items: list[list[Inline]]
    ordered: bool = False
    kind: ClassVar[str] = "bullets"


@dataclass(frozen=True)
class Plot:
    """A PNG (inlined in HTML; Markdown says it is in the HTML), its alt text and caption."""

    png: bytes
    alt: str
    caption: str
    kind: ClassVar[str] = "plot"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: list[Block]
    level: int = 2
    kind: ClassVar[str] = "section"


Block = Paragraph | Table | Bullets | Plot | Section


@dataclass(frozen=True)
class Lesson:
    """One thing the runs taught: what happened (with the runs behind it), and what to do."""

    kind: str
    text: list[Inline]
    next_step: list[Inline]


@dataclass(frozen=True)
class Term:
    """A definition stated once, in the glossary, instead of inline in every section."""

    name: str
    definition: str


@dataclass(frozen=True)
class RunRef:
    """A run as a reader meets it: its name and, when a UI is known, its page."""

    id: str
    name: str
    url: str | None


@dataclass(frozen=True)
class RunIndex:
    """Run ids to readable names and MLflow UI pages, for the report's links.

    Attributes:
        names: run id to run name (empty when the run has none).
        experiments: run id to experiment id.
        ui_url: the MLflow UI the links open (``None``: no links, names only).
        shorts: run id to the short's name, for runs without a name.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    experiments: Mapping[str, str] = field(default_factory=dict)
    ui_url: str | None = None
    shorts: Mapping[str, str] = field(default_factory=dict)
    # Runs in one filtered-table link: past this, the link opens the first ones only (a URL of
    # a few kB; MLflow's search has no OR, so ``run_id IN (...)`` is the filter for any set).
    list_limit: ClassVar[int] = 100

    def ref(self, run_id: str) -> RunRef:
        """The run's name (or ``short·1a2b3c4d`` when unnamed) and its page in the UI."""
        name = self.names.get(run_id) or (
            f"{self.shorts[run_id]}\N{MIDDLE DOT}{run_id[:8]}"
            if self.shorts.get(run_id)
            else run_id[:8]
        )
        experiment = self.experiments.get(run_id)
        url = f"{self.ui_url}/#/experiments/{experiment}/runs/{run_id}"
        return RunRef(run_id, name, url if self.ui_url and experiment else None)

    def refs(self, run_ids: Sequence[str]) -> list[RunRef]:
        return [self.ref(r) for r in run_ids]

    def list_url(self, run_ids: Sequence[str]) -> str | None:
        """The UI's runs table filtered to these runs (one experiment's table, or a comparison
        of the experiments they belong to); ``None`` without a UI."""
        if not self.ui_url or not run_ids:
            return None
        shown = list(dict.fromkeys(run_ids))[: self.list_limit]
        experiments = sorted({self.experiments[r] for r in shown if r in self.experiments})
        if not experiments:
            return None
        ids = ", ".join(f"'{r}'" for r in shown)
        query = (
            f"searchFilter={quote(f'attributes.run_id IN ({ids})', safe='')}"
            "&workflowType=machine_learning"
        )
        if len(experiments) == 1:
            return f"{self.ui_url}/#/experiments/{experiments[0]}/runs?{query}"
        chosen = quote(json.dumps(experiments, separators=(",", ":")), safe="")
        return f"{self.ui_url}/#/compare-experiments/s?experiments={chosen}&{query}"


@dataclass(frozen=True)
class Report:
    """One report, ready for any template.

    Attributes:
        name: which report (``retro``, ``inspect``, ``label``): the templates' file names.
        meta: one line under the title (period, store, data set...).
        summary: what comes before everything else: the headline, notes.
        lessons: what the runs taught, most important first (the retrospective's first screen).
        sections: by id, in the order every rendering shows them: the order the code computed
            (a team's own template may set ``order`` to show others, see ``rendering``).
        footer: who made it and where the same content is for machines.
        runs: names and links of the runs the report cites.
    """

    name: str
    title: str
    meta: list[Inline]
    sections: dict[str, Section]
    summary: list[Block] = field(default_factory=list)
    lessons: list[Lesson] = field(default_factory=list)
    glossary: list[Term] = field(default_factory=list)
    footer: str = ""
    runs: RunIndex = field(default_factory=RunIndex)
    lessons_title: str = "What this taught"
