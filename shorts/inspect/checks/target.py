"""The target as the models see it (``Dataset.y``): its distribution, classes, tail and order.

What it finds decides how scores should be read: a skewed or zero-inflated target, imbalanced or
rare classes, a target that follows the row order. It fits no model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from shorts.datasets import Dataset
from shorts.inspect.checks.base import Check, Context, Items
from shorts.inspect.findings import ChecklistItem, Inspection, Remedies, plural
from shorts.reports import format_number as num
from shorts.reports import format_score as score_text
from shorts.reports.document import Block, Cell, Paragraph, Plot, Table
from shorts.reports.figures import agg_figure, plot, plot_label, tidy_axes
from shorts.reports.rendering import theme
from shorts.retro.wording import pct

HISTOGRAM_BINS = 40
LOG_SCALE_SKEW = 2.0  # a target histogram this skewed gets a log-scaled count axis
OUTLIER_Z = 3.5  # values this many robust standard deviations from the median are outliers
SKEW = 1.0  # |skew| at least this: a strongly skewed target
KURTOSIS = 3.0  # excess kurtosis at least this: tails heavier than a normal distribution's
OUTLIER_SHARE = 0.02  # robust outliers in at least this share of rows make the tail worth a look
ZERO_SHARE = 0.3  # at least this share of zero targets: a zero-inflated target
IMBALANCE = 3.0  # largest class at least this many times the smallest: an imbalanced target
ORDER = 0.3  # |Spearman correlation| of target and row number at least this: ordered rows
MANY_CLASSES = 20  # more classes than this (and than a tenth of the rows): a number as classes


@dataclass(frozen=True)
class ClassCount:
    """One class of a classification target."""

    label: float
    count: int
    share: float


@dataclass(frozen=True)
class TargetProfile:
    """The target as the models see it (``Dataset.y``).

    Attributes:
        rows: rows with a target value; ``missing``: rows of the table without one.
        skew: sample skewness (0 for a symmetric distribution; beyond ±1 is strongly skewed).
        excess_kurtosis: 0 for a normal distribution; large values mean heavy tails.
        low_outliers, high_outliers: rows beyond the 1.5 IQR fences (Tukey), below and above.
        robust_outliers: rows more than ``OUTLIER_Z`` robust standard deviations (1.4826 MAD)
            from the median; ``None`` when the MAD is 0 (over half the values are equal).
        classes, imbalance: for classification, the class counts and the largest class's count
            over the smallest's.
        order_correlation: Spearman correlation of the target with the row number (sorted
            or time-ordered rows show it).
    """

    name: str
    task: str
    rows: int
    missing: int
    mean: float
    std: float
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    skew: float
    excess_kurtosis: float
    zero_share: float
    integer_valued: bool
    distinct: int
    low_outliers: int
    high_outliers: int
    robust_outliers: int | None
    classes: list[ClassCount]
    imbalance: float | None
    order_correlation: float
    histogram_counts: list[int] = field(default_factory=list)
    histogram_edges: list[float] = field(default_factory=list)


def _finite(x: Any) -> float:
    value = float(x)
    return value if np.isfinite(value) else float("nan")


def profile_target(data: Dataset, missing: int) -> TargetProfile:
    """The distribution of ``data.y``; ``missing``: table rows without a target value."""
    import pandas as pd
    from scipy.stats import spearmanr

    y = data.y
    series = pd.Series(y)
    q1, median, q3 = (float(v) for v in np.quantile(y, [0.25, 0.5, 0.75]))
    iqr = q3 - q1
    mad = float(np.median(np.abs(y - median))) * 1.4826
    robust = int(np.sum(np.abs(y - median) / mad > OUTLIER_Z)) if mad > 0 else None
    classes: list[ClassCount] = []
    imbalance = None
    if data.task == "classification":
        labels, counts = np.unique(y, return_counts=True)
        classes = [
            ClassCount(float(label), int(count), float(count) / len(y))
            for label, count in zip(labels, counts, strict=True)
        ]
        imbalance = float(counts.max()) / float(counts.min())
    order = float(spearmanr(np.arange(len(y)), y).statistic) if np.ptp(y) > 0 else 0.0
    histogram: tuple[list[int], list[float]] = ([], [])
    if data.task == "regression":
        counts, edges = np.histogram(y, bins=HISTOGRAM_BINS)
        histogram = ([int(c) for c in counts], [float(e) for e in edges])
    return TargetProfile(
        name=data.target,
        task=data.task,
        rows=len(y),
        missing=missing,
        mean=float(np.mean(y)),
        std=float(np.std(y, ddof=1)) if len(y) > 1 else 0.0,
        minimum=float(np.min(y)),
        q1=q1,
        median=median,
        q3=q3,
        maximum=float(np.max(y)),
        skew=_finite(series.skew()),
        excess_kurtosis=_finite(series.kurt()),
        zero_share=float(np.mean(y == 0)),
        integer_valued=bool(np.all(y == np.round(y))),
        distinct=len(np.unique(y)),
        low_outliers=int(np.sum(y < q1 - 1.5 * iqr)),
        high_outliers=int(np.sum(y > q3 + 1.5 * iqr)),
        robust_outliers=robust,
        classes=classes,
        imbalance=imbalance,
        order_correlation=_finite(order),
        histogram_counts=histogram[0],
        histogram_edges=histogram[1],
    )


def of(found: Inspection) -> TargetProfile:
    return cast(TargetProfile, found.findings[Target.key])


class Target(Check):
    """The target's distribution: figures, classes, outliers, zeros, order, rows without one."""

    name = "target"
    title = "Target"
    key = "target_profile"

    def compute(self, ctx: Context, found: Inspection) -> TargetProfile:
        return profile_target(ctx.data, ctx.missing_target)

    def heading(self, found: Inspection) -> str:
        return f"Target: {found.target}"

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        return (_imbalance(found), _rare_classes(found, remedies), _tail(found), _zeros(found),
                _order(found))  # fmt: skip

    def blocks(self, found: Inspection) -> list[Block]:
        t = of(found)
        blocks: list[Block]
        if t.task == "classification":
            shares: list[list[Cell]] = [
                [num(c.label), f"{c.count:,}", f"{c.share:.1%}"] for c in t.classes
            ]
            blocks = [
                Paragraph.of(
                    f"{len(t.classes)} classes; the largest is {num(t.imbalance)} times the "
                    "smallest."
                ),
                Table(["class", "rows", "share"], shares, numeric=frozenset({1, 2})),
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
            blocks = [Table(["figure", "value"], stats, numeric=frozenset({1}))]
        if t.missing:
            left_out = f"{t.missing:,} rows of the table have no target value and are left out."
            blocks.append(Paragraph.of(left_out, style="alarm"))
        return [*blocks, _target_plot(found)]

    def metrics(self, found: Inspection) -> dict[str, float]:
        t = of(found)
        figures = {"target_skew": t.skew, "target_outliers": t.low_outliers + t.high_outliers}
        if t.classes:
            figures["minority_share"] = min(c.share for c in t.classes)
        return figures


def _target_plot(found: Inspection) -> Plot:
    t = of(found)
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


def _imbalance(found: Inspection) -> ChecklistItem | None:
    t = of(found)
    if t.imbalance is None or t.imbalance < IMBALANCE or not t.classes:
        return None
    smallest = min(t.classes, key=lambda c: c.count)
    return ChecklistItem(
        "imbalance",
        "Imbalanced classes",
        f"class {num(smallest.label)} has {plural(smallest.count, 'row')} "
        f"({pct(smallest.share)}); "
        f"the largest class is {t.imbalance:.1f} times as large.",
        "Accuracy rewards predicting the majority class: stratify the folds (the checks do) and "
        "report balanced accuracy or per-class recall; consider class weights.",
        rank=80,
    )


def _rare_classes(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    classes = of(found).classes
    rare = [c for c in classes if c.count < remedies.setting.folds]
    if not rare:
        return None
    shown = ", ".join(f"class {num(c.label)} ({plural(c.count, 'row')})" for c in rare[:6])
    if len(rare) > 6:
        shown += f" and {len(rare) - 6} more"
    evidence = f"{shown}: fewer rows than the {remedies.setting.folds} folds."
    advice = (
        "Stratified cross-validation cannot put such a class in every fold, and its scores are "
        "anecdotes: merge it with a neighbouring class or collect more rows."
    )
    if len(classes) > MANY_CLASSES and len(classes) > 0.1 * of(found).rows:
        evidence += f" The target has {len(classes):,} classes for {of(found).rows:,} rows."
        advice = (
            "With this many classes the target reads as a number, not a category: predict it as "
            "a regression (dataset.task=regression), or cut it into a few ordered classes with "
            "dataset.bins=K. " + advice
        )
    return ChecklistItem("rare_classes", "Classes rarer than the folds", evidence, advice, rank=90)


def _tail(found: Inspection) -> ChecklistItem | None:
    t = of(found)
    if t.task != "regression":
        return None
    outlier_share = (t.robust_outliers or 0) / t.rows if t.rows else 0.0
    skewed = abs(t.skew) >= SKEW
    heavy = t.excess_kurtosis >= KURTOSIS
    if not (skewed or heavy or outlier_share >= OUTLIER_SHARE):
        return None
    seen = [f"skew {score_text(t.skew, 2)}", f"excess kurtosis {score_text(t.excess_kurtosis, 2)}"]
    fences = t.low_outliers + t.high_outliers
    if fences:
        seen.append(
            f"{fences:,} rows ({pct(fences / t.rows)}) beyond the 1.5 IQR fences "
            f"({t.high_outliers:,} above, {t.low_outliers:,} below)"
        )
    if t.robust_outliers:
        seen.append(f"{t.robust_outliers:,} beyond {OUTLIER_Z:g} robust standard deviations")
    seen.append(f"median {num(t.median)}, maximum {num(t.maximum)}")
    advice = (
        "Squared-error scores (RMSE, R²) are dominated by the few extreme rows: check the "
        "errors on the top decile of the target separately"
    )
    if t.minimum > 0 and t.skew > 0:
        advice += "; try a log target (every value is positive)"
    elif t.minimum >= 0 and t.skew > 0:
        advice += "; try a log1p target (values are ≥ 0)"
    if t.integer_valued and t.minimum >= 0:
        advice += (
            "; the target is a count: a Poisson loss fits it (hist_gbm with model.loss=poisson)"
        )
    elif heavy or outlier_share >= OUTLIER_SHARE:
        advice += "; a robust loss (model.loss=absolute_error) is less pulled by outliers"
    return ChecklistItem(
        "heavy_tail",
        "Skewed or heavy-tailed target",
        "; ".join(seen) + ".",
        advice + ".",
        rank=100,
    )


def _zeros(found: Inspection) -> ChecklistItem | None:
    t = of(found)
    if t.task != "regression" or t.zero_share < ZERO_SHARE:
        return None
    return ChecklistItem(
        "zero_inflated",
        "Mostly zeros",
        f"{pct(t.zero_share)} of the targets are exactly 0.",
        "One model must then learn both whether and how much: a two-part model (zero or not, "
        "then how much) or a Tweedie/Poisson loss often fits better than squared error; score "
        "the non-zero rows separately too.",
        rank=110,
    )


def _order(found: Inspection) -> ChecklistItem | None:
    rho = of(found).order_correlation
    if abs(rho) < ORDER:
        return None
    return ChecklistItem(
        "row_order",
        "Target follows the row order",
        f"the Spearman correlation between row number and target is {score_text(rho)}: the "
        "rows are "
        "sorted by something related to the target, or in time order.",
        "Unshuffled folds would test on a different range than they train on (shorts shuffles). "
        "If the order is time, random folds let the model see the future: split by time "
        "instead, and check that no feature encodes the row order.",
        rank=120,
    )
