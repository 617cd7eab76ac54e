"""Which rows a person labels, which labelled examples they see first, and the target's scale.

Why stratified (per class, or per quintile of the target): with 20 rows a plain random draw can
miss a class or the top of the range. The draw depends only on the data, ``n`` and ``seed``, so a
sheet, an answers file and a resumed session agree. The examples, the scale and the trivial
baseline come from the *other* rows, never from the ones asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shorts.datasets import Dataset
from shorts.errors import UsageError
from shorts.inspect.row_ids import FloatArray, IntArray, RowIds

REGRESSION_STRATA = 5
HISTOGRAM_BINS = 16


@dataclass(frozen=True)
class Picked:
    """The rows of one labelling session, as positions in the ``Dataset`` (the ids a person
    sees are ``shorts.inspect.row_ids``'s): the rows to label, in the order asked; the labelled
    examples shown first, by increasing target; every row not asked (examples included)."""

    rows: IntArray
    examples: IntArray
    others: IntArray


@dataclass(frozen=True)
class TargetScale:
    """What the target looks like among the ``rows`` rows not asked: a person's sense of scale.
    Classes (ascending) and their shares; or, for a number, its minimum, quartiles and maximum,
    its mean (the trivial baseline's prediction) and ``HISTOGRAM_BINS`` equal-width bin counts.
    """

    target: str
    task: str
    rows: int
    classes: tuple[float, ...] = ()
    shares: tuple[float, ...] = ()
    quantiles: tuple[float, ...] = ()
    mean: float = float("nan")
    histogram: tuple[int, ...] = ()

    @property
    def majority(self) -> float:
        """The most common class (the smallest one on a tie)."""
        return self.classes[int(np.argmax(self.shares))]


def pick(data: Dataset, n: int, seed: int, examples: int) -> Picked:
    """``n`` rows to label and ``examples`` labelled rows to show first, drawn with ``seed``.

    Raises:
        UsageError: ``n`` plus the examples leave no other row (the trivial baseline and the
            scale are computed from the rows not asked).
    """
    total = len(data.y)
    if n + examples > total - 1:
        raise UsageError(
            f"n={n} is too many: {data.name} has {total} rows, and the scale, the "
            f"{examples} example(s) and the trivial baseline need rows that are not asked; "
            f"{_room(total, examples, 'accepted: n=1..')}."
        )
    rng = np.random.default_rng(seed)
    strata = _strata(data.y, data.task)
    rows = rng.permutation(_stratified(strata, n, rng))
    return _around(data, rows, seed, examples)


def by_hand(data: Dataset, ids: RowIds, chosen: Sequence[int], seed: int, examples: int) -> Picked:
    """The rows given by id (``rows=``), asked in the order given; ``examples`` labelled rows
    among the others, drawn with ``seed`` as ``pick`` draws them.

    Raises:
        UsageError: an id given twice, out of range, or of a row without a target; or too many
            rows to leave any other (one line naming the problem and what is accepted).
    """
    total = len(data.y)
    accepted = f"accepted: row ids 0..{ids.span - 1}" + (
        " that have a target value" if ids.gaps else ""
    )
    counted = "" if ids.of_table else " (counting the data set's rows)"
    seen: set[int] = set()
    for row in chosen:
        if row in seen:
            raise UsageError(f"rows= gives row {row} twice; give each row once ({accepted}).")
        seen.add(row)
        if not 0 <= row < ids.span:
            raise UsageError(
                f"rows= gives row {row}, which is not a row of {data.name}{counted}; {accepted}."
            )
        if not ids.has(row):
            raise UsageError(
                f"rows= gives row {row}, which has no value in {data.name}'s target "
                f"{data.target!r} (rows without one are left out of the data); {accepted}."
            )
    if len(chosen) + examples > total - 1:
        raise UsageError(
            f"rows= gives {len(chosen)} rows: too many, since {data.name} has {total} rows and "
            f"the scale, the {examples} example(s) and the trivial baseline need rows that are "
            f"not asked; {_room(total, examples, 'give at most ')}."
        )
    return _around(data, ids.positions(chosen), seed, examples)


def _room(total: int, examples: int, most_is: str) -> str:
    """What fits in ``total`` rows beside ``examples`` and one row not asked: ``most_is`` and the
    most rows to ask, or, when not even one fits, how many examples leave room for one."""
    most = total - 1 - examples
    if most >= 1:
        return f"{most_is}{most}" + (" (or fewer examples=)" if examples else "")
    if total >= 2:
        return f"with {examples} example(s) no row fits; accepted: examples=0..{total - 2}"
    return "too few rows to label any"


def _around(data: Dataset, rows: IntArray, seed: int, examples: int) -> Picked:
    """``rows`` (positions, in the order asked), with the examples and the others around them."""
    others = np.setdiff1d(np.arange(len(data.y), dtype=np.int64), rows)
    shown = others[_examples(data.y[others], data.task, examples, np.random.default_rng(seed + 1))]
    shown = shown[np.argsort(data.y[shown], kind="stable")]
    return Picked(rows.astype(np.int64), shown, others)


def scale_of(data: Dataset, rows: IntArray) -> TargetScale:
    """The target's scale among ``rows`` (the rows not asked)."""
    y = data.y[rows]
    if data.task == "classification":
        classes, counts = np.unique(y, return_counts=True)
        return TargetScale(
            data.target,
            data.task,
            len(y),
            classes=tuple(float(c) for c in classes),
            shares=tuple(float(c) / len(y) for c in counts),
        )
    histogram, _ = np.histogram(y, bins=HISTOGRAM_BINS)
    return TargetScale(
        data.target,
        data.task,
        len(y),
        quantiles=tuple(float(q) for q in np.quantile(y, [0, 0.25, 0.5, 0.75, 1])),
        mean=float(np.mean(y)),
        histogram=tuple(int(c) for c in histogram),
    )


def _strata(y: FloatArray, task: str) -> IntArray:
    """A stratum per row: its class, or its quintile of the target (ties kept together)."""
    if task == "classification":
        return np.unique(y, return_inverse=True)[1].astype(np.int64)
    edges = np.unique(np.quantile(y, np.linspace(0, 1, REGRESSION_STRATA + 1)[1:-1]))
    return np.searchsorted(edges, y, side="right").astype(np.int64)


def _stratified(strata: IntArray, n: int, rng: np.random.Generator) -> IntArray:
    """``n`` row ids, each stratum's share of them in proportion to its size (rounded by largest
    remainders), drawn at random within it."""
    labels, sizes = np.unique(strata, return_counts=True)
    exact = sizes / sizes.sum() * n
    counts = np.floor(exact).astype(np.int64)
    # Largest remainders first; ties (e.g. 3 rows from 5 equal quintiles) broken at random, not
    # always in favour of the lowest strata.
    order = np.lexsort((rng.random(len(labels)), -(exact - counts)))
    for index in order[: n - int(counts.sum())]:
        counts[index] += 1
    picked = [
        rng.choice(np.flatnonzero(strata == label), size=int(count), replace=False)
        for label, count in zip(labels, counts, strict=True)
        if count
    ]
    return np.concatenate(picked).astype(np.int64)


def _examples(y: FloatArray, task: str, k: int, rng: np.random.Generator) -> IntArray:
    """Positions in ``y`` of ``k`` examples spread over the target: evenly spaced classes (every
    class once when ``k`` allows), or one row from each of ``k`` equal slices of the range."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if task == "classification":
        classes = np.unique(y)
        wanted = [classes[round(i)] for i in np.linspace(0, len(classes) - 1, min(k, len(classes)))]
        picked = [int(rng.choice(np.flatnonzero(y == c))) for c in wanted]
        rest = np.setdiff1d(np.arange(len(y)), picked)
        extra = rng.choice(rest, size=max(0, k - len(picked)), replace=False)
        return np.asarray([*picked, *extra], dtype=np.int64)
    order = np.argsort(y, kind="stable")
    slices = np.array_split(order, k)
    return np.asarray([int(rng.choice(part)) for part in slices if len(part)], dtype=np.int64)
