"""Routing rows between two regressors: one model on a slice, the baseline everywhere else.

Why: a retrospective's slice lesson reads "the short failed overall but beat its baseline on one
slice; worth a hybrid". ``SliceRouter`` is that hybrid as an estimator, judged like any model. A
slice by the baseline's prediction stands in for a slice of the (unknown) target.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.utils import Tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from shorts.reframe import follow_input_tags, validate_X_y

__all__ = ["SliceRouter", "within"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class SliceRouter(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Predict with ``estimator`` on the rows of a slice and with ``baseline`` on the others.

    Both learners are fitted on *all* training rows, as in the runs a slice lesson comes from:
    the model that won on a slice had seen the whole data, and so does its routed copy. Only
    prediction is routed. A row is in the slice when its value ``v`` satisfies
    ``low <= v < high`` (``None`` leaves that side open); a NaN value is outside any bounded slice.

    Args:
        estimator: the regressor used on the slice; ``None`` means
            ``HistGradientBoostingRegressor()``. It is cloned at fit, never modified.
        baseline: the regressor used outside the slice; ``None`` means ``Ridge()``.
        column: index of the feature that defines the slice when ``by="feature"``; ignored
            when ``by="prediction"``.
        low: inclusive lower bound of the slice, ``None`` for none.
        high: exclusive upper bound of the slice, ``None`` for none.
        by: ``"feature"`` (the value of ``X[:, column]``) or ``"prediction"`` (the fitted
            baseline's prediction for the row, known at prediction time).

    Attributes:
        estimator_: the fitted clone of ``estimator``.
        baseline_: the fitted clone of ``baseline``.
        in_slice_share_: share of the training rows in the slice (from 0 to 1).
        n_features_in_: number of features seen at fit.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "estimator": [HasMethods(["fit", "predict"]), None],
        "baseline": [HasMethods(["fit", "predict"]), None],
        "column": [Interval(Integral, 0, None, closed="left"), None],
        "low": [Interval(Real, None, None, closed="both"), None],
        "high": [Interval(Real, None, None, closed="both"), None],
        "by": [StrOptions({"feature", "prediction"})],
    }

    def __init__(
        self,
        estimator: Any = None,
        baseline: Any = None,
        column: int | None = 0,
        low: float | None = None,
        high: float | None = None,
        by: str = "feature",
    ) -> None:
        self.estimator = estimator
        self.baseline = baseline
        self.column = column
        self.low = low
        self.high = high
        self.by = by

    def _get_estimator(self) -> Any:
        return HistGradientBoostingRegressor() if self.estimator is None else self.estimator

    def _get_baseline(self) -> Any:
        return Ridge() if self.baseline is None else self.baseline

    def __sklearn_tags__(self) -> Tags:
        """NaN or sparse X is fine exactly when both learners accept it (each sees every row)."""
        tags = super().__sklearn_tags__()
        return follow_input_tags(tags, self._get_estimator(), self._get_baseline())

    @_fit_context(  # type: ignore[untyped-decorator]
        # the learners are unvalidated user objects: let their own fit validate their params
        prefer_skip_nested_validation=False
    )
    def fit(self, X: ArrayLike, y: ArrayLike) -> SliceRouter:
        """Fit clones of both learners on all rows and record the slice's share of them.

        Raises:
            ValueError: ``by="feature"`` without a ``column`` within X's features, or an empty
                range (``low >= high``).
        """
        features, target = validate_X_y(self, X, y, fitting=True, y_numeric=True)
        if self.by == "feature" and self.column is None:
            raise ValueError(
                'by="feature" needs column, the index of the feature that defines the slice; '
                'set column=INDEX, or by="prediction" to slice by the baseline\'s prediction.'
            )
        if self.by == "feature" and self.column >= self.n_features_in_:
            raise ValueError(
                f"column={self.column} is out of range for X with {self.n_features_in_} "
                f"feature(s); use an index from 0 to {self.n_features_in_ - 1}."
            )
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(
                f"The slice [low, high) = [{self.low}, {self.high}) is empty: low must be below "
                "high (None leaves a side open)."
            )
        self.baseline_: Any = clone(self._get_baseline()).fit(features, target)
        self.estimator_: Any = clone(self._get_estimator()).fit(features, target)
        self.in_slice_share_: float = float(np.mean(self._mask(features)))
        return self

    def predict(self, X: ArrayLike) -> FloatArray:
        """The baseline's prediction, replaced by the estimator's on the slice's rows."""
        check_is_fitted(self)
        features = validate_X_y(self, X, None, fitting=False)
        prediction = np.array(self.baseline_.predict(features), dtype=np.float64)
        rows = self._mask(features, prediction)
        if rows.any():  # some learners refuse to predict zero rows
            prediction[rows] = np.asarray(self.estimator_.predict(features[rows]))
        return prediction

    def in_slice(self, X: ArrayLike) -> BoolArray:
        """Which rows of ``X`` the fitted router sends to ``estimator_`` (the others: baseline)."""
        check_is_fitted(self)
        return self._mask(validate_X_y(self, X, None, fitting=False))

    def _mask(self, features: Any, baseline_prediction: FloatArray | None = None) -> BoolArray:
        """Rows whose value lies in ``[low, high)``; ``features`` are already validated."""
        return within(self._values(features, baseline_prediction), self.low, self.high)

    def _values(self, features: Any, baseline_prediction: FloatArray | None) -> FloatArray:
        """The value each row is sliced by: its feature, or the baseline's prediction for it."""
        if self.by == "prediction":
            if baseline_prediction is None:
                baseline_prediction = np.asarray(self.baseline_.predict(features))
            return np.asarray(baseline_prediction, dtype=np.float64).ravel()
        assert self.column is not None  # checked at fit
        if sparse.issparse(features):
            return np.asarray(features[:, [self.column]].toarray(), dtype=np.float64).ravel()
        return np.asarray(features[:, self.column], dtype=np.float64)


def within(values: FloatArray, low: float | None, high: float | None) -> BoolArray:
    """Which values lie in ``[low, high)``; ``None`` leaves a side open, NaN is outside a bound."""
    rows = np.ones(len(values), dtype=bool)
    if low is not None:
        rows &= values >= low
    if high is not None:
        rows &= values < high
    return rows
