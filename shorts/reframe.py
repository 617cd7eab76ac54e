"""Reframing a learning problem as its neighbour: regression as classification and back.

Meta-estimators, because the reframing is a property of the *target*, not of the learner: any
classifier (or regressor) can be tried on the other kind of problem. ``BinnedRegressor``
classifies the target's bin (Weka's ``RegressionByDiscretization``; soft labels after Imani &
White 2018), ``BinnedStackRegressor`` adds a regressor on its out-of-fold bin probabilities, and
``OrdinalRegressor`` regresses the rank of ordered classes. All pass ``parametrize_with_checks``
except where it does not apply: a linear ``OrdinalRegressor`` cannot order three unordered blobs.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.utils import Tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

__all__ = ["BinnedRegressor", "BinnedStackRegressor", "OrdinalRegressor"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_KMEANS_MAX_ITER = 100
_SOFT_LABEL_REACH = 3.0  # soft labels spread a sample over bins within this many sigmas


def follow_input_tags(tags: Tags, *inners: Any, sparse: bool = True) -> Tags:
    """NaN or sparse X is fine for a meta-estimator exactly when all its inner learners accept it
    (``sparse=False``: never sparse, e.g. when it stacks columns)."""
    inner = [get_tags(learner).input_tags for learner in inners]
    tags.input_tags.allow_nan = all(t.allow_nan for t in inner)
    tags.input_tags.sparse = sparse and all(t.sparse for t in inner)
    return tags


def validate_X_y(
    estimator: Any, X: ArrayLike, y: ArrayLike | None, *, fitting: bool, y_numeric: bool = False
) -> Any:
    """Validate as strictly as the inner learner needs, no stricter (it validates again)."""
    input_tags = estimator.__sklearn_tags__().input_tags
    kwargs: dict[str, Any] = {
        "accept_sparse": ["csr", "csc"] if input_tags.sparse else False,
        "ensure_all_finite": "allow-nan" if input_tags.allow_nan else True,
    }
    if not fitting:
        return validate_data(estimator, X, reset=False, **kwargs)
    return validate_data(estimator, X, y, y_numeric=y_numeric, **kwargs)


class BinnedRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Regress by classifying the target's bin and decoding the predicted bin distribution.

    Besides ``predict``, the fitted model offers ``predict_bin_proba`` (the class distribution
    over bins) and ``predict_interval(X, coverage=0.8)``, a central prediction interval read off
    that distribution (see its docstring).

    Args:
        classifier: any classifier with ``predict_proba``; ``None`` means
            ``LogisticRegression(max_iter=1000)``. It is cloned at fit, never modified.
        n_bins: requested number of bins. Fewer are used when the target has few distinct
            values: empty or duplicate bins are merged so every class has a training sample.
        strategy: how bin edges are placed on the training target: ``"quantile"`` (equal
            counts), ``"uniform"`` (equal widths) or ``"kmeans"`` (1-D k-means cluster borders).
        decode: how a class distribution becomes a number. ``"expected"``, ``"mode"`` and
            ``"median"`` are the mean, mode and median of the predicted distribution placed on
            the bin means (sum of P(bin) times the bin's mean target; the mean of the most
            probable bin; the mean of the bin where the cumulative probability reaches 0.5).
            ``"centres"`` is the expected value placed on the bin centres (midpoints of the
            edges) instead, as a histogram would read it. Every decode stays within the
            training target's range.
        soft_labels: ``None`` trains on hard bin labels. A positive number is a Gaussian
            sigma in units of bin index (the histogram loss idea): each training row is also
            counted in the bins within 3 sigma of its own, weighted by
            ``exp(-d**2 / (2 sigma**2))`` for a distance of ``d`` bins, normalised to sum to one
            per row. It is done by replicating rows with ``sample_weight``, so the classifier's
            ``fit`` must accept ``sample_weight`` (checked at fit) and sees up to
            ``2 * floor(3 sigma) + 1`` times the rows: row-count settings such as
            ``min_samples_leaf``, or automatic early stopping switched on by the row count (as in
            ``HistGradientBoostingClassifier``, whose validation split would then hold copies of
            training rows), count the copies.

    Attributes:
        bin_edges_: the ``n_bins_ + 1`` edges; the outer two are the training target's min, max.
        bin_means_: mean training target of each bin (what most decoders average over).
        bin_centres_: midpoint of each bin's edges (what ``decode="centres"`` averages over).
        n_bins_: number of bins actually used.
        classifier_: the fitted clone, trained on bin indices ``0 .. n_bins_ - 1``.
        n_features_in_: number of features seen at fit.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "classifier": [HasMethods(["fit", "predict_proba"]), None],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"quantile", "uniform", "kmeans"})],
        "decode": [StrOptions({"expected", "centres", "mode", "median"})],
        "soft_labels": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        classifier: Any = None,
        n_bins: int = 10,
        strategy: str = "quantile",
        decode: str = "expected",
        soft_labels: float | None = None,
    ) -> None:
        self.classifier = classifier
        self.n_bins = n_bins
        self.strategy = strategy
        self.decode = decode
        self.soft_labels = soft_labels

    def _get_classifier(self) -> Any:
        return LogisticRegression(max_iter=1000) if self.classifier is None else self.classifier

    def __sklearn_tags__(self) -> Tags:
        """Input tags follow the classifier: NaN or sparse X is fine exactly when it accepts it."""
        return follow_input_tags(super().__sklearn_tags__(), self._get_classifier())

    @_fit_context(  # type: ignore[untyped-decorator]
        # the classifier is an unvalidated user object: let its own fit validate its params
        prefer_skip_nested_validation=False
    )
    def fit(self, X: ArrayLike, y: ArrayLike) -> BinnedRegressor:
        """Bin ``y``, then fit a clone of the classifier on the bin indices.

        Raises:
            ValueError: ``soft_labels`` is set but the classifier's ``fit`` takes no
                ``sample_weight``.
        """
        classifier = self._get_classifier()
        if self.soft_labels is not None and not has_fit_parameter(classifier, "sample_weight"):
            raise ValueError(
                f"soft_labels={self.soft_labels!r} needs a classifier whose fit accepts "
                f"sample_weight, but {type(classifier).__name__}.fit does not (a Pipeline "
                "takes it only per step). Use soft_labels=None, or a classifier such as "
                "LogisticRegression or HistGradientBoostingClassifier."
            )
        # validated X: an array or sparse matrix, which ArrayLike does not promise to index
        features, target = validate_X_y(self, X, y, fitting=True, y_numeric=True)
        y = np.asarray(target, dtype=np.float64)
        edges = _merge_sparse_bins(_raw_edges(y, self.n_bins, self.strategy), y)
        return self._fit_on_edges(classifier, features, y, edges)

    def _fit_on_edges(
        self, classifier: Any, features: Any, y: FloatArray, edges: FloatArray
    ) -> BinnedRegressor:
        """Fit on bins with given edges (``BinnedStackRegressor`` keeps its folds' bins alike).

        A bin with no row here decodes at its centre; a single class present falls back to
        the prior (most classifiers refuse one class, and the prior is exact).
        """
        bins = _assign(edges, y)
        counts = np.bincount(bins, minlength=len(edges) - 1)
        self.bin_edges_: FloatArray = edges
        self.n_bins_: int = len(edges) - 1
        self.bin_centres_: FloatArray = (edges[:-1] + edges[1:]) / 2.0
        sums = np.bincount(bins, weights=y, minlength=self.n_bins_)
        self.bin_means_: FloatArray = np.where(
            counts > 0, sums / np.maximum(counts, 1), self.bin_centres_
        )
        if np.count_nonzero(counts) == 1:
            self.classifier_: Any = DummyClassifier().fit(features, bins)
        elif self.soft_labels is None:
            self.classifier_ = clone(classifier).fit(features, bins)
        else:
            rows, labels, weights = _soft_labels(bins, self.n_bins_, float(self.soft_labels))
            self.classifier_ = clone(classifier).fit(features[rows], labels, sample_weight=weights)
        return self

    def predict_bin_proba(self, X: ArrayLike) -> FloatArray:
        """Probability of each bin, shape ``(n_samples, n_bins_)``.

        Why not ``predict_proba``: a regressor exposing that name is taken for a classifier by
        scikit-learn's tooling. Bins the classifier never saw get probability zero.
        """
        check_is_fitted(self)
        X = validate_X_y(self, X, None, fitting=False)
        proba = np.asarray(self.classifier_.predict_proba(X), dtype=np.float64)
        full = np.zeros((proba.shape[0], self.n_bins_))
        full[:, np.asarray(self.classifier_.classes_, dtype=np.intp)] = proba
        return full

    def predict(self, X: ArrayLike) -> FloatArray:
        """Decode the predicted bin distribution into one number per row (see ``decode``)."""
        proba = self.predict_bin_proba(X)
        if self.decode == "expected":
            return np.asarray(proba @ self.bin_means_, dtype=np.float64)
        if self.decode == "centres":
            return np.asarray(proba @ self.bin_centres_, dtype=np.float64)
        if self.decode == "mode":
            index = np.argmax(proba, axis=1)
        else:  # "median"
            index = _crossing_bin(np.cumsum(proba, axis=1), np.array(0.5))
        return np.asarray(self.bin_means_[index], dtype=np.float64)

    def predict_interval(
        self, X: ArrayLike, coverage: float = 0.8
    ) -> tuple[FloatArray, FloatArray]:
        """A central prediction interval holding ``coverage`` of the predicted distribution.

        The bounds are the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles of the
        predicted bin distribution, read as uniform inside each bin, so they interpolate linearly
        between bin edges; intervals never leave the training target's range. Their observed
        coverage is only as good as the classifier's probability calibration.

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


class BinnedStackRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A regressor fed the features plus a ``BinnedRegressor``'s bin probabilities, out of fold.

    The hybrid of the two framings: binning sees the shape of the target's distribution, a
    regressor corrects what binning loses (the pull of the outer bins towards the middle).
    The regressor is trained on the features, the bin probabilities and the binned model's
    decoded value, each row's from a binned model fitted on the other folds (the way
    ``StackingRegressor`` and ``TargetEncoder`` fit, so the regressor never learns from
    probabilities of rows the binned model saw); predicting uses the binned model refitted on all
    rows. Every fold bins on the edges of all rows, so column ``k`` is always the same bin.

    Args:
        binned: the ``BinnedRegressor`` whose probabilities are stacked; ``None`` means
            ``BinnedRegressor()``. Cloned at fit.
        regressor: the final regressor; ``None`` means ``HistGradientBoostingRegressor()``.
        cv: number of folds for the out-of-fold probabilities (rows shuffled first, as the data
            may be sorted by its target).
        random_state: seed of that shuffle.

    Attributes:
        binned_: the binned model fitted on all rows (``binned_.bin_edges_`` are the bins).
        regressor_: the fitted final regressor.
        n_features_in_: number of features seen at fit.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "binned": [HasMethods(["fit", "predict_bin_proba"]), None],
        "regressor": [HasMethods(["fit", "predict"]), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        binned: BinnedRegressor | None = None,
        regressor: Any = None,
        cv: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.binned = binned
        self.regressor = regressor
        self.cv = cv
        self.random_state = random_state

    def _get_binned(self) -> BinnedRegressor:
        return BinnedRegressor() if self.binned is None else self.binned

    def _get_regressor(self) -> Any:
        return HistGradientBoostingRegressor() if self.regressor is None else self.regressor

    def __sklearn_tags__(self) -> Tags:
        """NaN is fine when both inner learners take it; sparse X is not (columns are stacked)."""
        tags = super().__sklearn_tags__()
        return follow_input_tags(tags, self._get_binned(), self._get_regressor(), sparse=False)

    @_fit_context(prefer_skip_nested_validation=False)  # type: ignore[untyped-decorator]
    def fit(self, X: ArrayLike, y: ArrayLike) -> BinnedStackRegressor:
        """Fit the binned model fold by fold for out-of-fold probabilities, then the regressor."""
        features, target = validate_X_y(self, X, y, fitting=True, y_numeric=True)
        y = np.asarray(target, dtype=np.float64)
        binned = self._get_binned()
        self.binned_: BinnedRegressor = clone(binned).fit(features, y)
        edges = self.binned_.bin_edges_
        stacked = np.empty((len(y), self.binned_.n_bins_ + 1))
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(features):
            fold = clone(binned)
            fold._fit_on_edges(fold._get_classifier(), features[train], y[train], edges)
            stacked[test] = _bin_features(fold, features[test])
        self.regressor_: Any = clone(self._get_regressor()).fit(np.hstack([features, stacked]), y)
        return self

    def predict(self, X: ArrayLike) -> FloatArray:
        """The regressor's prediction from the features and the refitted binned model's output."""
        check_is_fitted(self)
        features = validate_X_y(self, X, None, fitting=False)
        stacked = _bin_features(self.binned_, features)
        return np.asarray(self.regressor_.predict(np.hstack([features, stacked])), np.float64)


def _bin_features(binned: BinnedRegressor, features: Any) -> FloatArray:
    """Bin probabilities and the decoded value: the columns a stacked regressor adds."""
    proba = binned.predict_bin_proba(features)
    return np.column_stack([proba, binned.predict(features)])


class OrdinalRegressor(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Classify ordered classes by regressing their rank, then cutting the score into classes.

    Why the name: "ordinal regression" is the established name of the *task* (an ordered
    category, e.g. a 1-5 rating), though the estimator is a classifier (``score`` is accuracy).

    The class order is the sorted order of the labels (``classes_``, as ``numpy.unique`` sorts
    them): integers or numbers order naturally, but strings sort alphabetically ("high" <
    "low" < "medium"), so encode string levels as integers first. A single class is allowed:
    every prediction is then that class.

    Args:
        regressor: any regressor; ``None`` means ``Ridge()``. It is cloned at fit, fitted on
            the rank of each label (its position ``0 .. n_classes - 1`` in ``classes_``).
        threshold: how the continuous rank score becomes a class. ``"round"`` rounds to the
            nearest rank (cut points at 0.5, 1.5, ...) and clips to the valid ranks.
            ``"fitted"`` learns the cut points on the training predictions: the non-decreasing
            cut points with the highest training accuracy, found exactly by dynamic programming
            over the sorted training scores (ties broken toward the rounding cut points). They
            can correct a regressor that shrinks scores toward the middle rank, but are fitted
            on in-sample predictions, so a flexible regressor may make them optimistic.

    Attributes:
        classes_: the sorted class labels; ``classes_[k]`` is rank ``k``.
        thresholds_: the ``n_classes - 1`` non-decreasing cut points on the score; a score
            ``s`` gets rank ``k`` = number of cut points ``<= s``.
        regressor_: the fitted clone.
        n_features_in_: number of features seen at fit.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 (sklearn's convention)
        "regressor": [HasMethods(["fit", "predict"]), None],
        "threshold": [StrOptions({"round", "fitted"})],
    }

    def __init__(self, regressor: Any = None, threshold: str = "round") -> None:
        self.regressor = regressor
        self.threshold = threshold

    def _get_regressor(self) -> Any:
        return Ridge() if self.regressor is None else self.regressor

    def __sklearn_tags__(self) -> Tags:
        """Input tags follow the regressor: NaN or sparse X is fine exactly when it accepts it."""
        return follow_input_tags(super().__sklearn_tags__(), self._get_regressor())

    @_fit_context(  # type: ignore[untyped-decorator]
        # the regressor is an unvalidated user object: let its own fit validate its params
        prefer_skip_nested_validation=False
    )
    def fit(self, X: ArrayLike, y: ArrayLike) -> OrdinalRegressor:
        """Fit a clone of the regressor on the rank of each label, then set the cut points.

        Raises:
            ValueError: ``y`` is continuous or multi-output, not class labels.
        """
        X, y = validate_X_y(self, X, y, fitting=True)
        check_classification_targets(y)
        self.classes_: NDArray[Any]
        self.classes_, rank = np.unique(y, return_inverse=True)
        rank = np.asarray(rank, dtype=np.intp).ravel()
        n_classes = len(self.classes_)
        self.regressor_: Any = clone(self._get_regressor()).fit(X, rank.astype(np.float64))
        if self.threshold == "round" or n_classes == 1:
            self.thresholds_: FloatArray = np.arange(1, n_classes, dtype=np.float64) - 0.5
        else:
            score = np.asarray(self.regressor_.predict(X), dtype=np.float64).ravel()
            self.thresholds_ = _fit_cut_points(score, rank, n_classes)
        return self

    def predict_rank(self, X: ArrayLike) -> FloatArray:
        """The regressor's continuous rank score, shape ``(n_samples,)``, not clipped.

        Why not ``decision_function``: scikit-learn expects that to be a per-class score (or a
        signed binary margin), which a single ordinal score is not.
        """
        check_is_fitted(self)
        X = validate_X_y(self, X, None, fitting=False)
        return np.asarray(self.regressor_.predict(X), dtype=np.float64).ravel()

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Class label of each row: the rank its score falls in between the cut points."""
        score = self.predict_rank(X)  # first: it raises NotFittedError before fit
        rank = np.searchsorted(self.thresholds_, score, side="right")
        return np.asarray(self.classes_[rank])


def _soft_labels(
    bins: IndexArray, n_bins: int, sigma: float
) -> tuple[IndexArray, IndexArray, FloatArray]:
    """Rows to repeat, their bin labels and Gaussian weights (each row's weights sum to one).

    Weights are truncated to bins that exist and within ``_SOFT_LABEL_REACH`` sigmas, then
    normalised per row, so every training row keeps a total weight of one.
    """
    reach = min(int(np.floor(_SOFT_LABEL_REACH * sigma)), n_bins - 1)
    offsets = np.arange(-reach, reach + 1)
    labels = bins[:, None] + offsets[None, :]
    valid = (labels >= 0) & (labels < n_bins)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)[None, :] * valid
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.broadcast_to(np.arange(len(bins))[:, None], labels.shape)
    return (
        np.asarray(rows[valid], dtype=np.intp),
        np.asarray(labels[valid], dtype=np.intp),
        np.asarray(weights[valid], dtype=np.float64),
    )


def _fit_cut_points(score: FloatArray, rank: IndexArray, n_classes: int) -> FloatArray:
    """Non-decreasing cut points on ``score`` that maximise the training accuracy.

    Sorting the distinct scores, monotone cut points are exactly a non-decreasing assignment of
    ranks to them; dynamic programming finds the most accurate one in O(n_distinct * n_classes).
    A penalty for the distance between score and assigned rank, scaled so its total stays below
    one correct sample, breaks ties between equally accurate assignments toward rounding.
    Cut points lie midway between neighbouring scores; a cut with no training score on one
    side is placed half a rank beyond the scores (or at the rounding cut, if that is further).
    """
    values, inverse = np.unique(score, return_inverse=True)
    counts = np.zeros((len(values), n_classes))
    np.add.at(counts, (inverse.ravel(), rank), 1.0)
    distance = np.abs(values[:, None] - np.arange(n_classes)[None, :])
    scale = 2.0 * (1.0 + len(score) * float(distance.max()))
    gain = counts - counts.sum(axis=1, keepdims=True) * distance / scale
    best = np.empty_like(gain)  # best[u, k]: best total over values[:u+1], values[u] -> rank k
    previous = np.zeros(n_classes)
    for u in range(len(values)):
        previous = np.maximum.accumulate(previous) + gain[u]
        best[u] = previous
    assigned = np.empty(len(values), dtype=np.intp)
    k = int(np.argmax(best[-1]))
    for u in range(len(values) - 1, -1, -1):
        k = int(np.argmax(best[u, : k + 1]))
        assigned[u] = k
    cuts = np.empty(n_classes - 1)
    for k in range(1, n_classes):
        first = int(np.searchsorted(assigned, k, side="left"))  # first value with rank >= k
        if first == 0:
            cuts[k - 1] = min(k - 0.5, values[0] - 0.5)
        elif first == len(values):
            cuts[k - 1] = max(k - 0.5, values[-1] + 0.5)
        else:
            cuts[k - 1] = (values[first - 1] + values[first]) / 2.0
    return cuts


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
        converged = np.allclose(updated, centers)
        centers = updated
        if converged:
            break
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
    inner = edges[1:-1][counts[:-1] > 0]  # the right edge of every non-empty bin but the last
    if counts[-1] == 0:
        inner = inner[:-1]
    return np.concatenate([edges[:1], inner, edges[-1:]]).astype(np.float64)
