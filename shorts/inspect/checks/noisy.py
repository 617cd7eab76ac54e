"""Noisy labels: the rows whose recorded label the model doubts most.

The model is fitted out of fold without the suspected leaks and ids: a leak copies the recorded
label and would hide a flipped one (breast cancer with 20 flips and a noisy copy of the label: 1
flip among the top 20 suspects with the copy kept in, 17 with it left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from shorts.datasets import Dataset
from shorts.inspect.checks import columns as columns_check
from shorts.inspect.checks import leakage as leakage_check
from shorts.inspect.checks.base import Check, Context, Items
from shorts.inspect.findings import ChecklistItem, Inspection, Remedies, listed, plural
from shorts.inspect.fitting import Fitted
from shorts.reports import format_number as num
from shorts.reports import format_probability, format_value
from shorts.reports.document import Block, Cell, Code, Paragraph, Plot, Strong, Table
from shorts.reports.figures import agg_figure, plot, tidy_axes
from shorts.reports.rendering import theme
from shorts.retro.wording import pct

IntArray = np.ndarray[Any, np.dtype[np.intp]]

SUSPECT_COLUMNS = 40  # a suspect table wider than this shows the strongest columns only

NOISY_Z = 3.5
"""A residual this many robust standard deviations from the median marks a noisy-label suspect
(Iglewicz and Hoaglin's cut-off for the modified z-score)."""
NOISY_CHANCE_SHARE = 0.2
"""A row whose own label got less out-of-fold probability than this share of the chance level
(1/k for k classes: 0.1 for two classes, 0.04 for five) is a noisy-label suspect."""
NOISY_SHARE = 0.05
"""More suspects than this share of the rows is more than a few wrong labels: the target is hard
to predict from the features (or the model is overconfident), and the report says so."""


@dataclass(frozen=True)
class Suspect:
    """A row whose label the model, fitted without it, disagrees with most.

    Attributes:
        row: the row number in the table (from 0).
        label_probability: the out-of-fold probability of the row's own label (classification).
        score: the robust z of the residual (regression), the label's probability
            (classification), or how many classes off the prediction is (a classifier
            without probabilities).
    """

    row: int
    label: float
    prediction: float
    label_probability: float | None
    score: float
    values: dict[str, Any]


@dataclass(frozen=True)
class NoisyLabels:
    """Noisy-label suspects: the rule, how many rows meet it, and the top ones.

    Attributes:
        rule: the rule in words, e.g. ``|robust z of the residual| >= 3.5``.
        count: rows meeting the rule (among the ``checked``).
        top: the most suspect rows, most suspect first (they may include rows below the rule).
        scores, labels, predictions: every checked row's, for the plot.
    """

    rule: str
    threshold: float
    count: int
    checked: int
    top: list[Suspect]
    scores: list[float] = field(repr=False)
    labels: list[float] = field(repr=False)
    predictions: list[float] = field(repr=False)

    @property
    def by_probability(self) -> bool:
        """Suspects are ranked by their label's probability (a classifier with probabilities)."""
        return bool(self.top) and self.top[0].label_probability is not None

    def meeting(self) -> str:
        """``1 row meets the rule ...`` / ``26 rows meet the rule ...``."""
        verb = "row meets" if self.count == 1 else "rows meet"
        return f"{self.count:,} {verb} {self.rule}"


def noisy_labels(
    data: Dataset,
    fitted: Fitted,
    rows: IntArray,
    values: Any,
    top: int,
) -> NoisyLabels:
    """The ``top`` rows of ``data`` whose label the out-of-fold model (``fitted``) doubts most,
    with their table numbers (``rows``) and values (``values(row) -> dict``)."""
    y = data.y
    prediction = fitted.prediction
    probability = fitted.label_probability
    if data.task == "regression":
        residual = y - prediction
        center = float(np.median(residual))
        scale = float(np.median(np.abs(residual - center))) * 1.4826
        if scale <= 0:  # more than half the residuals equal: fall back to the usual spread
            scale = float(np.std(residual)) or 1.0
        scores = (residual - center) / scale
        order = np.argsort(-np.abs(scores), kind="stable")
        threshold = NOISY_Z
        count = int(np.sum(np.abs(scores) >= threshold))
        rule = f"|robust z of the out-of-fold residual| ≥ {NOISY_Z:g}"
    elif probability is not None:
        scores = probability
        order = np.argsort(scores, kind="stable")
        k = len(np.unique(y))
        threshold = NOISY_CHANCE_SHARE / k
        count = int(np.sum(scores < threshold))
        rule = (
            f"out-of-fold probability of the recorded label < {threshold:.3g} "
            f"(a fifth of chance, 1/{k})"
        )
    else:  # no probabilities (e.g. an ordinal regressor): how many classes off, in rank
        classes = np.unique(y)
        nearest = np.abs(prediction[:, None] - classes[None, :]).argmin(axis=1)
        scores = np.abs(nearest - np.searchsorted(classes, y)).astype(np.float64)
        order = np.argsort(-scores, kind="stable")
        # Ordered classes: a neighbouring class is an ordinary miss, two apart is a doubt.
        threshold = 1.0 if len(classes) == 2 else 2.0
        count = int(np.sum(scores >= threshold))
        rule = (
            "the out-of-fold predicted class differs from the recorded one"
            if len(classes) == 2
            else "the out-of-fold predicted class is 2 or more classes from the recorded one"
        )
    suspects = [
        Suspect(
            row=int(rows[i]),
            label=float(y[i]),
            prediction=float(prediction[i]),
            label_probability=None if probability is None else float(probability[i]),
            score=float(scores[i]),
            values=values(int(rows[i])),
        )
        for i in order[:top]
    ]
    return NoisyLabels(
        rule=rule,
        threshold=float(threshold),
        count=count,
        checked=len(y),
        top=suspects,
        scores=[float(s) for s in scores],
        labels=[float(v) for v in y],
        predictions=[float(v) for v in prediction],
    )


def of(found: Inspection) -> NoisyLabels | None:
    return cast(NoisyLabels | None, found.findings[Noisy.name])  # None: no model was fitted


class Noisy(Check):
    """The rows whose recorded label the model, fitted without them, doubts most."""

    name = "noisy"
    title = "Noisy labels: rows the model doubts"

    def compute(self, ctx: Context, found: Inspection) -> NoisyLabels | None:
        if ctx.fitted is None:
            return None
        return noisy_labels(ctx.checked, ctx.fitted, ctx.table_rows, ctx.values, ctx.setting.top)

    def headline(self, found: Inspection) -> str:
        noisy = of(found)
        return plural(noisy.count if noisy else 0, "noisy-label suspect")

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        return [_noisy(found, remedies)]

    def blocks(self, found: Inspection) -> list[Block]:
        noisy = of(found)
        if noisy is None:
            return [Paragraph.of("Not checked.", style="dim")]
        score = leakage_check.of(found).model
        left_out = (
            f", fitted without {', '.join(score.left_out)}" if score and score.left_out else ""
        )
        blocks: list[Block] = [
            Paragraph.of(
                f"Each row predicted by the model fitted on the other folds{left_out} (a leak "
                "would copy the recorded label and hide a wrong one). ",
                Strong(noisy.meeting()),
                f"; the {len(noisy.top)} most suspect are listed with their values (row numbers "
                "from 0, in the table's order). Check them against their source and fix the "
                "wrong ones; ",
                Code("shorts label"),
                " puts you in the model's place on them.",
            )
        ]
        if found.relabel_command:
            blocks.append(
                Paragraph.of(
                    "To see whether a person, given only the features, sides with the recorded "
                    "label or with the model on these rows: ",
                    Code(found.relabel_command),
                    " (the same row numbers).",
                )
            )
        suspects = noisy.top
        columns = _suspect_columns(found, suspects)
        header, score_of = suspect_score(found)
        rows: list[list[Cell]] = [
            [str(s.row), num(s.label), num(s.prediction), score_of(s),
             *(format_value(s.values.get(c)) for c in columns)]
            for s in suspects
        ]  # fmt: skip
        more = []
        if suspects and len(columns) < len(suspects[0].values):
            more.append(
                f"Showing {len(columns)} of {len(suspects[0].values)} columns (ids, the target and "
                "the strongest single columns); report.json has every value."
            )
        table = Table(["row", "label", "predicted", header, *columns], rows,
                      numeric=frozenset({0, 1, 2, 3}), notes=more)  # fmt: skip
        plotted = _noisy_plot(noisy, found.task)
        return [*blocks, *([plotted] if plotted else []), table]

    def metrics(self, found: Inspection) -> dict[str, float]:
        noisy = of(found)
        return {"noisy_suspects": float(noisy.count if noisy else 0)}


def suspect_score(found: Inspection) -> tuple[str, Callable[[Suspect], str]]:
    """The suspects' score column: its header, and each suspect's score as text."""
    noisy = of(found)
    if found.task == "regression":
        return "robust z", lambda s: f"{s.score:+.1f}"
    if noisy and noisy.by_probability:
        return "P(label)", lambda s: format_probability(s.label_probability)
    return "classes off", lambda s: f"{s.score:.0f}"


def _noisy(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    noisy = of(found)
    if noisy is None or noisy.count == 0:
        return None
    worst = noisy.top[: min(5, noisy.count)]
    if noisy.by_probability:
        shown = ", ".join(
            f"row {s.row} (label {num(s.label)}, P {format_probability(s.label_probability)})"
            for s in worst
        )
    else:
        shown = ", ".join(
            f"row {s.row} (label {num(s.label)}, predicted {num(s.prediction)})" for s in worst
        )
    model = leakage_check.of(found).model
    left_out = model.left_out if model else []
    without = f", fitted without {listed(left_out)}" if left_out else ""
    many = ""
    if noisy.count > NOISY_SHARE * noisy.checked:
        why = (
            "noisy, missing a feature that explains it, or heavy-tailed"
            if found.task == "regression"
            else "noisy or missing a feature that explains it, or the model is overconfident"
        )
        many = (
            f" That is {pct(noisy.count / noisy.checked)} of the rows checked, more than a "
            f"few wrong labels: the target is {why}; the listed rows are the most surprising."
        )
    return ChecklistItem(
        "noisy_labels",
        "Labels the model doubts",
        f"{noisy.meeting()} (model {remedies.model}{without}); most suspect: {shown}.{many}",
        "Check the top suspects (listed with their values in the report) against their source "
        "and fix the wrong labels. To see whether a person, given only the features, sides with "
        "the recorded label or with the model on them, relabel them by hand: "
        f"{found.relabel_command or remedies.relabel([s.row for s in noisy.top])}. A few "
        "flipped labels cap every model's score and can decide a comparison.",
        rank=30,
    )


def _suspect_columns(found: Inspection, suspects: list[Suspect]) -> list[str]:
    """The suspects' columns to show: ids, the target, then the strongest single columns first
    (suspected leaks among them), the rest in table order; at most ``SUSPECT_COLUMNS``."""
    columns = list(suspects[0].values) if suspects else []
    power = leakage_check.of(found).power
    first = [*columns_check.id_like(found), found.target, *(p.column for p in power)]
    ordered = [c for c in dict.fromkeys([*first, *columns]) if c in columns]
    return ordered[:SUSPECT_COLUMNS]


def _noisy_plot(noisy: NoisyLabels, task: str) -> Plot | None:
    if not noisy.scores:
        return None
    colour = theme()["series"]
    fig = agg_figure(9.0, 3.6)
    ax = fig.add_subplot()
    scores = np.asarray(noisy.scores)
    if task == "regression":
        labels, predictions = np.asarray(noisy.labels), np.asarray(noisy.predictions)
        flagged = np.abs(scores) >= noisy.threshold
        top = np.sort(np.argsort(-np.abs(scores), kind="stable")[: len(noisy.top)])  # the listed
        ax.scatter(predictions, labels, s=8, color=colour["muted"], alpha=0.5, label="rows")
        ax.scatter(predictions[flagged], labels[flagged], s=14, color=colour["warn"],
                   label=f"|z| ≥ {noisy.threshold:g}")  # fmt: skip
        ax.scatter(predictions[top], labels[top], s=28, facecolors="none",
                   edgecolors=colour["alarm"], label="listed suspects")  # fmt: skip
        low = float(min(labels.min(), predictions.min()))
        high = float(max(labels.max(), predictions.max()))
        ax.plot([low, high], [low, high], color=colour["line"], lw=1, linestyle="--")
        ax.set_xlabel("out-of-fold prediction")
        ax.set_ylabel("recorded label")
        ax.set_title("Recorded label against the out-of-fold prediction", loc="left", fontsize=11)
        fig.legend(fontsize=8, frameon=False, loc="outside right upper")
        caption = (
            "Each row's label against what the model, fitted without the row, predicted; far "
            "from the dashed diagonal means the model disagrees."
        )
    elif noisy.by_probability:
        ax.hist(scores, bins=40, range=(0, 1), color=colour["main"])
        ax.axvline(noisy.threshold, color=colour["alarm"], linestyle="--", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("out-of-fold probability of the recorded label")
        ax.set_ylabel("rows (log scale)")
        ax.set_title("How much the model believes each recorded label", loc="left", fontsize=11)
        caption = (
            f"Rows left of the dashed line (probability < {noisy.threshold:.3g}) are noisy-label "
            "suspects."
        )
    else:
        distances = [d - 0.5 for d in range(int(scores.max()) + 2)]
        ax.hist(scores, bins=distances, color=colour["main"], rwidth=0.8)
        ax.axvline(noisy.threshold - 0.5, color=colour["alarm"], linestyle="--", lw=1)
        ax.set_xlabel("classes between the predicted and the recorded class")
        ax.set_ylabel("rows")
        ax.set_title(
            "How far the predicted class is from the recorded one", loc="left", fontsize=11
        )
        caption = (
            f"Rows right of the dashed line ({noisy.threshold:g} or more classes apart) are "
            "noisy-label suspects."
        )
    tidy_axes(ax)
    return plot(fig, f"Noisy-label plot: {noisy.meeting()}", caption)
