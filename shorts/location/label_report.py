"""The report of a labelling session: in the terminal, as Markdown and HTML, and as a run note.

All three forms are rendered from one document (headings, paragraphs, tables), so they say the
same thing. What it holds: the three scores side by side (the person, the model on the same rows,
the trivial baseline), a plain reading of them that is honest about few rows, the rows hardest
for the person (with their features, the true label, and how the model did on them), the rows
hardest for the model (and how the person did), and whether the two found the same rows hard.
When the rows were chosen by hand (``rows=``, typically the suspects ``shorts inspect`` lists),
it also says how often the person sided with the recorded label and how often with the model.

The HTML is self-contained (inline CSS, no script, no external URL) and escapes every text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from shorts.location.feature_context import FeatureContext, format_value, ordinal
from shorts.location.label_answers import prediction_text, write_table
from shorts.location.label_scoring import Comparison, Contender, format_metric, sides
from shorts.reports import escape

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

HARDEST = 3


@dataclass(frozen=True)
class SessionFacts:
    """Who labelled what, for the report's header.

    Attributes:
        dataset: the data set's name.
        who: who labelled.
        session: the session id (also the runs' ``shorts.label.session`` tag).
        seed: the seed that picked the rows.
        model_class: the model's class name, e.g. ``HistGradientBoostingRegressor``.
        folds: the folds of the out-of-fold predictions.
        total_rows: how many rows the data set has.
        examples: how many labelled examples the person saw first.
        answers_from: where the answers came from, e.g. ``the terminal``, ``rows.csv``.
        by_hand: the rows were chosen by hand (``rows=``), not drawn with the seed.
    """

    dataset: str
    who: str
    session: str
    seed: int
    model_class: str
    folds: int
    total_rows: int
    examples: int
    answers_from: str = "the terminal"
    by_hand: bool = False


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    dim: bool = False


@dataclass(frozen=True)
class Table:
    """Rows of cells; the first column is left-aligned, the others right-aligned.

    ``footer_from``: rows from this index on are a footer (the true label and the predictions
    under a row's features), set off by a line. ``emphasis``: the index of a row shown in bold.
    """

    columns: list[str]
    rows: list[list[str]]
    footer_from: int | None = None
    emphasis: int | None = None
    notes: list[str] = field(default_factory=list)


Block = Heading | Paragraph | Table


def build_report(
    comparison: Comparison, facts: SessionFacts, context: FeatureContext, X: FloatArray
) -> list[Block]:
    """The report as a document."""
    c = comparison
    n = len(c.rows)
    blocks: list[Block] = [
        Heading(f"Human baseline: {n} rows of {facts.dataset}, labelled by {facts.who}", 1),
        Paragraph(
            f"Session {facts.session}. The {n} rows were {_how_picked(c, facts)}; answers from "
            f"{facts.answers_from}, with {facts.examples} labelled "
            f"example{'s' if facts.examples != 1 else ''} on offer first. The "
            f"model is {c.model.label} ({facts.model_class}), scored out of fold "
            f"({facts.folds} folds): it never saw the rows it is scored on.",
            dim=True,
        ),
        _scores(c),
        *(Paragraph(line) for line in c.headline()),
    ]
    if facts.by_hand:
        blocks += _sides_section(c)
    blocks += _hardest_section(c, c.human, c.model, "you", context, X)
    yours, its = c.hardest(c.human, HARDEST), c.hardest(c.model, HARDEST)
    if len(its) and sorted(yours) == sorted(its):
        shown = ", ".join(f"row {int(c.rows[p])}" for p in its)
        blocks += [
            Heading("Hardest rows for the model"),
            Paragraph(f"The same rows, in this order: {shown}."),
        ]
    else:
        blocks += _hardest_section(c, c.model, c.human, "the model", context, X)
    blocks += [Heading("Did you find the same rows hard?"), Paragraph(c.agreement.reading)]
    if n < 20:
        blocks.append(
            Paragraph(
                f"{n} rows is a first impression, not a measurement: each row moves the scores a "
                "lot. Label 20 or more for a reading you can compare with a model's.",
                dim=True,
            )
        )
    return blocks


def _how_picked(c: Comparison, facts: SessionFacts) -> str:
    if facts.by_hand:
        return f"chosen by hand (rows=) among the {facts.total_rows}"
    strata = "class" if c.task == "classification" else "quintile of the target"
    return f"picked with seed {facts.seed} from {facts.total_rows} (stratified by {strata})"


def _sides_section(c: Comparison) -> list[Block]:
    """Whom the person sided with, on rows chosen by hand: the recorded label or the model."""
    counted = sides(c)
    if c.task == "classification":
        lines: list[tuple[str, int]] = [
            ("your answer was the recorded label (the model said otherwise)", counted.label),
            ("your answer was the model's prediction (not the label)", counted.model),
            ("the model agreed with the label, and so did you", counted.both),
            ("you gave a class neither of them gave", counted.neither),
        ]
    else:
        lines = [
            ("your answer was closer to the recorded label", counted.label),
            ("your answer was closer to the model's prediction", counted.model),
            ("exactly as close to both", counted.both),
        ]
    first, second = counted.reading()
    return [
        Heading("Whom you sided with (rows chosen by hand)"),
        Paragraph(first),
        Table(["rows chosen by hand", "rows"], [[text, str(count)] for text, count in lines]),
        Paragraph(second, dim=True),
    ]


def _scores(c: Comparison) -> Table:
    keys = list(c.metric_keys)
    rows = [
        [contender.label, *(format_metric(k, contender.metrics[k]) for k in keys)]
        for contender in (c.human, c.model, c.trivial)
    ]
    notes = []
    if c.task == "classification":
        notes.append("mae: how many classes off, on average (the classes are ordered).")
    return Table(["on the same rows", *keys], rows, emphasis=0, notes=notes)


def _hardest_section(
    c: Comparison,
    contender: Contender,
    other: Contender,
    name: str,
    context: FeatureContext,
    X: FloatArray,
) -> list[Block]:
    title = f"Hardest rows for {name}"
    positions = c.hardest(contender, HARDEST)
    if len(positions) == 0:
        return [Heading(title), Paragraph(f"None: {name} got every row exactly right.")]
    rows = [int(c.rows[p]) for p in positions]
    readings = [context.read(X[row]) for row in rows]
    body = [
        [feature, *(reading[i].short for reading in readings)]
        for i, feature in enumerate(context.names)
    ]
    you, model = c.errors(c.human), c.errors(c.model)
    footer = [
        [f"true {c.target}", *(format_value(c.truth[p]) for p in positions)],
        ["you", *(_prediction(c.human.predictions[p]) for p in positions)],
        ["model", *(_prediction(c.model.predictions[p]) for p in positions)],
        ["your error", *(_error(you[p]) for p in positions)],
        ["model's error", *(_error(model[p]) for p in positions)],
    ]
    sizes = np.abs(c.errors(other))
    ranks = _ranks(sizes)
    other_name = "the model" if other.role == "model" else "you"
    placed = ", ".join(
        f"row {row}: "
        + ("exactly right" if sizes[p] == 0 else _rank_words(int(ranks[p]), len(c.rows)))
        for row, p in zip(rows, positions, strict=True)
    )
    return [
        Heading(title),
        Table(
            ["feature", *(f"row {row}" for row in rows)],
            [*body, *footer],
            footer_from=len(body),
            emphasis=len(body),
            notes=[
                "(pNN): the value's percentile among all rows; (NN%): the share of rows "
                "with that value."
            ],
        ),
        Paragraph(f"How hard {other_name} found them, among the {len(c.rows)} rows: {placed}."),
    ]


def _ranks(sizes: FloatArray) -> FloatArray:
    """1 for the largest error, n for the smallest (ties share the best rank)."""
    return np.asarray([1 + int(np.sum(sizes > s)) for s in sizes], dtype=np.float64)


def _rank_words(rank: int, n: int) -> str:
    if rank == 1:
        return "the hardest"
    if rank <= max(1, n // 4):
        return f"{ordinal(rank)} hardest"
    if rank > n - max(1, n // 4):
        return f"among the easiest ({ordinal(rank)} of {n})"
    return f"{ordinal(rank)} of {n}"


def _prediction(value: float) -> str:
    return format_value(float(value))


def _error(value: float) -> str:
    return "0" if value == 0 else f"{value:+.4g}"


# -- the results table (an artifact, and itself a valid answers file) -------------------------


def write_results(
    path: Path, comparison: Comparison, feature_names: Sequence[str], X: FloatArray
) -> None:
    """``row, <features>, label, prediction, model_prediction, trivial_prediction, error,
    model_error``: one line per labelled row, in the order asked. ``prediction`` is the
    person's, so the file is also an answers file (rescore it with another model)."""
    c = comparison
    header = [
        "row",
        *feature_names,
        "label",
        "prediction",
        "model_prediction",
        "trivial_prediction",
        "error",
        "model_error",
    ]
    you, model = c.errors(c.human), c.errors(c.model)
    lines = []
    for position, row in enumerate(c.rows):
        features = [_cell(v) for v in X[int(row)]]
        lines.append(
            [
                str(int(row)),
                *features,
                prediction_text(float(c.truth[position])),
                prediction_text(float(c.human.predictions[position])),
                _cell(c.model.predictions[position]),
                _cell(c.trivial.predictions[position]),
                _cell(you[position]),
                _cell(model[position]),
            ]
        )
    write_table(path, header, lines)


def _cell(value: float) -> str:
    return "" if np.isnan(value) else f"{float(value):.10g}"


# -- rendering --------------------------------------------------------------------------------


def print_report(console: Console, blocks: Sequence[Block]) -> None:
    """The report in the terminal."""
    for block in blocks:
        if isinstance(block, Heading):
            console.print()
            if block.level == 1:
                console.rule(Text(block.text, style="bold"))
            else:
                console.print(Text(block.text, style="bold underline"))
        elif isinstance(block, Paragraph):
            console.print(Text(block.text, style="dim" if block.dim else ""))
        else:
            console.print(_rich_table(block))
            for note in block.notes:
                console.print(Text(note, style="dim"))


def _rich_table(block: Table) -> RichTable:
    table = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for index, column in enumerate(block.columns):
        table.add_column(column, justify="left" if index == 0 else "right", no_wrap=index == 0)
    for index, row in enumerate(block.rows):
        if block.footer_from is not None and index == block.footer_from:
            table.add_section()
        table.add_row(*row, style="bold" if index == block.emphasis else "")
    return table


def to_markdown(blocks: Sequence[Block]) -> str:
    """The report as Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            out += [f"_{block.text}_" if block.dim else block.text, ""]
        else:
            cells = [[_md_cell(c) for c in row] for row in [block.columns, *block.rows]]
            out.append("| " + " | ".join(cells[0]) + " |")
            out.append("|" + "|".join([":---"] + ["---:"] * (len(block.columns) - 1)) + "|")
            for index, row in enumerate(cells[1:]):
                bold = index == block.emphasis
                out.append("| " + " | ".join(f"**{c}**" if bold else c for c in row) + " |")
            out += ["", *(f"_{note}_" for note in block.notes)]
            if block.notes:
                out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222;
       line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { padding: 0.2rem 0.7rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.footer-start td { border-top: 2px solid #888; }
tr.strong td { font-weight: bold; }
.dim { color: #666; font-size: 0.92rem; }
"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """The report as a self-contained HTML page."""
    e = escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{e(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="dim"' if block.dim else ""
            out.append(f"<p{css}>{e(block.text)}</p>")
        else:
            out.append("<table><thead><tr>")
            out.append("".join(f"<th>{e(c)}</th>" for c in block.columns))
            out.append("</tr></thead><tbody>")
            for index, row in enumerate(block.rows):
                classes = []
                if index == block.footer_from:
                    classes.append("footer-start")
                if index == block.emphasis:
                    classes.append("strong")
                attr = f' class="{" ".join(classes)}"' if classes else ""
                out.append(f"<tr{attr}>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
            out += [f'<p class="dim">{e(note)}</p>' for note in block.notes]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def note_text(comparison: Comparison, facts: SessionFacts) -> str:
    """The human run's ``mlflow.note.content``: the result in a few honest lines (Markdown)."""
    c = comparison
    lines = [
        f"**Human baseline** on {len(c.rows)} rows of {facts.dataset}, labelled by "
        f"{facts.who} (session `{facts.session}`).",
        "",
        to_markdown([_scores(c)]).strip(),
        "",
        *c.headline(),
        "",
        *([sides(c).reading()[0], ""] if facts.by_hand else []),
        c.agreement.reading,
        "",
        "The model and trivial runs of the same session sit beside this one "
        f"(tag `shorts.label.session = {facts.session}`); report.html and results.csv are in "
        "the artifacts.",
    ]
    return "\n".join(lines)
