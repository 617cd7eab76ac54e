"""What ``shorts inspect`` found: plain dataclasses, written as report.json and read by the views.

The checks (``table_checks``, ``model_checks``, ``checklist``) fill these; the HTML and terminal
views (``inspection_report``, ``inspection_terminal``) only read them. Row numbers (``row``)
count the table's rows from 0 in the order the source holds them (for a CSV, row 0 is the first
line after the header).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shorts.reports import format_probability, format_score, jsonable

TIMES = "\N{MULTIPLICATION SIGN}"  # 442 rows x 11 columns, as people write it

# Thresholds, named once: the checks apply them and the reports quote them.
LEAK_R2 = 0.95
"""A feature whose cross-validated R² alone reaches this is a suspected leak (regression)."""
LEAK_AUC = 0.98
"""... whose cross-validated AUC alone reaches this (classification) ..."""
LEAK_BALANCED_ACCURACY = 0.97
"""... or whose cross-validated balanced accuracy alone reaches this (classification)."""
TREE_LEAVES = 32
"""Leaves of the decision tree that scores each column alone (at most)."""
RIVAL_R2 = 0.7
"""A column this strong alone (R², or balanced accuracy ``RIVAL_BALANCED_ACCURACY``) is compared
with a model on every other column: noisy labels keep a copy of the true label below the leak
thresholds above (20 flips in 178 rows cap it near 0.9), but not below what all the honest
columns together reach."""
RIVAL_BALANCED_ACCURACY = 0.8
RIVAL_MARGIN = 0.02
"""A column alone within this of the model on all the other columns is a suspected leak."""
RIVALS_CHECKED = 2
"""How many of the strongest columns get that comparison (each costs one more model fit)."""


def leak_rule(regression: bool) -> str:
    """Both leak rules in words, for the reports."""
    hard = (
        f"R² ≥ {LEAK_R2:g}"
        if regression
        else f"AUC ≥ {LEAK_AUC:g} or balanced accuracy ≥ {LEAK_BALANCED_ACCURACY:g}"
    )
    return f"{hard}, or predict about as well as all the other columns together"


NOISY_Z = 3.5
"""A residual this many robust standard deviations from the median marks a noisy-label suspect
(Iglewicz and Hoaglin's cut-off for the modified z-score)."""
NOISY_CHANCE_SHARE = 0.2
"""A row whose own label got less out-of-fold probability than this share of the chance level
(1/k for k classes: 0.1 for two classes, 0.04 for five) is a noisy-label suspect."""
NOISY_SHARE = 0.05
"""More suspects than this share of the rows is more than a few wrong labels: the target is hard
to predict from the features (or the model is overconfident), and the report says so."""
OUTLIER_Z = 3.5
"""Target values this many robust standard deviations from the median count as outliers."""


@dataclass(frozen=True)
class ColumnProfile:
    """One column of the table as its source holds it.

    Attributes:
        name: the column's name.
        dtype: the pandas dtype.
        kind: ``integer``, ``float``, ``boolean``, ``text``, ``datetime`` or ``other``.
        missing: how many rows have no value.
        missing_share: ``missing`` over the rows.
        distinct: how many distinct values (missing not counted).
        role: what the models see of it: ``target``, ``feature``, ``one-hot (k columns)``,
            ``left out (text)`` or ``left out (dataset.drop)``.
        constant: at most one distinct value.
        id_like: why it looks like an identifier (``""`` if it does not).
        examples: a few of its values, as text.
    """

    name: str
    dtype: str
    kind: str
    missing: int
    missing_share: float
    distinct: int
    role: str
    constant: bool
    id_like: str
    examples: list[str]

    @property
    def is_feature(self) -> bool:
        """The models see it (as it is, or one-hot encoded)."""
        return self.role == "feature" or self.role.startswith("one-hot")


@dataclass(frozen=True)
class Duplicates:
    """Rows that repeat other rows.

    Attributes:
        exact_rows: rows equal to an earlier row in every column.
        duplicate_rows: rows equal to an earlier row in every column but the ID-like ones
            (a record entered twice under two ids is still a duplicate).
        ignored_columns: the ID-like columns left out of that comparison.
        conflicting_groups: groups of rows with equal features (target, ID-like and dropped
            columns aside) but more than one target value.
        conflicting_rows: the rows in those groups.
        examples: row numbers of a few duplicate groups (first row, then its copies).
        conflict_examples: row numbers of a few conflicting groups.
    """

    exact_rows: int
    duplicate_rows: int
    ignored_columns: list[str]
    conflicting_groups: int
    conflicting_rows: int
    examples: list[list[int]]
    conflict_examples: list[list[int]]


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
        name: the target column.
        task: ``regression`` or ``classification``.
        rows: rows with a target value.
        missing: rows of the table without one (left out of the data set).
        mean, std, minimum, q1, median, q3, maximum: the usual figures.
        skew: sample skewness (0 for a symmetric distribution; beyond ±1 is strongly skewed).
        excess_kurtosis: 0 for a normal distribution; large values mean heavy tails.
        zero_share: share of rows whose target is exactly 0.
        integer_valued: every value is a whole number (counts, ratings, classes).
        distinct: distinct values.
        low_outliers, high_outliers: rows beyond the 1.5 IQR fences (Tukey), below and above.
        robust_outliers: rows more than ``OUTLIER_Z`` robust standard deviations (1.4826 MAD)
            from the median; ``None`` when the MAD is 0 (over half the values are equal).
        classes: class counts, for classification.
        imbalance: the largest class's count over the smallest's, for classification.
        order_correlation: Spearman correlation of the target with the row number (sorted
            or time-ordered rows show it).
        histogram_counts, histogram_edges: a 40-bin histogram of the target (regression).
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


@dataclass(frozen=True)
class FeaturePower:
    """How well one column predicts the target on its own (cross-validated, out of fold).

    Attributes:
        column: the table's column (a one-hot encoded column counts once, with all its levels).
        features: the model's feature columns it became.
        score: R² (regression) or AUC (classification; one-vs-rest macro for more classes).
        balanced_accuracy: for classification.
        leak: the score reaches the leak threshold, or the column alone predicts about as well
            as the model on every other column (``rival``).
        rival: that model's R² or balanced accuracy, for the strongest columns (else None).
    """

    column: str
    features: list[str]
    score: float
    balanced_accuracy: float | None
    leak: bool
    rival: float | None = None

    @property
    def alone(self) -> float:
        """The column's score on the metric the model is scored by (R², balanced accuracy)."""
        return self.score if self.balanced_accuracy is None else self.balanced_accuracy


@dataclass(frozen=True)
class ModelScore:
    """The model the checks fit on every column but the suspected leaks and ids.

    Attributes:
        model: the estimator's class name.
        folds: cross-validation folds.
        metric: ``r2`` (regression) or ``balanced_accuracy`` (classification).
        score: that metric, out of fold.
        low, high: its 95% bootstrap interval over rows.
        auc: out-of-fold AUC, for a binary target and a model with probabilities.
        left_out: the columns left out of its features (suspected leaks, ids).
    """

    model: str
    folds: int
    metric: str
    score: float
    low: float
    high: float
    auc: float | None
    left_out: list[str]

    @property
    def label(self) -> str:
        """The metric as a person reads it."""
        return "R²" if self.metric == "r2" else "balanced accuracy"

    @property
    def figure(self) -> str:
        """``balanced accuracy 0.912``: the metric and its out-of-fold value."""
        return f"{self.label} {format_score(self.score)}"

    def with_interval(self) -> str:
        """``R² 0.430 (95% bootstrap interval 0.370 to 0.490)``."""
        return (
            f"{self.figure} (95% bootstrap interval {format_score(self.low)} to "
            f"{format_score(self.high)})"
        )


@dataclass(frozen=True)
class Suspect:
    """A row whose label the model, fitted without it, disagrees with most.

    Attributes:
        row: the row number in the table (from 0).
        label: the recorded target, as the model sees it.
        prediction: the out-of-fold prediction (the predicted class, for classification).
        label_probability: the out-of-fold probability of the row's own label (classification).
        score: the robust z of the residual (regression), the label's probability
            (classification), or how many classes off the prediction is (a classifier
            without probabilities).
        values: the row's values in the table, by column.
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
        threshold: the rule's cut-off (a robust z, or a probability).
        count: rows meeting the rule (among the rows checked).
        checked: the rows checked.
        top: the most suspect rows, most suspect first (they may include rows below the rule).
        scores: every checked row's score (robust z or label probability), for the plot.
        labels, predictions: every checked row's label and out-of-fold prediction.
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


@dataclass(frozen=True)
class ChecklistItem:
    """An assumption or edge case to watch, with the evidence that raised it.

    Attributes:
        key: a stable name (``leak``, ``duplicates``, ``noisy_labels``, ...).
        title: what to watch, in a few words.
        evidence: what was seen in this data.
        advice: what to do about it.
        columns: the columns concerned, if any.
    """

    key: str
    title: str
    evidence: str
    advice: str
    columns: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    """Everything ``shorts inspect`` found about one data set.

    Attributes:
        dataset: the data set's name.
        source: where it came from (``Dataset.source``).
        target, task: what the models predict, and how.
        generated_at: when the inspection ran (local time).
        rows, columns: the table's shape as its source holds it.
        features: the model's feature columns (after encoding).
        missing_cells: share of the table's cells without a value.
        column_profiles: one per table column.
        duplicates: repeated rows.
        target_profile: the target's distribution.
        model_rows: rows the model-based checks used (all, or a random sample).
        power: each column alone, strongest first; ``power_metric`` names its score.
        model_score: the model on all but leaks and ids (``None`` when too few rows).
        noisy: noisy-label suspects (``None`` when too few rows).
        checklist: what to watch, most serious first.
        notes: how the checks were done where that matters (sampling, skipped checks).
        seconds: how long the checks took.
        relabel_command: ``shorts label ... rows=...`` asking a person for the listed suspects
            (the same row numbers), empty when none is listed.
    """

    dataset: str
    source: str
    target: str
    task: str
    generated_at: datetime
    rows: int
    columns: int
    features: int
    missing_cells: float
    column_profiles: list[ColumnProfile]
    duplicates: Duplicates
    target_profile: TargetProfile
    model_rows: int
    power_metric: str
    power: list[FeaturePower]
    model_score: ModelScore | None
    noisy: NoisyLabels | None
    checklist: list[ChecklistItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    relabel_command: str = ""

    @property
    def leaks(self) -> list[str]:
        """Columns suspected of leaking the target."""
        return [p.column for p in self.power if p.leak]

    @property
    def id_like(self) -> list[str]:
        """Columns that look like identifiers."""
        return [c.name for c in self.column_profiles if c.id_like]

    @property
    def power_label(self) -> str:
        """The single-column score as a person reads it: ``R²`` or ``AUC``."""
        return "R²" if self.power_metric == "r2" else "AUC"

    def kinds(self) -> list[tuple[str, int]]:
        """How many columns of each kind, most common first."""
        return Counter(c.kind for c in self.column_profiles).most_common()

    def summary(self) -> str:
        """One line: rows, duplicates, ids, leaks, noisy labels, missing values, items to watch."""
        leaks = self.leaks
        noisy = self.noisy.count if self.noisy else 0
        parts = [
            f"{self.rows:,} rows {TIMES} {self.columns} columns ({self.features} features)",
            f"{self.duplicates.duplicate_rows:,} duplicate rows",
            f"{len(self.id_like)} ID-like column{'s' if len(self.id_like) != 1 else ''}",
            f"leak suspects: {', '.join(leaks)}" if leaks else "no leak suspect",
            f"{noisy:,} noisy-label suspect{'s' if noisy != 1 else ''}",
            f"{self.missing_cells:.1%} cells missing"
            if self.missing_cells
            else "no missing values",
            f"{len(self.checklist)} thing{'s' if len(self.checklist) != 1 else ''} to watch",
        ]
        return " · ".join(parts)

    def suspect_score(self) -> tuple[str, Callable[[Suspect], str]]:
        """The suspects' score column: its header, and each suspect's score as text."""
        if self.task == "regression":
            return "robust z", lambda s: f"{s.score:+.1f}"
        if self.noisy and self.noisy.by_probability:
            return "P(label)", lambda s: format_probability(s.label_probability)
        return "classes off", lambda s: f"{s.score:.0f}"

    def to_json(self) -> str:
        """The inspection as JSON: every field, plus the leak and ID-like column lists.

        The per-row scores behind the noisy-label plot are left out (a large table would weigh
        megabytes); the listed suspects are in ``noisy.top``.
        """
        data = jsonable(dataclasses.asdict(self))
        if data.get("noisy"):
            for key in ("scores", "labels", "predictions"):
                data["noisy"].pop(key, None)
        data["leaks"] = self.leaks
        data["id_like"] = self.id_like
        return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
