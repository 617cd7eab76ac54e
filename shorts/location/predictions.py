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
        folds: how many folds.
    """

    prediction: FloatArray
    label_probability: FloatArray | None
    model: str
    folds: int


def out_of_fold(
    data: Dataset, model_cfg: Any, folds: int = 5, seed: int = 0, columns: list[int] | None = None
) -> OutOfFold:
    """Predict every row of ``data`` with ``model_cfg`` fitted on the other ``folds``.

    ``columns``: the feature columns to use (default all), e.g. to leave out a suspected leak.
    Classification folds are stratified when every class has enough rows.
    """
    X = data.X if columns is None else data.X[:, columns]
    y = data.y
    model = instantiate(model_cfg)
    classification = data.task == "classification"
    folds = max(2, min(folds, len(y)))
    splitter: KFold | StratifiedKFold = KFold(folds, shuffle=True, random_state=seed)
    if classification and np.unique(y, return_counts=True)[1].min() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    prediction = np.full(len(y), np.nan)
    probability = np.full(len(y), np.nan) if classification else None
    for train, test in splitter.split(X, y):
        fitted = clone(model).fit(X[train], y[train])
        prediction[test] = np.asarray(fitted.predict(X[test]), dtype=np.float64)
        if probability is not None:
            if not hasattr(fitted, "predict_proba"):
                probability = None
                continue
            proba = np.asarray(fitted.predict_proba(X[test]))
            classes = list(np.asarray(fitted.classes_, dtype=np.float64))
            for row, (index, label) in enumerate(zip(test, y[test], strict=True)):
                probability[index] = proba[row, classes.index(label)] if label in classes else 0.0
    return OutOfFold(prediction, probability, type(model).__name__, folds)
