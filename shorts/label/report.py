"""The report of a labelling session: in the terminal, as Markdown and HTML, and as a run note.

All forms come from one ``shorts.reports.document.Report``, so they say the same thing: the three
scores, a plain reading honest about few rows, the rows hardest for each, and (rows chosen by
hand) whom the person sided with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from shorts import record
from shorts.inspect.row_ids import FloatArray
from shorts.label.answers import ROW, prediction_text, write_table
from shorts.label.feature_context import FeatureContext, format_value, ordinal, plain_number
from shorts.label.scoring import Comparison, Contender, format_metric, sides
from shorts.reports.document import (
    Block,
    Cell,
    Code,
    Paragraph,
    Report,
    Section,
    Strong,
    Table,
    Term,
)
from shorts.reports.rendering import render_markdown

HARDEST = 3
RESULTS = ("label", "prediction", "model_prediction", "trivial_prediction", "error", "model_error")


@dataclass(frozen=True)
class SessionFacts:
    """Who labelled what, for the report's header: ``session`` is also the runs'
    ``shorts.label.session`` tag, ``examples`` how many labelled examples were on offer first,
    ``by_hand`` whether the rows were chosen with ``rows=`` rather than drawn with ``seed``."""

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


def build_report(
    comparison: Comparison, facts: SessionFacts, context: FeatureContext, X: FloatArray
) -> Report:
    """The session as a report: the scores and their reading first, then the hard rows."""
    c = comparison
    n = len(c.rows)
    sections = [_sides_section(c)] if facts.by_hand else []
    sections.append(_hardest_section(c, c.human, context, X))
    yours, its = c.hardest(c.human, HARDEST), c.hardest(c.model, HARDEST)
    if len(its) and sorted(yours) == sorted(its):
        shown = ", ".join(f"row {int(c.rows[p])}" for p in its)
        same = Paragraph.of(f"The same rows, in this order: {shown}.")
        sections.append(Section("hardest_model", "Hardest rows for the model", [same]))
    else:
        sections.append(_hardest_section(c, c.model, context, X))
    agreement: list[Block] = [Paragraph.of(c.agreement.reading)]
    if n < 20:
        few = (
            f"{n} rows is a first impression, not a measurement: each row moves the scores a "
            "lot. Label 20 or more for a reading you can compare with a model's."
        )
        agreement.append(Paragraph.of(few, style="dim"))
    sections.append(Section("agreement", "Did you find the same rows hard?", agreement))
    return Report(
        name="label",
        title=f"Human baseline: {n} rows of {facts.dataset}, labelled by {facts.who}",
        meta=[
            f"Session {facts.session}. The {n} rows were {_how_picked(c, facts)}; answers from "
            f"{facts.answers_from}, with {facts.examples} labelled "
            f"example{'s' if facts.examples != 1 else ''} on offer first. The model is "
            f"{c.model.label} ({facts.model_class}), scored out of fold ({facts.folds} folds): "
            "it never saw the rows it is scored on."
        ],
        sections={s.id: s for s in sections},
        summary=[_scores(c), *(Paragraph.of(line) for line in c.headline())],
        glossary=[
            Term("(pNN)", "the value's percentile among all rows."),
            Term("(NN%)", "the share of rows with that value."),
        ],
        footer="Made by shorts label; results.csv has every row labelled, with the predictions.",
    )


def _how_picked(c: Comparison, facts: SessionFacts) -> str:
    if facts.by_hand:
        return f"chosen by hand (rows=) among the {facts.total_rows}"
    strata = "class" if c.task == "classification" else "quintile of the target"
    return f"picked with seed {facts.seed} from {facts.total_rows} (stratified by {strata})"


def _sides_section(c: Comparison) -> Section:
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
    table = Table(
        ["rows chosen by hand", "rows"],
        [[text, str(count)] for text, count in lines],
        numeric=frozenset({1}),
    )
    blocks: list[Block] = [Paragraph.of(first), table, Paragraph.of(second, style="dim")]
    return Section("sides", "Whom you sided with (rows chosen by hand)", blocks)


def _scores(c: Comparison) -> Table:
    keys = list(c.metric_keys)
    rows: list[list[Cell]] = [
        [contender.label, *(format_metric(k, contender.metrics[k]) for k in keys)]
        for contender in (c.human, c.model, c.trivial)
    ]
    notes = ["mae: how many classes off, on average (the classes are ordered)."]
    return Table(
        ["on the same rows", *keys],
        rows,
        numeric=frozenset(range(1, len(keys) + 1)),
        emphasis=0,
        notes=notes if c.task == "classification" else [],
    )


def _hardest_section(
    c: Comparison, contender: Contender, context: FeatureContext, X: FloatArray
) -> Section:
    you_first = contender is c.human
    name, other_name = ("you", "the model") if you_first else ("the model", "you")
    other = c.model if you_first else c.human
    key, title = f"hardest_{contender.role}", f"Hardest rows for {name}"
    positions = c.hardest(contender, HARDEST)
    if len(positions) == 0:
        return Section(key, title, [Paragraph.of(f"None: {name} got every row exactly right.")])
    rows = [int(c.rows[p]) for p in positions]
    readings = [context.read(X[row]) for row in rows]
    body: list[list[Cell]] = [
        [feature, *(reading[i].short for reading in readings)]
        for i, feature in enumerate(context.names)
    ]
    you, model = c.errors(c.human), c.errors(c.model)
    footer: list[list[Cell]] = [
        [f"true {c.target}", *(format_value(c.truth[p]) for p in positions)],
        ["you", *(format_value(c.human.predictions[p]) for p in positions)],
        ["model", *(format_value(c.model.predictions[p]) for p in positions)],
        ["your error", *(_error(you[p]) for p in positions)],
        ["model's error", *(_error(model[p]) for p in positions)],
    ]
    sizes = np.abs(c.errors(other))
    ranks = rankdata(-sizes, method="min")  # 1: the largest error; ties share the best
    placed = ", ".join(
        f"row {row}: "
        + ("exactly right" if sizes[p] == 0 else _rank_words(int(ranks[p]), len(c.rows)))
        for row, p in zip(rows, positions, strict=True)
    )
    table = Table(
        ["feature", *(f"row {row}" for row in rows)],
        [*body, *footer],
        numeric=frozenset(range(1, len(rows) + 1)),
        footer_from=len(body),
        emphasis=len(body),
    )
    reading = Paragraph(
        [f"How hard {other_name} found them, among the {len(c.rows)} rows: {placed}."]
    )
    return Section(key, title, [table, reading])


def _rank_words(rank: int, n: int) -> str:
    if rank == 1:
        return "the hardest"
    if rank <= max(1, n // 4):
        return f"{ordinal(rank)} hardest"
    if rank > n - max(1, n // 4):
        return f"among the easiest ({ordinal(rank)} of {n})"
    return f"{ordinal(rank)} of {n}"


def _error(value: float) -> str:
    return "0" if value == 0 else f"{value:+.4g}"


def note_text(comparison: Comparison, facts: SessionFacts) -> str:
    """The human run's ``mlflow.note.content``: the result in a few honest lines, in the
    Markdown of the report (``note.md.j2``)."""
    c = comparison
    lines = [
        *c.headline(),
        *([sides(c).reading()[0]] if facts.by_hand else []),
        c.agreement.reading,
    ]
    blocks: list[Block] = [
        Paragraph.of(Strong("Human baseline"), f" on {len(c.rows)} rows of {facts.dataset}, "
                     f"labelled by {facts.who} (session ", Code(facts.session), ")."),
        _scores(c),
        *(Paragraph.of(line) for line in lines),
        Paragraph.of("The model and trivial runs of the same session sit beside this one (tag ",
           Code(f"{record.LABEL_SESSION} = {facts.session}"),
           "); report.html and results.csv are in the artifacts."),
    ]  # fmt: skip
    return render_markdown(Report("note", "Human baseline", [], {}, summary=blocks))


# -- the results table (an artifact, and itself a valid answers file) -------------------------


def write_results(
    path: Path, comparison: Comparison, feature_names: Sequence[str], X: FloatArray
) -> None:
    """``row, <features>, label, prediction, model_prediction, trivial_prediction, error,
    model_error``: one line per labelled row, in the order asked. ``prediction`` is the
    person's, so the file is also an answers file (rescore it with another model)."""
    c = comparison
    you, model = c.errors(c.human), c.errors(c.model)
    lines = (
        [
            str(int(row)),
            *(plain_number(v) for v in X[int(row)]),
            prediction_text(float(c.truth[position])),
            prediction_text(float(c.human.predictions[position])),
            plain_number(c.model.predictions[position]),
            plain_number(c.trivial.predictions[position]),
            plain_number(you[position]),
            plain_number(model[position]),
        ]
        for position, row in enumerate(c.rows)
    )
    write_table(path, [ROW, *feature_names, *RESULTS], lines)
