"""What to watch: assumptions and edge cases, each raised only by evidence seen in this data.

Every item says what was seen (numbers, columns, rows) and what to do about it, in the order a
person should deal with them: problems that make scores lie (leaks, duplicates, noisy labels)
before those that only make them noisy or hard to read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shorts.location.findings import NOISY_SHARE, OUTLIER_Z, ChecklistItem, Inspection
from shorts.reports import format_number as num
from shorts.reports import format_probability
from shorts.reports import format_score as score_text
from shorts.retro.wording import pct as _share

# Evidence thresholds (the checks' own thresholds are in findings.py).
SMALL_ROWS = 1000
"""Fewer rows than this: scores have wide intervals."""
SKEW = 1.0
"""|skew| at least this: a strongly skewed target."""
KURTOSIS = 3.0
"""Excess kurtosis at least this: tails heavier than a normal distribution's."""
OUTLIER_SHARE = 0.02
"""Robust outliers in at least this share of rows make the tail worth a look."""
ZERO_SHARE = 0.3
"""At least this share of zero targets: a zero-inflated target."""
IMBALANCE = 3.0
"""Largest class at least this many times the smallest: an imbalanced target."""
ORDER = 0.3
"""|Spearman correlation| of target and row number at least this: ordered rows."""
MANY_CLASSES = 20
"""More classes than this (and more than a tenth of the rows): a number read as classes."""
FEW_VALUES = 20
"""Features with at most this many distinct values make equal rows plausible by chance."""
WIDE = 0.1
"""At least this many features per row: a wide table."""
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Remedies:
    """What the advice can point to for this data set and command line.

    Attributes:
        drop_key: the override that leaves columns out (``dataset.drop``, or ``+dataset.drop``
            when the config node has no such key yet); ``None`` when the source cannot drop
            columns (scikit-learn's arrays).
        model: the class name of the model the checks fitted.
        model_takes_nan: whether it takes missing values as they are.
        label_command: ``shorts label`` with this data set's arguments.
        folds: cross-validation folds.
    """

    drop_key: str | None
    model: str
    model_takes_nan: bool
    label_command: str
    folds: int

    def relabel(self, rows: Sequence[int]) -> str:
        """``shorts label`` asking a person for ``rows`` in this order (the row numbers mean
        the same rows in both commands: ``shorts.location.row_ids``)."""
        return f"{self.label_command} rows={','.join(str(int(r)) for r in rows)}"

    def drop(self, columns: Sequence[str]) -> str:
        """The override leaving ``columns`` out, quoted for a shell; or how to do it by hand."""
        if self.drop_key is None:
            return "leave it out of the features (this source has no dataset.drop)"
        names = ",".join(c if _SIMPLE_NAME.match(c) else f"'{c}'" for c in columns)
        return f'leave it out with "{self.drop_key}=[{names}]"'


def _rows(rows: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" (+{len(rows) - limit} more)" if len(rows) > limit else "")


def _names(columns: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" (+{len(columns) - limit} more)" if len(columns) > limit else "")


def build_checklist(found: Inspection, remedies: Remedies) -> list[ChecklistItem]:
    """The items ``found`` gives evidence for, most serious first."""
    items: list[ChecklistItem] = []
    for make in (
        _leaks,
        _duplicates,
        _noisy,
        _conflicts,
        _ids,
        _constant,
        _missing,
        _imbalance,
        _rare_classes,
        _tail,
        _zeros,
        _order,
        _text,
        _small,
        _wide,
    ):
        item = make(found, remedies)
        if item is not None:
            items.append(item)
    return items


def _leaks(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    leaks = [p for p in found.power if p.leak]
    if not leaks:
        return None
    metric = found.power_label
    parts = []
    for p in leaks:
        extra = (
            f", balanced accuracy {score_text(p.balanced_accuracy)}"
            if p.balanced_accuracy is not None
            else ""
        )
        parts.append(f"{p.column} alone reaches {metric} {score_text(p.score)}{extra}")
    evidence = "; ".join(parts) + " (cross-validated)"
    if found.model_score is not None:
        evidence += f", while the model on all the other columns reaches {found.model_score.figure}"
    columns = [p.column for p in leaks]
    return ChecklistItem(
        "leak",
        "Suspected target leak",
        evidence + ".",
        "A column this predictive is usually recorded after the outcome or computed from it, "
        "and will not be there when the model is used. If so, "
        + remedies.drop(columns)
        + ". Keep it only if it is truly known before the prediction is made.",
        columns,
    )


def _duplicates(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    d = found.duplicates
    if d.duplicate_rows == 0:
        return None
    ignoring = (
        f" (ignoring the ID-like column{'s' if len(d.ignored_columns) > 1 else ''} "
        f"{_names(d.ignored_columns)})"
        if d.ignored_columns and d.duplicate_rows != d.exact_rows
        else ""
    )
    example = f"; e.g. rows {_rows(d.examples[0])}" if d.examples else ""
    features = [c.distinct for c in found.column_profiles if c.is_feature]
    if features and max(features) <= FEW_VALUES:
        example += (
            f". Every feature takes at most {max(features)} distinct values, so equal rows can "
            "be different records"
        )
    return ChecklistItem(
        "duplicates",
        "Duplicate rows",
        f"{d.duplicate_rows:,} rows ({_share(d.duplicate_rows / found.rows)}) repeat an earlier "
        f"row{ignoring}{example}.",
        "A copy in another fold lets the model be tested on a row it trained on, which inflates "
        "cross-validated scores. Drop the copies if they are the same record entered twice; if "
        "they are genuine repeats, keep each group in one fold (GroupKFold).",
    )


def _noisy(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    noisy = found.noisy
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
    left_out = found.model_score.left_out if found.model_score else []
    without = f", fitted without {_names(left_out)}" if left_out else ""
    many = ""
    if noisy.count > NOISY_SHARE * noisy.checked:
        why = (
            "noisy, missing a feature that explains it, or heavy-tailed"
            if found.task == "regression"
            else "noisy or missing a feature that explains it, or the model is overconfident"
        )
        many = (
            f" That is {_share(noisy.count / noisy.checked)} of the rows checked, more than a "
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
    )


def _conflicts(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    d = found.duplicates
    if d.conflicting_groups == 0:
        return None
    example = f"; e.g. rows {_rows(d.conflict_examples[0])}" if d.conflict_examples else ""
    return ChecklistItem(
        "conflicting_targets",
        "Same features, different targets",
        f"{d.conflicting_groups:,} groups of rows ({d.conflicting_rows:,} rows) have identical "
        f"features but different targets{example}.",
        "No model can get both right: either the labels are noisy or a feature that tells them "
        "apart is missing. Expect an error floor; check a few groups by hand.",
    )


def _ids(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    used = [c for c in found.column_profiles if c.id_like and c.is_feature]
    if not used:
        return None
    evidence = "; ".join(f"{c.name}: {c.id_like}" for c in used)
    grouped = [c.name for c in used if "share an id" in c.id_like]
    advice = (
        "An id says nothing about the target, but a model can split on it (and through it on "
        "the row order, if rows were added over time): " + remedies.drop([c.name for c in used])
    )
    if grouped:
        advice += (
            f". Rows that share {_names(grouped)} belong together: keep each group in one fold "
            "(GroupKFold), or the scores will flatter the model"
        )
    return ChecklistItem(
        "id_like",
        "ID-like columns among the features",
        f"{evidence}; the models see "
        f"{'it as a feature' if len(used) == 1 else 'them as features'}.",
        advice + ".",
        [c.name for c in used],
    )


def _constant(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    constant = [c for c in found.column_profiles if c.constant and c.role != "target"]
    if not constant:
        return None
    names = [c.name for c in constant]
    return ChecklistItem(
        "constant",
        "Constant columns",
        f"{_names(names)} hold{'s' if len(names) == 1 else ''} a single value (or none).",
        "A constant column carries no information; " + remedies.drop(names) + ".",
        names,
    )


def _missing(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    gaps = sorted(
        (c for c in found.column_profiles if c.missing and c.is_feature), key=lambda c: -c.missing
    )
    target_gap = found.target_profile.missing
    if not gaps and not target_gap:
        return None
    evidence = ""
    if gaps:
        shown = ", ".join(f"{c.name} {_share(c.missing_share)}" for c in gaps[:6])
        more = f" (+{len(gaps) - 6} more)" if len(gaps) > 6 else ""
        evidence = (
            f"{len(gaps)} feature column{'s' if len(gaps) > 1 else ''} with missing values: "
            f"{shown}{more}; {_share(found.missing_cells)} of all cells. "
        )
    if target_gap:
        evidence += (
            f"{target_gap:,} rows ({_share(target_gap / found.rows)}) have no target value and "
            "are left out."
        )
    if not gaps:
        advice = ""
    elif remedies.model_takes_nan:
        advice = (
            f"{remedies.model} takes missing values as they are; linear models, kNN and SVMs "
            "need an imputer first. "
        )
    else:
        advice = (
            f"{remedies.model} does not take missing values: impute them first (the checks put "
            "a median imputer with missing-value indicators in front of it), or use "
            "model=hist_gbm, which handles them. "
        )
    if gaps:
        advice += (
            "Check whether values are missing at random: a gap that depends on the target is "
            "itself a leak."
        )
    if target_gap:
        advice += (
            " Rows without a target may differ from the rest (cases still open, failed "
            "measurements): the model learns from and is scored on the labelled ones only."
        )
    return ChecklistItem(
        "missing", "Missing values", evidence.strip(), advice.strip(), [c.name for c in gaps]
    )


def _imbalance(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    t = found.target_profile
    if t.imbalance is None or t.imbalance < IMBALANCE or not t.classes:
        return None
    smallest = min(t.classes, key=lambda c: c.count)
    return ChecklistItem(
        "imbalance",
        "Imbalanced classes",
        f"class {num(smallest.label)} has {_plural(smallest.count, 'row')} "
        f"({_share(smallest.share)}); "
        f"the largest class is {t.imbalance:.1f} times as large.",
        "Accuracy rewards predicting the majority class: stratify the folds (the checks do) and "
        "report balanced accuracy or per-class recall; consider class weights.",
    )


def _rare_classes(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    classes = found.target_profile.classes
    rare = [c for c in classes if c.count < remedies.folds]
    if not rare:
        return None
    shown = ", ".join(f"class {num(c.label)} ({_plural(c.count, 'row')})" for c in rare[:6])
    if len(rare) > 6:
        shown += f" and {len(rare) - 6} more"
    evidence = f"{shown}: fewer rows than the {remedies.folds} folds."
    advice = (
        "Stratified cross-validation cannot put such a class in every fold, and its scores are "
        "anecdotes: merge it with a neighbouring class or collect more rows."
    )
    if len(classes) > MANY_CLASSES and len(classes) > 0.1 * found.target_profile.rows:
        evidence += (
            f" The target has {len(classes):,} classes for {found.target_profile.rows:,} rows."
        )
        advice = (
            "With this many classes the target reads as a number, not a category: predict it as "
            "a regression (dataset.task=regression), or cut it into a few ordered classes with "
            "dataset.bins=K. " + advice
        )
    return ChecklistItem("rare_classes", "Classes rarer than the folds", evidence, advice)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _tail(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    t = found.target_profile
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
            f"{fences:,} rows ({_share(fences / t.rows)}) beyond the 1.5 IQR fences "
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
    )


def _zeros(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    t = found.target_profile
    if t.task != "regression" or t.zero_share < ZERO_SHARE:
        return None
    return ChecklistItem(
        "zero_inflated",
        "Mostly zeros",
        f"{_share(t.zero_share)} of the targets are exactly 0.",
        "One model must then learn both whether and how much: a two-part model (zero or not, "
        "then how much) or a Tweedie/Poisson loss often fits better than squared error; score "
        "the non-zero rows separately too.",
    )


def _order(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    rho = found.target_profile.order_correlation
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
    )


def _text(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    dropped = [
        c.name for c in found.column_profiles if c.role == "left out (text)" and not c.id_like
    ]
    if not dropped:
        return None
    return ChecklistItem(
        "text_left_out",
        "Text columns left out",
        f"{_names(dropped)}: non-numeric with too many distinct values to one-hot encode, so "
        "the models do not see them.",
        "If they carry signal (dates, free text, codes with structure), derive numeric columns "
        "from them before modelling; raise dataset.max_categories for a categorical column.",
        dropped,
    )


def _small(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    if found.rows >= SMALL_ROWS:
        return None
    score = found.model_score
    interval = f"; the model's out-of-fold {score.with_interval()}" if score is not None else ""
    return ChecklistItem(
        "small_data",
        "Small data, wide intervals",
        f"{found.rows:,} rows{interval}.",
        "Differences between models smaller than that interval are noise: compare on the same "
        "folds with a paired test (shorts' verdict does), repeat the cross-validation with other "
        "seeds (cv.seed), and do not pick a winner from one split.",
    )


def _wide(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    if found.features < WIDE * found.rows:
        return None
    return ChecklistItem(
        "wide",
        "Many features per row",
        f"{found.features:,} features for {found.rows:,} rows.",
        "Flexible models overfit easily here: prefer regularised models, and select features "
        "inside the cross-validation, never before it.",
    )
