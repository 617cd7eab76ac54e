"""Out-of-fold predictions: what a model says about each row it never saw while fitting.

Both on-location commands need them: ``inspect`` to find labels a model disagrees with most
(noisy-label suspects), ``label`` to score a model on exactly the rows a person labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hydra.utils import instantiate
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

from shorts.datasets import Dataset

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class OutOfFold:
    """Each row's prediction by a model fitted on the other folds.

    Attributes:
        prediction: the predicted value (regression) or class (classification), per row.
        label_probability: for classification, the probability the model gave the row's own
            label (low: the model doubts the label); ``None`` for regression or a model
            without ``predict_proba``.
        model: a name for the model, e.g. ``HistGradientBoostingRegressor``.
    """

    prediction: FloatArray
    label_probability: FloatArray | None
    model: str
    folds: int


def out_of_fold(
    data: Dataset, model_cfg: Any, folds: int = 5, seed: int = 0, columns: list[int] | None = None
) -> OutOfFold:
    """Predict every row of ``data`` with ``model_cfg`` (a Hydra node, or an estimator) fitted
    on the other ``folds``.

    ``columns``: the feature columns to use (default all), e.g. to leave out a suspected leak.
    Classification folds are stratified when every class has enough rows.
    """
    X = data.X if columns is None else data.X[:, columns]
    y = data.y
    model = model_cfg if hasattr(model_cfg, "get_params") else instantiate(model_cfg)
    classification = data.task == "classification"
    splits = fold_splits(y, folds, seed, classification)
    prediction = np.full(len(y), np.nan)
    probability = np.full(len(y), np.nan) if classification else None
    for train, test in splits:
        fitted = clone(model).fit(X[train], y[train])
        prediction[test] = np.asarray(fitted.predict(X[test]), dtype=np.float64)
        if probability is not None:
            if not hasattr(fitted, "predict_proba"):
                probability = None
                continue
            proba = np.asarray(fitted.predict_proba(X[test]))
            classes = np.asarray(fitted.classes_, dtype=np.float64)  # sorted, as sklearn keeps them
            column = np.minimum(np.searchsorted(classes, y[test]), len(classes) - 1)
            seen = classes[column] == y[test]  # a label absent from the training folds: P = 0
            probability[test] = np.where(seen, proba[np.arange(len(test)), column], 0.0)
    return OutOfFold(prediction, probability, type(model).__name__, len(splits))


def fold_splits(
    y: FloatArray, folds: int, seed: int, classification: bool
) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """The (train, test) folds every on-location fit uses, so checks on the same data agree:
    shuffled, between 2 and the row count, stratified when each class fills every fold."""
    folds = max(2, min(folds, len(y)))
    if classification and np.unique(y, return_counts=True)[1].min() >= folds:
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))
    return list(KFold(folds, shuffle=True, random_state=seed).split(y))
