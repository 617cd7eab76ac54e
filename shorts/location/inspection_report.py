"""The inspection as files: ``report.html`` and ``report.md`` for people, ``report.json`` for
tests and notebooks.

This module computes: it turns an ``Inspection`` into a ``shorts.reports.document.Report`` (the
checklist first, as lessons, then columns and missing values, duplicates, the target, each
column alone (leakage) and the rows the model doubts) and draws the plots. How it looks is the
templates' business (``shorts/reports/templates/inspect.{html,md}.j2``), which escape every
value taken from the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shorts.location.findings import (
    LEAK_AUC,
    LEAK_R2,
    OUTLIER_Z,
    TIMES,
    TREE_LEAVES,
    Inspection,
    NoisyLabels,
    Suspect,
    leak_rule,
)
from shorts.reports import format_number as num
from shorts.reports import format_score as score_text
from shorts.reports import format_value
from shorts.reports.document import (
    Block,
    Cell,
    Code,
    Lesson,
    Paragraph,
    Plot,
    Report,
    Section,
    Strong,
)
from shorts.reports.document import Table as Tab
from shorts.reports.figures import agg_figure, plot, plot_label, tidy_axes
from shorts.reports.rendering import theme
from shorts.reports.rendering import write_report as write_files

POWER_BARS = 20
LOG_SCALE_SKEW = 2.0  # a target histogram this skewed gets a log-scaled count axis
MISSING_BARS = 25
SUSPECT_COLUMNS = 40  # a suspect table wider than this shows the strongest columns only


def write_report(found: Inspection, folder: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and ``report.json`` for ``found`` into ``folder``."""
    return write_files(build_report(found), folder, json=found.to_json())


def build_report(found: Inspection) -> Report:
    """The inspection as a report: the checklist as lessons, then the evidence by section."""
    sections = [
        Section("columns", "Columns and missing values", _columns(found)),
        Section("duplicates", "Duplicate rows", _duplicates(found)),
        Section("target", f"Target: {found.target}", _target(found)),
        Section("leakage", "Leakage: each column alone", _leakage(found)),
        Section("noisy", "Noisy labels: rows the model doubts", _noisy(found)),
    ]
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
            Paragraph.of(found.summary(), style="summary"),
            *([] if found.checklist else [clean]),
            *(Paragraph.of(note, style="dim") for note in found.notes),
        ],
        lessons=[
            Lesson(i.key, [Strong(i.title), f". Seen: {i.evidence}"], [i.advice])
            for i in found.checklist
        ],
        footer="Made by shorts inspect; report.json holds the same findings for machines.",
    )


# -- sections --------------------------------------------------------------------------------


def _columns(found: Inspection) -> list[Block]:
    kinds = ", ".join(f"{n} {k}" for k, n in found.kinds())
    rows: list[list[Cell]] = []
    flagged = set()
    for index, c in enumerate(found.column_profiles):
        notes = [f"ID-like: {c.id_like}"] if c.id_like else []
        notes += ["constant"] if c.constant else []
        if notes:
            flagged.add(index)
        missing = f"{c.missing:,}" + (f" ({c.missing_share:.1%})" if c.missing else "")
        rows.append([Code(c.name), c.kind, c.dtype, missing, f"{c.distinct:,}", c.role,
                     ", ".join(c.examples), "; ".join(notes)])  # fmt: skip
    headers = ["column", "type", "dtype", "missing", "distinct", "role", "examples", "note"]
    return [
        Paragraph.of(
            f"{found.rows:,} rows {TIMES} {found.columns} columns; types: {kinds}. "
            f"{found.missing_cells:.2%} of all cells are missing."
        ),
        Tab(headers, rows, numeric=frozenset({3, 4}), flagged=frozenset(flagged)),
        _missing_plot(found) or Paragraph.of("No missing values in any column.", style="ok"),
    ]


def _groups(groups: list[list[int]]) -> str:
    return "; ".join(", ".join(str(r) for r in g) for g in groups)


def _duplicates(found: Inspection) -> list[Block]:
    d = found.duplicates
    ignored = f"the ID-like column(s) {', '.join(d.ignored_columns)}"
    blocks: list[Block] = []
    if d.duplicate_rows:
        blocks.append(
            Paragraph.of(f"{d.duplicate_rows:,} rows repeat an earlier row.", style="alarm")
        )
        if d.ignored_columns:
            blocks.append(
                Paragraph.of(
                    f"Rows are compared without {ignored}; {d.exact_rows:,} rows are exact "
                    "copies in every column."
                )
            )
        if d.examples:
            blocks.append(Paragraph.of(f"Examples (row numbers, from 0): {_groups(d.examples)}"))
    else:
        compared = f" (compared without {ignored})" if d.ignored_columns else ""
        blocks.append(Paragraph.of(f"No row repeats another{compared}.", style="ok"))
    if d.conflicting_groups:
        blocks.append(
            Paragraph.of(
                f"{d.conflicting_groups:,} groups of rows ({d.conflicting_rows:,} rows) have the "
                f"same features but different targets, e.g. rows {_groups(d.conflict_examples)}"
            )
        )
    else:
        blocks.append(
            Paragraph.of("No rows with equal features and different targets.", style="dim")
        )
    return blocks


def _target(found: Inspection) -> list[Block]:
    t = found.target_profile
    blocks: list[Block]
    if t.task == "classification":
        shares: list[list[Cell]] = [
            [num(c.label), f"{c.count:,}", f"{c.share:.1%}"] for c in t.classes
        ]
        blocks = [
            Paragraph.of(
                f"{len(t.classes)} classes; the largest is {num(t.imbalance)} times the smallest."
            ),
            Tab(["class", "rows", "share"], shares, numeric=frozenset({1, 2})),
        ]
    else:
        robust = "n/a (MAD is 0)" if t.robust_outliers is None else f"{t.robust_outliers:,}"
        stats: list[list[Cell]] = [
            ["rows", f"{t.rows:,}"],
            ["mean", num(t.mean)],
            ["standard deviation", num(t.std)],
            ["minimum", num(t.minimum)],
            ["q1 / median / q3", f"{num(t.q1)} / {num(t.median)} / {num(t.q3)}"],
            ["maximum", num(t.maximum)],
            ["skew", score_text(t.skew, 2)],
            ["excess kurtosis", score_text(t.excess_kurtosis, 2)],
            ["beyond the 1.5 IQR fences", f"{t.low_outliers:,} low, {t.high_outliers:,} high"],
            [f"beyond {OUTLIER_Z:g} robust sd (1.4826 MAD)", robust],
            ["exactly zero", f"{t.zero_share:.1%}"],
            ["whole numbers", "yes" if t.integer_valued else "no"],
            ["Spearman with the row number", score_text(t.order_correlation)],
        ]
        blocks = [Tab(["figure", "value"], stats, numeric=frozenset({1}))]
    if t.missing:
        left_out = f"{t.missing:,} rows of the table have no target value and are left out."
        blocks.append(Paragraph.of(left_out, style="alarm"))
    return [*blocks, _target_plot(found)]


def _leakage(found: Inspection) -> list[Block]:
    if not found.power:
        return [Paragraph.of("Not checked: too few rows.", style="dim")]
    regression = found.power_metric == "r2"
    blocks: list[Block] = [
        Paragraph.of(
            f"A small decision tree (at most {TREE_LEAVES} leaves) on each column alone, scored "
            f"out of fold on {found.model_rows:,} rows. A column that alone reaches "
            f"{leak_rule(regression)} is a suspected leak: usually recorded after the outcome or "
            "computed from it."
        ),
        Paragraph.of(f"Suspected leaks: {', '.join(found.leaks)}.", style="alarm")
        if found.leaks
        else Paragraph.of("No suspected leak.", style="ok"),
    ]
    score = found.model_score
    if score is not None:
        without = f" without {', '.join(score.left_out)}" if score.left_out else " on every column"
        auc = f", AUC {score_text(score.auc)}" if score.auc is not None else ""
        model = f"The model ({score.model}, {score.folds} folds){without}: "
        blocks.append(Paragraph.of(model, Strong(score.with_interval()), f"{auc}."))
    rows: list[list[Cell]] = []
    for p in found.power:
        accuracy = [] if regression else [score_text(p.balanced_accuracy)]
        features = ", ".join(p.features) if p.features != [p.column] else ""
        leak = Strong("suspected leak") if p.leak else ""
        rows.append([Code(p.column), score_text(p.score), *accuracy, features, leak])
    table = Tab(
        ["column", found.power_label, *([] if regression else ["balanced accuracy"]),
         "model features", "leak?"],
        rows,
        numeric=frozenset({1} if regression else {1, 2}),
        flagged=frozenset(i for i, p in enumerate(found.power) if p.leak),
    )  # fmt: skip
    return [*blocks, _power_plot(found), table]


def _suspect_columns(found: Inspection, suspects: list[Suspect]) -> list[str]:
    """The suspects' columns to show: ids, the target, then the strongest single columns first
    (suspected leaks among them), the rest in table order; at most ``SUSPECT_COLUMNS``."""
    columns = list(suspects[0].values) if suspects else []
    first = [*found.id_like, found.target, *(p.column for p in found.power)]
    ordered = [c for c in dict.fromkeys([*first, *columns]) if c in columns]
    return ordered[:SUSPECT_COLUMNS]


def _noisy(found: Inspection) -> list[Block]:
    noisy = found.noisy
    if noisy is None:
        return [Paragraph.of("Not checked.", style="dim")]
    score = found.model_score
    left_out = f", fitted without {', '.join(score.left_out)}" if score and score.left_out else ""
    blocks: list[Block] = [
        Paragraph.of(
            f"Each row predicted by the model fitted on the other folds{left_out} (a leak would "
            "copy the recorded label and hide a wrong one). ",
            Strong(noisy.meeting()),
            f"; the {len(noisy.top)} most suspect are listed with their values (row numbers from "
            "0, in the table's order). Check them against their source and fix the wrong ones; ",
            Code("shorts label"),
            " puts you in the model's place on them.",
        )
    ]
    if found.relabel_command:
        blocks.append(
            Paragraph.of(
                "To see whether a person, given only the features, sides with the recorded label "
                "or with the model on these rows: ",
                Code(found.relabel_command),
                " (the same row numbers).",
            )
        )
    suspects = noisy.top
    columns = _suspect_columns(found, suspects)
    header, score_of = found.suspect_score()
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
    table = Tab(["row", "label", "predicted", header, *columns], rows,
                numeric=frozenset({0, 1, 2, 3}), notes=more)  # fmt: skip
    plotted = _noisy_plot(noisy, found.task)
    return [*blocks, *([plotted] if plotted else []), table]


# -- plots -----------------------------------------------------------------------------------


def _target_plot(found: Inspection) -> Plot:
    t = found.target_profile
    colour = theme()["series"]
    fig = agg_figure(9.0, 3.0)
    ax = fig.add_subplot()
    ax.set_xlabel(plot_label(t.name))
    ax.set_ylabel("rows")
    if t.task == "classification":
        ax.bar(
            [num(c.label) for c in t.classes], [c.count for c in t.classes], color=colour["main"]
        )
        alt = "Rows per class: " + ", ".join(f"{num(c.label)}: {c.count}" for c in t.classes)
        caption = "Rows per class of the target."
    else:
        ax.stairs(
            t.histogram_counts, np.asarray(t.histogram_edges), fill=True, color=colour["main"]
        )
        iqr = t.q3 - t.q1
        for x, style in ((t.q1 - 1.5 * iqr, ":"), (t.median, "-"), (t.q3 + 1.5 * iqr, ":")):
            if t.minimum <= x <= t.maximum:
                line = colour["alarm"] if style == ":" else colour["line"]
                ax.axvline(x, color=line, linestyle=style, lw=1)
        if abs(t.skew) >= LOG_SCALE_SKEW:  # the tail would be invisible on a linear scale
            ax.set_yscale("log")
            ax.set_ylabel("rows (log scale)")
        alt = (
            f"Histogram of {t.name}: median {num(t.median)}, range {num(t.minimum)} to "
            f"{num(t.maximum)}, skew {score_text(t.skew, 2)}"
        )
        caption = (
            "Distribution of the target; solid line: the median, dotted: the 1.5 IQR fences "
            "beyond which values count as outliers."
        )
    ax.set_title(f"Target: {plot_label(t.name, 48)}", loc="left", fontsize=11)
    tidy_axes(ax)
    return plot(fig, alt, caption)


def _missing_plot(found: Inspection) -> Plot | None:
    gaps = sorted((c for c in found.column_profiles if c.missing), key=lambda c: -c.missing)
    if not gaps:
        return None
    gaps = gaps[:MISSING_BARS]
    fig = agg_figure(9.0, 1.2 + 0.28 * len(gaps))
    ax = fig.add_subplot()
    ys = list(range(len(gaps)))
    ax.barh(ys, [100 * c.missing_share for c in gaps], color=theme()["series"]["warn"], height=0.7)
    ax.set_yticks(ys, [plot_label(c.name) for c in gaps])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("missing, % of rows")
    ax.set_title("Missing values by column", loc="left", fontsize=11)
    tidy_axes(ax)
    alt = "Missing values: " + ", ".join(f"{c.name} {c.missing_share:.1%}" for c in gaps)
    return plot(fig, alt, "Share of rows without a value, for every column that has gaps.")


def _power_plot(found: Inspection) -> Plot:
    bars = found.power[:POWER_BARS]
    regression = found.power_metric == "r2"
    colour = theme()["series"]
    fig = agg_figure(9.0, 1.4 + 0.3 * len(bars))
    ax = fig.add_subplot()
    ys = list(range(len(bars)))
    ax.barh(
        ys,
        [max(p.score, 0.0) if regression else p.score for p in bars],
        color=[colour["alarm"] if p.leak else colour["main"] for p in bars],
        height=0.7,
    )
    threshold = LEAK_R2 if regression else LEAK_AUC
    ax.axvline(threshold, color=colour["alarm"], linestyle="--", lw=1, label="leak threshold")
    score = found.model_score
    model = None if score is None else score.score if score.metric == "r2" else score.auc
    if model is not None:
        ax.axvline(model, color=colour["line"], linestyle=":", lw=1.2, label="model, no leaks")
    ax.set_yticks(ys, [plot_label(p.column) for p in bars])
    ax.invert_yaxis()
    ax.set_xlim(0 if regression else 0.5, 1.0)
    ax.set_xlabel("cross-validated R² of the column alone" if regression else "AUC alone")
    ax.set_title("Each column alone: how well it predicts the target", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    tidy_axes(ax)
    alt = "Single-column power: " + ", ".join(f"{p.column} {score_text(p.score)}" for p in bars)
    return plot(
        fig,
        alt,
        "A small decision tree on each column alone, scored out of fold (negative R² shown as "
        "0). Red bars reach the leak threshold (dashed); the dotted line is the model on all "
        "columns but the suspects and ids.",
    )


def _noisy_plot(noisy: NoisyLabels, task: str) -> Plot | None:
    if not noisy.scores:
        return None
    colour = theme()["series"]
    fig = agg_figure(9.0, 3.6)
    ax = fig.add_subplot()
    scores = np.asarray(noisy.scores)
    if task == "regression":
        labels, predictions = np.asarray(noisy.labels), np.asarray(noisy.predictions)
        flagged, listed = np.abs(scores) >= noisy.threshold, _listed(noisy)
        ax.scatter(predictions, labels, s=8, color=colour["muted"], alpha=0.5, label="rows")
        ax.scatter(predictions[flagged], labels[flagged], s=14, color=colour["warn"],
                   label=f"|z| ≥ {noisy.threshold:g}")  # fmt: skip
        ax.scatter(predictions[listed], labels[listed], s=28, facecolors="none",
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


def _listed(noisy: NoisyLabels) -> np.ndarray[Any, Any]:
    """A mask of the listed suspects among the checked rows (by rank, the listing's order)."""
    scores = np.asarray(noisy.scores)
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argsort(-np.abs(scores), kind="stable")[: len(noisy.top)]] = True
    return mask
