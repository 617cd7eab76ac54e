"""Regression reframed as classification: bin the target, classify the bin, decode a number.

Why a meta-estimator: the reframing is a property of the *target*, not of the learner, so any
scikit-learn classifier with ``predict_proba`` can be tried (Weka's ``RegressionByDiscretization``
does the same). The class distribution it predicts also gives an interval for free.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["BinnedRegressor"]

FloatArray = NDArray[np.float64]

_KMEANS_MAX_ITER = 100


class BinnedRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Regress by classifying the target's bin and decoding the predicted bin distribution.

    Args:
        classifier: any classifier with ``predict_proba``; ``None`` means
            ``LogisticRegression(max_iter=1000)``. It is cloned at fit, never modified.
        n_bins: requested number of bins. Fewer are used when the target has few distinct
            values: empty or duplicate bins are merged so every class has a training sample.
        strategy: how bin edges are placed on the training target: ``"quantile"`` (equal
            counts), ``"uniform"`` (equal widths) or ``"kmeans"`` (1-D k-means cluster borders).
        decode: how a class distribution becomes a number: ``"expected"`` (sum of
            P(bin) times the bin's mean target), ``"mode"`` (mean of the most probable bin) or
            ``"median"`` (mean of the bin where the cumulative probability crosses 0.5).

    Attributes:
        bin_edges_: the ``n_bins_ + 1`` edges; the outer two are the training target's min, max.
        bin_means_: mean training target of each bin (what the decoders average over).
        n_bins_: number of bins actually used.
        classifier_: the fitted clone, trained on bin indices ``0 .. n_bins_ - 1``.
        n_features_in_: number of features seen at fit.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "classifier": [HasMethods(["fit", "predict_proba"]), None],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"quantile", "uniform", "kmeans"})],
        "decode": [StrOptions({"expected", "mode", "median"})],
    }

    def __init__(
        self,
        classifier: Any = None,
        n_bins: int = 10,
        strategy: str = "quantile",
        decode: str = "expected",
    ) -> None:
        self.classifier = classifier
        self.n_bins = n_bins
        self.strategy = strategy
        self.decode = decode

    def _get_classifier(self) -> Any:
        return LogisticRegression(max_iter=1000) if self.classifier is None else self.classifier

    def __sklearn_tags__(self) -> Tags:
        """Input tags follow the classifier: NaN or sparse X is fine exactly when it accepts it."""
        tags = super().__sklearn_tags__()
        inner = get_tags(self._get_classifier())
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    def _validate(self, X: ArrayLike, y: ArrayLike | None, *, fitting: bool) -> Any:
        """Validate as strictly as the classifier needs, no stricter (it validates again)."""
        input_tags = self.__sklearn_tags__().input_tags
        kwargs: dict[str, Any] = {
            "accept_sparse": ["csr", "csc"] if input_tags.sparse else False,
            "ensure_all_finite": "allow-nan" if input_tags.allow_nan else True,
        }
        if not fitting:
            return validate_data(self, X, reset=False, **kwargs)
        return validate_data(self, X, y, y_numeric=True, **kwargs)

    @_fit_context(  # type: ignore[untyped-decorator]
        # the classifier is an unvalidated user object: let its own fit validate its params
        prefer_skip_nested_validation=False
    )
    def fit(self, X: ArrayLike, y: ArrayLike) -> BinnedRegressor:
        """Bin ``y``, then fit a clone of the classifier on the bin indices.

        Returns:
            self, fitted.
        """
        X, y = self._validate(X, y, fitting=True)
        y = np.asarray(y, dtype=np.float64)
        edges = _merge_sparse_bins(_raw_edges(y, self.n_bins, self.strategy), y)
        bins = _assign(edges, y)
        self.bin_edges_: FloatArray = edges
        self.n_bins_: int = len(edges) - 1
        self.bin_means_: FloatArray = np.bincount(bins, weights=y) / np.bincount(bins)
        # A constant target leaves one class, which most classifiers refuse; the prior is exact.
        inner = clone(self._get_classifier()) if self.n_bins_ > 1 else DummyClassifier()
        self.classifier_: Any = inner.fit(X, bins)
        return self

    def predict_bin_proba(self, X: ArrayLike) -> FloatArray:
        """Probability of each bin, shape ``(n_samples, n_bins_)``.

        Why not ``predict_proba``: a regressor exposing that name is taken for a classifier by
        scikit-learn's tooling. Bins the classifier never saw get probability zero.
        """
        check_is_fitted(self)
        X = self._validate(X, None, fitting=False)
        proba = np.asarray(self.classifier_.predict_proba(X), dtype=np.float64)
        full = np.zeros((proba.shape[0], self.n_bins_))
        full[:, np.asarray(self.classifier_.classes_, dtype=np.intp)] = proba
        return full

    def predict(self, X: ArrayLike) -> FloatArray:
        """Decode the predicted bin distribution into one number per row (see ``decode``)."""
        proba = self.predict_bin_proba(X)
        if self.decode == "expected":
            return np.asarray(proba @ self.bin_means_, dtype=np.float64)
        if self.decode == "mode":
            index = np.argmax(proba, axis=1)
        else:  # "median"
            index = _crossing_bin(np.cumsum(proba, axis=1), np.array(0.5))
        return np.asarray(self.bin_means_[index], dtype=np.float64)

    def predict_interval(
        self, X: ArrayLike, coverage: float = 0.8
    ) -> tuple[FloatArray, FloatArray]:
        """A central interval holding ``coverage`` of the predicted distribution.

        The distribution is read as uniform inside each bin, so the quantiles interpolate
        linearly between bin edges; intervals never leave the training target's range.

        Returns:
            ``(lower, upper)``, each of shape ``(n_samples,)``.
        """
        if not isinstance(coverage, Real) or not 0.0 < float(coverage) < 1.0:
            raise ValueError(
                f"coverage must be a number strictly between 0 and 1, got {coverage!r}"
            )
        proba = self.predict_bin_proba(X)
        tail = (1.0 - float(coverage)) / 2.0
        return self._quantile(proba, tail), self._quantile(proba, 1.0 - tail)

    def _quantile(self, proba: FloatArray, q: float) -> FloatArray:
        cum = np.cumsum(proba, axis=1)
        index = _crossing_bin(cum, np.array(q))
        rows = np.arange(proba.shape[0])
        below = cum[rows, index] - proba[rows, index]
        mass = proba[rows, index]
        fraction = np.clip(
            np.divide(q - below, mass, out=np.zeros_like(mass), where=mass > 0), 0, 1
        )
        left, right = self.bin_edges_[index], self.bin_edges_[index + 1]
        return np.asarray(left + fraction * (right - left), dtype=np.float64)


def _crossing_bin(cum: FloatArray, q: NDArray[np.float64]) -> NDArray[np.intp]:
    """First bin whose cumulative probability reaches ``q`` (rounding cannot push past the end)."""
    index = np.sum(cum < q, axis=1)
    return np.asarray(np.minimum(index, cum.shape[1] - 1), dtype=np.intp)


def _raw_edges(y: FloatArray, n_bins: int, strategy: str) -> FloatArray:
    """Edges before merging; they may repeat or leave bins empty when ``y`` has ties."""
    if strategy == "quantile":
        return np.asarray(np.quantile(y, np.linspace(0.0, 1.0, n_bins + 1)), dtype=np.float64)
    lo, hi = float(y.min()), float(y.max())
    uniform = np.linspace(lo, hi, n_bins + 1)
    if strategy == "uniform":
        return uniform
    return _kmeans_edges(y, (uniform[:-1] + uniform[1:]) / 2.0)


def _kmeans_edges(y: FloatArray, centers: FloatArray) -> FloatArray:
    """1-D Lloyd's k-means from equal-width centres, as ``KBinsDiscretizer`` initialises it.

    Why not ``sklearn.cluster.KMeans``: in one dimension the assignment step is a sorted
    search, so a few lines of numpy are exact, deterministic and free of its warnings.
    """
    lo, hi = float(y.min()), float(y.max())
    for _ in range(_KMEANS_MAX_ITER):
        borders = (centers[:-1] + centers[1:]) / 2.0
        labels = np.searchsorted(borders, y, side="right")
        counts = np.bincount(labels, minlength=len(centers))
        sums = np.bincount(labels, weights=y, minlength=len(centers))
        # an empty cluster keeps its centre; the merge step removes its bin afterwards
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        updated.sort()
        if np.allclose(updated, centers):
            centers = updated
            break
        centers = updated
    return np.concatenate([[lo], (centers[:-1] + centers[1:]) / 2.0, [hi]])


def _assign(edges: FloatArray, y: FloatArray) -> NDArray[np.intp]:
    """Bin index of each value: bin ``j`` is ``[edges[j], edges[j+1])``, the last one closed."""
    return np.asarray(np.searchsorted(edges[1:-1], y, side="right"), dtype=np.intp)


def _merge_sparse_bins(edges: FloatArray, y: FloatArray) -> FloatArray:
    """Drop inner edges until every bin holds a training sample.

    An empty bin is merged into the next one by dropping its right edge; trailing empty bins
    are merged into the last non-empty one. Duplicate edges always bound an empty bin.
    """
    counts = np.bincount(_assign(edges, y), minlength=len(edges) - 1)
    kept: list[float] = []
    pending = 0
    for j, count in enumerate(counts):
        pending += int(count)
        if j < len(counts) - 1 and pending > 0:
            kept.append(float(edges[j + 1]))
            pending = 0
    if pending == 0 and kept:
        kept.pop()
    return np.asarray([edges[0], *kept, edges[-1]], dtype=np.float64)
