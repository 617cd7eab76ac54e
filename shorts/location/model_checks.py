"""Checks that fit models: each column alone (leakage), and the model's doubts (noisy labels).

Leakage. A column that predicts the target almost perfectly on its own is more often a copy of
the label (recorded after the outcome, or computed from it) than a discovery. Each table column
(a one-hot encoded column counts once, with all its levels) gets a small decision tree (at most
32 leaves, 5 rows a leaf: enough for any monotone or bumpy relation of one variable), scored out
of fold on the same folds as the model. Suspected leaks: R² ≥ 0.95 (regression), AUC ≥ 0.98
or balanced accuracy ≥ 0.97 (classification). On the clean data shipped with scikit-learn the
strongest single columns stay well below: diabetes' best (s5) reaches R² 0.22 and breast
cancer's best (worst perimeter) AUC 0.95. Flipped labels keep a copy of the *true* label below
those thresholds (12 flips in wine's 178 rows: balanced accuracy 0.93), so the strongest columns
(R² ≥ 0.7, balanced accuracy ≥ 0.8) are also compared with the model on every other column: one
column that predicts about as well as all the others together is a suspected leak too
(``rivalled``).

Noisy labels. The model (the user's, or hist_gbm by default) predicts each row out of fold with
the suspected leaks and ID-like columns left out: a leak copies the recorded label, so with it
the model would agree with a flipped label and hide it (on breast cancer with 20 flipped labels
and a noisy copy of the label, the top 20 suspects held 1 flip with the copy kept in, 17 with it
left out). Regression ranks rows by the robust z
of their residual (median and 1.4826 MAD, so the outliers do not hide themselves by inflating
the scale); classification by the out-of-fold probability of the row's own label.

Rows beyond ``sample`` are subsampled (seeded) for both checks; the table checks see every row.

Threads. The checks run OpenMP single-threaded (``one_thread``) unless ``OMP_NUM_THREADS`` says
otherwise: on a 2-core machine with other work running, HistGradientBoosting's OpenMP threads
spin-wait for each other, and five fits took 7.3 s with the default threads against 1.1 s with
one (breast cancer, 569 rows), 36 s against 1.8 s at 20,000 rows x 26 features.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from shorts.datasets import Dataset
from shorts.errors import UsageError, one_line
from shorts.location.findings import (
    LEAK_AUC,
    LEAK_BALANCED_ACCURACY,
    LEAK_R2,
    NOISY_CHANCE_SHARE,
    NOISY_Z,
    RIVAL_BALANCED_ACCURACY,
    RIVAL_MARGIN,
    RIVAL_R2,
    RIVALS_CHECKED,
    TREE_LEAVES,
    FeaturePower,
    ModelScore,
    NoisyLabels,
    Suspect,
)
from shorts.requirements import check_packages

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.intp]]

TREE_MIN_LEAF = 5
BOOTSTRAP_DRAWS = 200
# Fewer rows than this: no model-based checks (a fold would hold a handful of rows).
MIN_MODEL_ROWS = 20


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """OpenMP limited to one thread for the block, unless ``OMP_NUM_THREADS`` is set."""
    if os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def feature_groups(data: Dataset, table_columns: Sequence[str]) -> dict[str, list[int]]:
    """The model's feature columns (indices into ``data.X``) by the table column they came from.

    A one-hot column ``colour=red`` belongs to ``colour`` when the table has such a column;
    every other feature is its own group.
    """
    known = set(table_columns)
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(data.feature_names):
        column = name
        if name not in known and "=" in name and name.split("=", 1)[0] in known:
            column = name.split("=", 1)[0]
        groups.setdefault(column, []).append(index)
    return groups


def sample_rows(rows: int, limit: int, seed: int) -> IntArray:
    """All row numbers, or a seeded random ``limit`` of them in table order."""
    if rows <= limit:
        return np.arange(rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, size=limit, replace=False))


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
    from shorts.location.predictions import fold_splits

    y = data.y
    splits = fold_splits(y, folds, seed, data.task == "classification")
    classes = np.unique(y)
    power = []
    with warnings.catch_warnings():
        # "The number of unique classes is greater than 50% ..." once per fit: the checklist
        # says it once, with the evidence.
        warnings.simplefilter("ignore", UserWarning)
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
    """One column alone, scored out of fold on ``splits``."""
    from sklearn.metrics import r2_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    y = data.y
    X = data.X[:, indices]
    if data.task == "classification":
        proba = np.zeros((len(y), len(classes)))
        for train, test in splits:
            tree = DecisionTreeClassifier(
                max_leaf_nodes=TREE_LEAVES, min_samples_leaf=TREE_MIN_LEAF, random_state=seed
            ).fit(X[train], y[train])
            where = np.searchsorted(classes, tree.classes_)
            proba[np.ix_(test, where)] = tree.predict_proba(X[test])
        auc, balanced = _class_scores(y, proba, classes)
        leak = auc >= LEAK_AUC or balanced >= LEAK_BALANCED_ACCURACY
        return FeaturePower(column, _names(data, indices), auc, balanced, leak)
    prediction = np.zeros(len(y))
    for train, test in splits:
        tree = DecisionTreeRegressor(
            max_leaf_nodes=TREE_LEAVES, min_samples_leaf=TREE_MIN_LEAF, random_state=seed
        ).fit(X[train], y[train])
        prediction[test] = tree.predict(X[test])
    r2 = float(r2_score(y, prediction))
    return FeaturePower(column, _names(data, indices), r2, None, r2 >= LEAK_R2)


def _names(data: Dataset, indices: list[int]) -> list[str]:
    return [data.feature_names[i] for i in indices]


@dataclass(frozen=True)
class Fitted:
    """The model check's raw result: out-of-fold predictions and how they were made."""

    prediction: FloatArray
    label_probability: FloatArray | None
    score: ModelScore


def build_model(model_cfg: Any) -> Any:
    """The estimator ``model_cfg`` describes; a config that does not build is the user's to fix."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    target = model_cfg.get("_target_") if hasattr(model_cfg, "get") else model_cfg
    check_packages(model_cfg, f"the model {target}")
    try:
        return instantiate(model_cfg)
    except (InstantiationException, TypeError, ValueError, ImportError) as exc:
        raise UsageError(f"the model {target} could not be built: {one_line(str(exc))}") from None


def accepts_nan(model: Any) -> bool:
    """Whether the estimator takes missing values as they are (scikit-learn's ``allow_nan``)."""
    from sklearn.utils import get_tags

    try:
        return bool(get_tags(model).input_tags.allow_nan)
    except Exception:
        return False


def fit_out_of_fold(
    data: Dataset, model_cfg: Any, columns: list[int], left_out: list[str], folds: int, seed: int
) -> Fitted:
    """Out-of-fold predictions of ``model_cfg`` on ``columns`` of ``data``, and its score.

    A model that does not take NaN gets a median imputer (with missing-value indicators) in
    front when the features have missing values, so the check runs whatever the model.
    """
    from omegaconf import OmegaConf
    from sklearn.exceptions import ConvergenceWarning

    from shorts.location.predictions import out_of_fold

    model = build_model(model_cfg)
    name = type(model).__name__
    cfg = model_cfg
    if np.isnan(data.X[:, columns]).any() and not accepts_nan(model):
        container = OmegaConf.to_container(model_cfg) if OmegaConf.is_config(model_cfg) else {}
        cfg = OmegaConf.create(
            {
                "_target_": "sklearn.pipeline.make_pipeline",
                "_args_": [
                    {
                        "_target_": "sklearn.impute.SimpleImputer",
                        "strategy": "median",
                        "add_indicator": True,
                    },
                    container or model_cfg,
                ],
            }
        )
        name = f"{name} after a median imputer"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            oof = out_of_fold(data, cfg, folds=folds, seed=seed, columns=columns)
    except ValueError as exc:
        raise UsageError(f"the model {name} could not be fitted: {one_line(str(exc))}") from None
    score = _score(data, oof.prediction, oof.label_probability, seed)
    metric, value, low, high, auc = score
    return Fitted(
        oof.prediction,
        oof.label_probability,
        ModelScore(name, oof.folds, metric, value, low, high, auc, list(left_out)),
    )


def _score(
    data: Dataset, prediction: FloatArray, probability: FloatArray | None, seed: int
) -> tuple[str, float, float, float, float | None]:
    """(metric, score, 95% bootstrap low, high, binary AUC) of out-of-fold predictions."""
    from sklearn.metrics import roc_auc_score

    y = data.y
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(BOOTSTRAP_DRAWS, len(y)))
    if data.task == "regression":
        values = [_r2(y[d], prediction[d]) for d in draws]
        low, high = np.nanpercentile(values, [2.5, 97.5])
        return "r2", _r2(y, prediction), float(low), float(high), None
    classes = np.unique(y)
    # A regressor chosen for classes predicts numbers: its nearest class is its answer.
    predicted = classes[np.abs(prediction[:, None] - classes[None, :]).argmin(axis=1)]
    values = [_balanced_accuracy(y[d], predicted[d]) for d in draws]
    low, high = np.nanpercentile(values, [2.5, 97.5])
    auc = None
    if probability is not None and len(classes) == 2:
        positive = np.where(y == classes[1], probability, 1.0 - probability)
        auc = float(roc_auc_score(y, positive))
    return "balanced_accuracy", _balanced_accuracy(y, predicted), float(low), float(high), auc


def _r2(y: FloatArray, prediction: FloatArray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - prediction) ** 2)) / total if total > 0 else float("nan")


def _balanced_accuracy(y: FloatArray, predicted: FloatArray) -> float:
    recalls = [float(np.mean(predicted[y == label] == label)) for label in np.unique(y)]
    return float(np.mean(recalls))


def noisy_labels(
    data: Dataset,
    fitted: Fitted,
    rows: IntArray,
    values: Any,
    top: int,
) -> NoisyLabels:
    """The rows whose label the out-of-fold model doubts most.

    Args:
        data: the rows checked (``data.y`` are their labels).
        fitted: the out-of-fold predictions on those rows.
        rows: each checked row's number in the table.
        values: ``values(row) -> dict`` of a table row's values, for the suspects listed.
        top: how many suspects to list.
    """
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
    every other column (leaks and ``ids`` aside): one column that predicts about as well as all
    the others together is a suspected leak too (a copy of the true label that flipped labels
    keep below the thresholds). Costs one model fit per compared column, and none on data like
    diabetes.

    Returns:
        The updated ``power``, and the fits by their feature columns: when the compared column
        turns out a leak, the model without it is the one the noisy-label check needs.
    """
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


def subset(data: Dataset, rows: IntArray) -> Dataset:
    """``data`` restricted to ``rows`` (the same object when that is every row)."""
    if len(rows) == len(data.y):
        return data
    return replace(data, X=data.X[rows], y=data.y[rows])
