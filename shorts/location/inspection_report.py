"""The inspection as files: ``report.html`` for people, ``report.json`` for tests and notebooks.

The HTML is self-contained (CSS inline, plots as base64 PNGs from ``shorts.reports``, no script,
no external URL). It opens with the checklist, then shows the evidence section by section:
columns and missing values, duplicates, the target, each column alone (leakage), and the rows
the model doubts. Every value taken from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from shorts.reports import (
    agg_figure,
    escape,
    format_value,
    img_tag,
    plot_label,
    png_bytes,
    tidy_axes,
    write_text_atomically,
)
from shorts.reports import format_number as num
from shorts.reports import format_score as score_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILES = {"html": "report.html", "json": "report.json"}
POWER_BARS = 20
LOG_SCALE_SKEW = 2.0  # a target histogram this skewed gets a log-scaled count axis
MISSING_BARS = 25
SUSPECT_COLUMNS = 40  # a suspect table wider than this shows the strongest columns only
BLUE, RED, GREY, AMBER = "#4f81bd", "#c0392b", "#8c959f", "#e0a100"


def write_report(found: Inspection, folder: Path) -> dict[str, Path]:
    """Write ``report.html`` and ``report.json`` for ``found`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "html": write_text_atomically(folder / FILES["html"], to_html(found)),
        "json": write_text_atomically(folder / FILES["json"], found.to_json()),
    }


# -- plots -----------------------------------------------------------------------------------------


def _plot(fig: Figure, alt: str, caption: str) -> str:
    return img_tag(png_bytes(fig), alt, caption)


def _target_plot(found: Inspection) -> str:
    t = found.target_profile
    fig = agg_figure(9.0, 3.0)
    ax = fig.add_subplot()
    if t.task == "classification":
        labels = [num(c.label) for c in t.classes]
        ax.bar(labels, [c.count for c in t.classes], color=BLUE)
        ax.set_xlabel(plot_label(t.name))
        ax.set_ylabel("rows")
        alt = "Rows per class: " + ", ".join(f"{num(c.label)}: {c.count}" for c in t.classes)
        caption = "Rows per class of the target."
    else:
        edges = np.asarray(t.histogram_edges)
        ax.stairs(t.histogram_counts, edges, fill=True, color=BLUE)
        iqr = t.q3 - t.q1
        for x, style in ((t.q1 - 1.5 * iqr, ":"), (t.median, "-"), (t.q3 + 1.5 * iqr, ":")):
            if t.minimum <= x <= t.maximum:
                ax.axvline(x, color=RED if style == ":" else "#222222", linestyle=style, lw=1)
        ax.set_xlabel(plot_label(t.name))
        ax.set_ylabel("rows")
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
    return _plot(fig, alt, caption)


def _missing_plot(found: Inspection) -> str:
    gaps = sorted((c for c in found.column_profiles if c.missing), key=lambda c: -c.missing)
    if not gaps:
        return ""
    gaps = gaps[:MISSING_BARS]
    fig = agg_figure(9.0, 1.2 + 0.28 * len(gaps))
    ax = fig.add_subplot()
    ys = list(range(len(gaps)))
    ax.barh(ys, [100 * c.missing_share for c in gaps], color=AMBER, height=0.7)
    ax.set_yticks(ys, [plot_label(c.name) for c in gaps])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("missing, % of rows")
    ax.set_title("Missing values by column", loc="left", fontsize=11)
    tidy_axes(ax)
    alt = "Missing values: " + ", ".join(f"{c.name} {c.missing_share:.1%}" for c in gaps)
    return _plot(fig, alt, "Share of rows without a value, for every column that has gaps.")


def _power_plot(found: Inspection) -> str:
    if not found.power:
        return ""
    bars = found.power[:POWER_BARS]
    regression = found.power_metric == "r2"
    fig = agg_figure(9.0, 1.4 + 0.3 * len(bars))
    ax = fig.add_subplot()
    ys = list(range(len(bars)))
    ax.barh(
        ys,
        [max(p.score, 0.0) if regression else p.score for p in bars],
        color=[RED if p.leak else BLUE for p in bars],
        height=0.7,
    )
    threshold = LEAK_R2 if regression else LEAK_AUC
    ax.axvline(threshold, color=RED, linestyle="--", lw=1, label="leak threshold")
    score = found.model_score
    if score is not None and score.metric == "r2":
        ax.axvline(score.score, color="#222222", linestyle=":", lw=1.2, label="model, no leaks")
    elif score is not None and score.auc is not None:
        ax.axvline(score.auc, color="#222222", linestyle=":", lw=1.2, label="model, no leaks")
    ax.set_yticks(ys, [plot_label(p.column) for p in bars])
    ax.invert_yaxis()
    ax.set_xlim(0 if regression else 0.5, 1.0)
    ax.set_xlabel("cross-validated R² of the column alone" if regression else "AUC alone")
    ax.set_title("Each column alone: how well it predicts the target", loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    tidy_axes(ax)
    alt = "Single-column power: " + ", ".join(f"{p.column} {score_text(p.score)}" for p in bars)
    return _plot(
        fig,
        alt,
        "A small decision tree on each column alone, scored out of fold (negative R² shown as "
        "0). Red bars reach the leak threshold (dashed); the dotted line is the model on all "
        "columns but the suspects and ids.",
    )


def _noisy_plot(found: Inspection) -> str:
    noisy = found.noisy
    if noisy is None or not noisy.scores:
        return ""
    fig = agg_figure(9.0, 3.6)
    ax = fig.add_subplot()
    scores = np.asarray(noisy.scores)
    if found.task == "regression":
        labels = np.asarray(noisy.labels)
        predictions = np.asarray(noisy.predictions)
        flagged = np.abs(scores) >= noisy.threshold
        listed = _listed(noisy)
        ax.scatter(predictions, labels, s=8, color=GREY, alpha=0.5, label="rows")
        ax.scatter(
            predictions[flagged],
            labels[flagged],
            s=14,
            color=AMBER,
            label=f"|z| ≥ {noisy.threshold:g}",
        )
        ax.scatter(
            predictions[listed],
            labels[listed],
            s=28,
            facecolors="none",
            edgecolors=RED,
            label="listed suspects",
        )
        low = float(min(labels.min(), predictions.min()))
        high = float(max(labels.max(), predictions.max()))
        ax.plot([low, high], [low, high], color="#222222", lw=1, linestyle="--")
        ax.set_xlabel("out-of-fold prediction")
        ax.set_ylabel("recorded label")
        ax.set_title("Recorded label against the out-of-fold prediction", loc="left", fontsize=11)
        caption = (
            "Each row's label against what the model, fitted without the row, predicted; far "
            "from the dashed diagonal means the model disagrees."
        )
    elif noisy.by_probability:
        ax.hist(scores, bins=40, range=(0, 1), color=BLUE)
        ax.axvline(noisy.threshold, color=RED, linestyle="--", lw=1)
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
        ax.hist(scores, bins=distances, color=BLUE, rwidth=0.8)
        ax.axvline(noisy.threshold - 0.5, color=RED, linestyle="--", lw=1)
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
    if found.task == "regression":
        fig.legend(fontsize=8, frameon=False, loc="outside right upper")
    return _plot(fig, f"Noisy-label plot: {noisy.meeting()}", caption)


def _listed(noisy: NoisyLabels) -> np.ndarray[Any, Any]:
    """A mask of the listed suspects among the checked rows (by rank, the listing's order)."""
    scores = np.asarray(noisy.scores)
    mask = np.zeros(len(scores), dtype=bool)
    mask[np.argsort(-np.abs(scores), kind="stable")[: len(noisy.top)]] = True
    return mask


# -- HTML ------------------------------------------------------------------------------------------

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  max-width: 1180px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 1px solid #d0d7de; }
.meta, .muted, figcaption { color: #656d76; font-size: .9rem; }
.summary { font-size: 1.05rem; padding: .7rem 1rem; background: #f6f8fa;
  border: 1px solid #d0d7de; border-radius: 8px; margin: 1rem 0; }
ol.watch { padding-left: 1.4rem; }
ol.watch li { margin: .55rem 0; }
ol.watch .evidence { display: block; }
ol.watch .advice { display: block; color: #3d4651; }
ol.watch .advice::before { content: "→ "; color: #656d76; }
.ok { color: #1a7f37; }
.alarm { color: #c0392b; font-weight: 600; }
.scroll { overflow-x: auto; margin: .6rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: .3rem .55rem; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.flag td { background: #fff4e5; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: #f6f8fa; padding: .05em .3em; border-radius: 4px; }
figure { margin: 1rem 0 1.4rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; }
footer { margin: 3rem 0 1rem; color: #656d76; font-size: .8rem; }
"""


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: set[int],
    flags: Sequence[bool] = (),
) -> str:
    """An HTML table; cells are already HTML (escape data before passing it)."""
    head = "".join(
        f'<th{" class=n" if i in numeric else ""} scope="col">{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "\n".join(
        f"<tr{' class=flag' if n < len(flags) and flags[n] else ''}>"
        + "".join(
            f"<td{' class=n' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)
        )
        + "</tr>"
        for n, row in enumerate(rows)
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n'
        f"<tbody>{body}</tbody></table></div>"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def _p(html: str, cls: str = "") -> str:
    return f'<p class="{cls}">{html}</p>' if cls else f"<p>{html}</p>"


def to_html(found: Inspection) -> str:
    """The whole report as one HTML page."""
    title = f"Inspection of {found.dataset}"
    sections = [
        _section("watch", "What to watch", _watch(found)),
        _section("columns", "Columns and missing values", _columns(found)),
        _section("duplicates", "Duplicate rows", _duplicates(found)),
        _section("target", f"Target: {found.target}", _target(found)),
        _section("leakage", "Leakage: each column alone", _leakage(found)),
        _section("noisy", "Noisy labels: rows the model doubts", _noisy(found)),
    ]
    nav = " · ".join(
        f'<a href="#{a}">{escape(t)}</a>'
        for a, t in (
            ("watch", "What to watch"),
            ("columns", "Columns"),
            ("duplicates", "Duplicates"),
            ("target", "Target"),
            ("leakage", "Leakage"),
            ("noisy", "Noisy labels"),
        )
    )
    notes = "".join(_p(escape(n), "muted") for n in found.notes)
    meta = (
        f"source <code>{escape(found.source)}</code> · target <code>{escape(found.target)}</code> "
        f"({escape(found.task)}) · {found.rows:,} rows {TIMES} {found.columns} columns, "
        f"{found.features} model features · {found.generated_at:%Y-%m-%d %H:%M} · "
        f"{found.seconds:.1f} s"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{escape(title)}</h1>\n<div class="meta">{meta}</div>\n'
        f'<nav class="meta">{nav}</nav></header>\n<main>\n'
        f'<div class="summary">{escape(found.summary())}</div>\n{notes}\n'
        + "\n".join(sections)
        + "\n</main>\n<footer>Made by <code>shorts inspect</code>; report.json holds the same "
        "findings for machines.</footer>\n</body>\n</html>\n"
    )


def _watch(found: Inspection) -> str:
    if not found.checklist:
        return _p("No check found evidence of a problem worth watching.", "ok")
    items = "\n".join(
        f"<li><strong>{escape(i.title)}</strong>"
        f'<span class="evidence">Seen: {escape(i.evidence)}</span>'
        f'<span class="advice">{escape(i.advice)}</span></li>'
        for i in found.checklist
    )
    intro = _p(
        "Each item is raised by evidence in this data (what was seen), most serious first.",
        "muted",
    )
    return f'{intro}<ol class="watch">\n{items}\n</ol>'


def _columns(found: Inspection) -> str:
    summary = _p(
        f"{found.rows:,} rows {TIMES} {found.columns} columns; types: "
        + escape(", ".join(f"{n} {k}" for k, n in found.kinds()))
        + f". {found.missing_cells:.2%} of all cells are missing."
    )
    rows = []
    flags = []
    for c in found.column_profiles:
        notes = []
        if c.id_like:
            notes.append(f"ID-like: {c.id_like}")
        if c.constant:
            notes.append("constant")
        flags.append(bool(notes))
        rows.append(
            [
                f"<code>{escape(c.name)}</code>",
                escape(c.kind),
                escape(c.dtype),
                f"{c.missing:,}" + (f" ({c.missing_share:.1%})" if c.missing else ""),
                f"{c.distinct:,}",
                escape(c.role),
                escape(", ".join(c.examples)),
                escape("; ".join(notes)),
            ]
        )
    table = _table(
        ["column", "type", "dtype", "missing", "distinct", "role", "examples", "note"],
        rows,
        {3, 4},
        flags,
    )
    plot = _missing_plot(found) or _p("No missing values in any column.", "ok")
    return summary + table + plot


def _duplicates(found: Inspection) -> str:
    d = found.duplicates
    ignoring = (
        f" Rows are compared without the ID-like column(s) {escape(', '.join(d.ignored_columns))}; "
        f"{d.exact_rows:,} rows are exact copies in every column."
        if d.ignored_columns
        else ""
    )
    if d.duplicate_rows:
        parts = [
            _p(
                f'<span class="alarm">{d.duplicate_rows:,} rows repeat an earlier row.</span>'
                f"{ignoring}"
            )
        ]
        if d.examples:
            parts.append(
                _p(
                    "Examples (row numbers, from 0): "
                    + escape("; ".join(", ".join(str(r) for r in g) for g in d.examples))
                )
            )
    else:
        compared = (
            f" (compared without the ID-like column(s) {escape(', '.join(d.ignored_columns))})"
            if d.ignored_columns
            else ""
        )
        parts = [_p(f"No row repeats another{compared}.", "ok")]
    if d.conflicting_groups:
        parts.append(
            _p(
                f"{d.conflicting_groups:,} groups of rows ({d.conflicting_rows:,} rows) have the "
                "same features but different targets, e.g. rows "
                + escape("; ".join(", ".join(str(r) for r in g) for g in d.conflict_examples))
            )
        )
    else:
        parts.append(_p("No rows with equal features and different targets.", "muted"))
    return "".join(parts)


def _target(found: Inspection) -> str:
    t = found.target_profile
    if t.task == "classification":
        rows = [[escape(num(c.label)), f"{c.count:,}", f"{c.share:.1%}"] for c in t.classes]
        text = _p(
            f"{len(t.classes)} classes; the largest is {num(t.imbalance)} times the smallest."
        )
        body = text + _table(["class", "rows", "share"], rows, {1, 2})
    else:
        robust = "n/a (MAD is 0)" if t.robust_outliers is None else f"{t.robust_outliers:,}"
        stats = [
            ("rows", f"{t.rows:,}"),
            ("mean", num(t.mean)),
            ("standard deviation", num(t.std)),
            ("minimum", num(t.minimum)),
            ("q1 / median / q3", f"{num(t.q1)} / {num(t.median)} / {num(t.q3)}"),
            ("maximum", num(t.maximum)),
            ("skew", score_text(t.skew, 2)),
            ("excess kurtosis", score_text(t.excess_kurtosis, 2)),
            ("beyond the 1.5 IQR fences", f"{t.low_outliers:,} low, {t.high_outliers:,} high"),
            (f"beyond {OUTLIER_Z:g} robust sd (1.4826 MAD)", robust),
            ("exactly zero", f"{t.zero_share:.1%}"),
            ("whole numbers", "yes" if t.integer_valued else "no"),
            ("Spearman with the row number", score_text(t.order_correlation)),
        ]
        body = _table(["figure", "value"], [[escape(k), escape(v)] for k, v in stats], {1})
    missing = (
        _p(f"{t.missing:,} rows of the table have no target value and are left out.", "alarm")
        if t.missing
        else ""
    )
    return body + missing + _target_plot(found)


def _leakage(found: Inspection) -> str:
    if not found.power:
        return _p("Not checked: too few rows.", "muted")
    regression = found.power_metric == "r2"
    rule = leak_rule(regression)
    intro = _p(
        f"A small decision tree (at most {TREE_LEAVES} leaves) on each column alone, scored out of "
        "fold "
        f"on {found.model_rows:,} rows. A column that alone reaches {rule} is a suspected leak: "
        "usually recorded after the outcome or computed from it."
    )
    score = found.model_score
    model = ""
    if score is not None:
        without = (
            f" without {escape(', '.join(score.left_out))}"
            if score.left_out
            else " on every column"
        )
        auc = f", AUC {score_text(score.auc)}" if score.auc is not None else ""
        model = _p(
            f"The model ({escape(score.model)}, {score.folds} folds){without}: "
            f"<strong>{escape(score.with_interval())}</strong>{auc}."
        )
    leaks = found.leaks
    verdict = (
        _p(f"Suspected leaks: {escape(', '.join(leaks))}.", "alarm")
        if leaks
        else _p("No suspected leak.", "ok")
    )
    headers = ["column", found.power_label]
    if not regression:
        headers.append("balanced accuracy")
    headers += ["model features", "leak?"]
    rows = []
    for p in found.power:
        row = [f"<code>{escape(p.column)}</code>", score_text(p.score)]
        if not regression:
            row.append(score_text(p.balanced_accuracy))
        features = ", ".join(p.features) if p.features != [p.column] else ""
        row += [escape(features), '<span class="alarm">suspected leak</span>' if p.leak else ""]
        rows.append(row)
    numeric = {1, 2} if not regression else {1}
    table = _table(headers, rows, numeric, [p.leak for p in found.power])
    return intro + verdict + model + _power_plot(found) + table


def _suspect_columns(found: Inspection, suspects: list[Suspect]) -> list[str]:
    """The suspects' columns to show: ids, the target, then the strongest single columns first
    (suspected leaks among them), the rest in table order; at most ``SUSPECT_COLUMNS``."""
    columns = list(suspects[0].values) if suspects else []
    first = [*found.id_like, found.target, *(p.column for p in found.power)]
    ordered = [c for c in dict.fromkeys([*first, *columns]) if c in columns]
    return ordered[:SUSPECT_COLUMNS]


def _noisy(found: Inspection) -> str:
    noisy = found.noisy
    if noisy is None:
        return _p("Not checked.", "muted")
    score = found.model_score
    left_out = (
        f", fitted without {escape(', '.join(score.left_out))}"
        if score is not None and score.left_out
        else ""
    )
    intro = _p(
        f"Each row predicted by the model fitted on the other folds{left_out} (a leak would "
        f"copy the recorded label and hide a wrong one). <strong>{escape(noisy.meeting())}"
        f"</strong>; the {len(noisy.top)} most suspect are listed with their values (row "
        "numbers from 0, in the table's order). Check them against their source and fix the "
        "wrong ones; <code>shorts label</code> puts you in the model's place on them."
    )
    if found.relabel_command:
        intro += _p(
            "To see whether a person, given only the features, sides with the recorded label or "
            f"with the model on these rows: <code>{escape(found.relabel_command)}</code> (the "
            "same row numbers)."
        )
    suspects = noisy.top
    columns = _suspect_columns(found, suspects)
    header, score_of = found.suspect_score()
    headers = ["row", "label", "predicted", header, *columns]
    rows = []
    for s in suspects:
        cells = [
            str(s.row),
            escape(num(s.label)),
            escape(num(s.prediction)),
            escape(score_of(s)),
        ]
        for c in columns:
            value = s.values.get(c)
            cells.append(escape(format_value(value)))
        rows.append(cells)
    more = (
        _p(
            f"Showing {len(columns)} of {len(suspects[0].values)} columns (ids, the target and "
            "the strongest single columns); report.json has every value.",
            "muted",
        )
        if suspects and len(columns) < len(suspects[0].values)
        else ""
    )
    table = _table(headers, rows, {0, 1, 2, 3})
    return intro + _noisy_plot(found) + table + more
