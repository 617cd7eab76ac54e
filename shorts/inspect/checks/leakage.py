"""Leakage: each column alone (a small decision tree, out of fold), and the model on every
column but the suspected leaks and ids (its predictions are the ``noisy`` check's evidence).

Why these thresholds: on scikit-learn's clean data the strongest single columns stay well below
them (diabetes' s5: R² 0.22; breast cancer's worst perimeter: AUC 0.95), while flipped labels keep
a copy of the *true* label below them (12 flips in wine: balanced accuracy 0.93), hence the
comparison with the model on every other column (``rivalled``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from shorts.datasets import Dataset
from shorts.inspect.checks import columns as columns_check
from shorts.inspect.checks.base import Check, Context, Items
from shorts.inspect.findings import ChecklistItem, Inspection, Remedies
from shorts.inspect.fitting import (
    MIN_MODEL_ROWS,
    Fitted,
    ModelScore,
    feature_groups,
    fit_out_of_fold,
    one_thread,
)
from shorts.reports import format_score as score_text
from shorts.reports.document import Block, Cell, Code, Paragraph, Plot, Strong, Table
from shorts.reports.figures import agg_figure, plot, plot_label, tidy_axes
from shorts.reports.rendering import theme

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

TREE_MIN_LEAF = 5
POWER_BARS = 20
SMALL_ROWS = 1000  # fewer rows than this: scores have wide intervals

# A column whose cross-validated score alone reaches one of these is a suspected leak: R²
# (regression), AUC or balanced accuracy (classification).
LEAK_R2 = 0.95
LEAK_AUC = 0.98
LEAK_BALANCED_ACCURACY = 0.97
TREE_LEAVES = 32  # leaves of the decision tree that scores each column alone (at most)
RIVAL_R2 = 0.7
"""A column this strong alone (R², or balanced accuracy ``RIVAL_BALANCED_ACCURACY``) is compared
with a model on every other column: noisy labels keep a copy of the true label below the leak
thresholds above (20 flips in 178 rows cap it near 0.9), but not below what all the honest
columns together reach."""
RIVAL_BALANCED_ACCURACY = 0.8
RIVAL_MARGIN = 0.02  # a column alone within this of the model on the others is a leak
RIVALS_CHECKED = 2  # how many of the strongest columns get that comparison (one fit each)


@dataclass(frozen=True)
class FeaturePower:
    """How well one column predicts the target on its own (cross-validated, out of fold).

    Attributes:
        column: the table's column (a one-hot encoded column counts once, with all its levels).
        score: R² (regression) or AUC (classification; one-vs-rest macro for more classes).
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


def _class_scores(y: FloatArray, proba: FloatArray, classes: FloatArray) -> tuple[float, float]:
    """(AUC, balanced accuracy) of class probabilities; AUC is one-vs-rest macro for k > 2."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    predicted = classes[np.argmax(proba, axis=1)]
    balanced = float(balanced_accuracy_score(y, predicted))
    if len(classes) == 2:
        auc = float(roc_auc_score(y, proba[:, 1]))
    else:
        auc = float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes))
    return auc, balanced


def single_feature_power(
    data: Dataset, groups: dict[str, list[int]], folds: int, seed: int
) -> list[FeaturePower]:
    """Each column alone, scored out of fold on the folds the model uses; strongest first."""
    from shorts.inspect.predictions import fold_splits

    y = data.y
    splits = fold_splits(y, folds, seed, data.task == "classification")
    classes = np.unique(y)
    power = []
    with warnings.catch_warnings():
        # "The number of unique classes is greater than 50% ..." once per fit: the checklist
        # says it once, with the evidence; a class missing from a training fold likewise.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for column, indices in groups.items():
            power.append(_power(data, column, indices, splits, classes, seed))
    return sorted(power, key=lambda p: -p.score)


def _power(
    data: Dataset,
    column: str,
    indices: list[int],
    splits: list[Any],
    classes: FloatArray,
    seed: int,
) -> FeaturePower:
    """One column alone, scored out of fold on ``splits`` (a class missing from a training
    fold gets probability 0 there)."""
    from sklearn.metrics import r2_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    classification = data.task == "classification"
    tree = (DecisionTreeClassifier if classification else DecisionTreeRegressor)(
        max_leaf_nodes=TREE_LEAVES, min_samples_leaf=TREE_MIN_LEAF, random_state=seed
    )
    method = "predict_proba" if classification else "predict"
    predicted = cross_val_predict(tree, data.X[:, indices], data.y, cv=splits, method=method)
    names = [data.feature_names[i] for i in indices]
    if classification:
        auc, balanced = _class_scores(data.y, predicted, classes)
        leak = auc >= LEAK_AUC or balanced >= LEAK_BALANCED_ACCURACY
        return FeaturePower(column, names, auc, balanced, leak)
    r2 = float(r2_score(data.y, predicted))
    return FeaturePower(column, names, r2, None, r2 >= LEAK_R2)


def rivalled(
    data: Dataset,
    model_cfg: Any,
    groups: dict[str, list[int]],
    power: list[FeaturePower],
    ids: Sequence[str],
    folds: int,
    seed: int,
) -> tuple[list[FeaturePower], dict[tuple[int, ...], Fitted]]:
    """``power`` with its strongest columns below the leak thresholds compared with the model on
    every other column (leaks and ``ids`` aside), one fit each; and the fits by their feature
    columns (when the compared column is a leak, the noisy-label check needs that fit)."""
    floor = RIVAL_R2 if data.task == "regression" else RIVAL_BALANCED_ACCURACY
    left_out = {p.column for p in power if p.leak} | set(ids)
    strong = [p.column for p in power if not p.leak and p.alone >= floor][:RIVALS_CHECKED]
    fits: dict[tuple[int, ...], Fitted] = {}
    checked = []
    for p in power:
        others = [
            i
            for column, indices in groups.items()
            if p.column in strong and column != p.column and column not in left_out
            for i in indices
        ]
        if others:
            fitted = fit_out_of_fold(data, model_cfg, others, [], folds, seed)
            fits[tuple(others)] = fitted
            rival = fitted.score.score
            p = replace(p, rival=rival, leak=p.alone >= rival - RIVAL_MARGIN)
        checked.append(p)
    return checked, fits


@dataclass(frozen=True)
class Leakage:
    """Each column alone (``power``), strongest first, scored by ``metric`` (``r2`` or ``auc``),
    and the model on every column but leaks and ids (``None``: too few rows, or every column is
    one of them)."""

    metric: str
    power: list[FeaturePower]
    model: ModelScore | None

    @property
    def leaks(self) -> list[str]:
        """Columns suspected of leaking the target."""
        return [p.column for p in self.power if p.leak]

    @property
    def label(self) -> str:
        """The single-column score as a person reads it: ``R²`` or ``AUC``."""
        return "R²" if self.metric == "r2" else "AUC"


def of(found: Inspection) -> Leakage:
    return cast(Leakage, found.findings[LeakageCheck.name])


class LeakageCheck(Check):
    """Each column alone, out of fold: one that predicts the target too well is a suspected leak."""

    name = "leakage"
    title = "Leakage: each column alone"

    def compute(self, ctx: Context, found: Inspection) -> Leakage:
        data, setting = ctx.checked, ctx.setting
        metric = "r2" if data.task == "regression" else "auc"
        if len(data.y) < MIN_MODEL_ROWS:
            return Leakage(metric, [], None)
        ids = columns_check.id_like(found)
        groups = feature_groups(data, [str(c) for c in ctx.frame.columns])
        ctx.progress(f"inspecting: each of {len(groups)} columns alone ({len(data.y):,} rows)")
        with one_thread():
            power = single_feature_power(data, groups, setting.folds, setting.seed)
            power, fits = rivalled(data, ctx.model_cfg, groups, power, ids, setting.folds,
                                   setting.seed)  # fmt: skip
        leaks = {p.column for p in power if p.leak}
        left_out = [c for c in groups if c in leaks or c in ids]
        keep = [i for column, idx in groups.items() if column not in left_out for i in idx]
        if not keep:
            ctx.notes.append(
                "Every feature is a suspected leak or an id: no model was fitted without them, "
                "so no noisy-label suspects."
            )
            return Leakage(metric, power, None)
        fitted = fits.get(tuple(keep))  # the comparison that found a leak fitted it already
        if fitted is None:
            ctx.progress(f"inspecting: the model out of fold ({setting.folds} folds)")
            with one_thread():
                fitted = fit_out_of_fold(data, ctx.model_cfg, keep, left_out, setting.folds,
                                         setting.seed)  # fmt: skip
        ctx.fitted = fitted
        return Leakage(metric, power, replace(fitted.score, left_out=left_out))

    def headline(self, found: Inspection) -> str:
        leaks = of(found).leaks
        return f"leak suspects: {', '.join(leaks)}" if leaks else "no leak suspect"

    def checklist(self, found: Inspection, remedies: Remedies) -> Items:
        return (_leaks(found, remedies), _small(found))

    def blocks(self, found: Inspection) -> list[Block]:
        leakage = of(found)
        if not leakage.power:
            return [Paragraph.of("Not checked: too few rows.", style="dim")]
        regression = leakage.metric == "r2"
        rule = (
            f"R² ≥ {LEAK_R2:g}"
            if regression
            else f"AUC ≥ {LEAK_AUC:g} or balanced accuracy ≥ {LEAK_BALANCED_ACCURACY:g}"
        )
        blocks: list[Block] = [
            Paragraph.of(
                f"A small decision tree (at most {TREE_LEAVES} leaves) on each column alone, "
                f"scored out of fold on {found.model_rows:,} rows. A column that alone reaches "
                f"{rule}, or predict about as well as all the other columns together is a "
                "suspected leak: usually recorded after the outcome or computed from it."
            ),
            Paragraph.of(f"Suspected leaks: {', '.join(leakage.leaks)}.", style="alarm")
            if leakage.leaks
            else Paragraph.of("No suspected leak.", style="ok"),
        ]
        score = leakage.model
        if score is not None:
            without = (
                f" without {', '.join(score.left_out)}" if score.left_out else " on every column"
            )
            auc = f", AUC {score_text(score.auc)}" if score.auc is not None else ""
            model = f"The model ({score.model}, {score.folds} folds){without}: "
            blocks.append(Paragraph.of(model, Strong(score.with_interval()), f"{auc}."))
        rows: list[list[Cell]] = []
        for p in leakage.power:
            accuracy = [] if regression else [score_text(p.balanced_accuracy)]
            features = ", ".join(p.features) if p.features != [p.column] else ""
            leak = Strong("suspected leak") if p.leak else ""
            rows.append([Code(p.column), score_text(p.score), *accuracy, features, leak])
        table = Table(
            ["column", leakage.label, *([] if regression else ["balanced accuracy"]),
             "model features", "leak?"],
            rows,
            numeric=frozenset({1} if regression else {1, 2}),
            flagged=frozenset(i for i, p in enumerate(leakage.power) if p.leak),
        )  # fmt: skip
        return [*blocks, _power_plot(found), table]

    def metrics(self, found: Inspection) -> dict[str, float]:
        leakage = of(found)
        figures = {"leak_suspects": float(len(leakage.leaks))}
        if leakage.power:
            figures[f"best_single_column_{leakage.metric}"] = leakage.power[0].score
        if leakage.model is not None:
            figures[f"model_{leakage.model.metric}"] = leakage.model.score
        return figures


def _power_plot(found: Inspection) -> Plot:
    leakage = of(found)
    bars = leakage.power[:POWER_BARS]
    regression = leakage.metric == "r2"
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
    score = leakage.model
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


def _leaks(found: Inspection, remedies: Remedies) -> ChecklistItem | None:
    leakage = of(found)
    leaks = [p for p in leakage.power if p.leak]
    if not leaks:
        return None
    metric = leakage.label
    parts = []
    for p in leaks:
        extra = (
            f", balanced accuracy {score_text(p.balanced_accuracy)}"
            if p.balanced_accuracy is not None
            else ""
        )
        parts.append(f"{p.column} alone reaches {metric} {score_text(p.score)}{extra}")
    evidence = "; ".join(parts) + " (cross-validated)"
    if leakage.model is not None:
        evidence += f", while the model on all the other columns reaches {leakage.model.figure}"
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
        rank=10,
    )


def _small(found: Inspection) -> ChecklistItem | None:
    if found.rows >= SMALL_ROWS:
        return None
    score = of(found).model
    interval = f"; the model's out-of-fold {score.with_interval()}" if score is not None else ""
    return ChecklistItem(
        "small_data",
        "Small data, wide intervals",
        f"{found.rows:,} rows{interval}.",
        "Differences between models smaller than that interval are noise: compare on the same "
        "folds with a paired test (shorts' verdict does), repeat the cross-validation with other "
        "seeds (cv.seed), and do not pick a winner from one split.",
        rank=140,
    )
