"""Scoring a labelling session: the person, the model and a trivial baseline on the same rows.

The model's predictions are out of fold and the trivial baseline comes from the rows *not*
labelled, so neither saw the labelled rows. With few rows, the gap between the person and the
model comes with a paired bootstrap interval and the "same rows hard" reading with its n.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shorts.inspect.row_ids import FloatArray, IntArray
from shorts.label.feature_context import format_value
from shorts.stats import paired_bootstrap

if TYPE_CHECKING:
    from shorts.label.rows import TargetScale


METRICS = {"regression": ("rmse", "mae"), "classification": ("accuracy", "mae")}
HIGHER_IS_BETTER = {"accuracy"}
BOOTSTRAP_SAMPLES = 2000
MIN_ROWS_FOR_CHANCE = 5
FAIR_ROWS = 15
LINK_STRENGTH = 0.3
HINT_P = 0.2
EXACT_ROWS = 9


@dataclass(frozen=True)
class Contender:
    """One of the three predictors (``role``: ``human``, ``model`` or ``trivial``), named as the
    report names it, with a prediction per labelled row and ``METRICS[task]`` on them."""

    role: str
    label: str
    predictions: FloatArray
    metrics: dict[str, float]


@dataclass(frozen=True)
class Gap:
    """The person's main metric minus the model's, read with a 95% paired bootstrap interval."""

    reading: str


@dataclass(frozen=True)
class Agreement:
    """Spearman's rho between the person's and the model's error sizes over the labelled rows."""

    rho: float
    reading: str


@dataclass(frozen=True)
class Comparison:
    """Everything the report says about one session: the labelled row ids (in the order asked),
    their true labels, the three contenders, the gap between the person and the model, and
    whether the same rows were hard for both."""

    task: str
    target: str
    rows: IntArray
    truth: FloatArray
    human: Contender
    model: Contender
    trivial: Contender
    gap: Gap
    agreement: Agreement

    @property
    def metric_keys(self) -> tuple[str, ...]:
        return METRICS[self.task]

    def errors(self, contender: Contender) -> FloatArray:
        """Prediction minus truth, per labelled row (in classes for classification)."""
        return contender.predictions - self.truth

    def hardest(self, contender: Contender, k: int = 3) -> IntArray:
        """Positions (in ``rows``) of the ``k`` largest errors of ``contender``; rows it got
        exactly right are never among them."""
        size = np.abs(self.errors(contender))
        order = np.argsort(-size, kind="stable")
        return order[size[order] > 0][:k].astype(np.int64)

    def headline(self) -> list[str]:
        """The result in a few plain sentences: who did better, against the trivial baseline,
        and whether the difference is more than chance."""
        key, other_key = self.metric_keys
        you, model, trivial = (c.metrics[key] for c in (self.human, self.model, self.trivial))
        n = len(self.rows)
        better = _better(key, you, model)
        shown = f"{key} {format_metric(key, you)} vs the model's {format_metric(key, model)}"
        who = {0: "You and the model tied", 1: "You beat the model", -1: "The model beat you"}
        first = f"{who[better]} on these {n} rows ({shown})."
        you_other, model_other = self.human.metrics[other_key], self.model.metrics[other_key]
        if better and _better(other_key, you_other, model_other) == -better:
            first += (
                f" On {other_key} it is the other way round ({format_metric(other_key, you_other)}"
                f" vs the model's {format_metric(other_key, model_other)})."
            )
        beats = [
            name
            for name, score in (("you", you), ("the model", model))
            if _better(key, score, trivial) > 0
        ]
        trivial_text = f"{key} {format_metric(key, trivial)}: {self.trivial.label}"
        if len(beats) == 2:
            second = f"Both beat the trivial baseline ({trivial_text})."
        elif beats:
            other = "the model" if beats == ["you"] else "you"
            second = f"Only {beats[0]} beat the trivial baseline ({trivial_text}); {other} did not."
        else:
            second = f"Neither beat the trivial baseline ({trivial_text})."
        return [first, second, self.gap.reading]


def format_metric(key: str, value: float) -> str:
    """``0.45`` as ``45%`` for accuracy, else four significant digits."""
    if not math.isfinite(value):
        return "n/a"
    if key == "accuracy":
        return f"{value:.0%}"
    return f"{value:.4g}"


def trivial_baseline(scale: TargetScale) -> tuple[str, float]:
    """The trivial baseline's label and prediction, from the target of the rows *not* labelled:
    their mean (regression) or their most common class (classification; the smallest on a tie).
    """
    if scale.task == "classification":
        return f"always class {format_value(scale.majority)}", scale.majority
    return f"always the mean, {float(f'{scale.mean:.4g}'):g}", scale.mean


def compare(
    task: str,
    target: str,
    rows: IntArray,
    truth: FloatArray,
    human: tuple[str, FloatArray],
    model: tuple[str, FloatArray],
    trivial: tuple[str, float],
    seed: int = 0,
) -> Comparison:
    """Score the person, the model (each a label and predictions for ``rows``) and the trivial
    baseline (a label and its one prediction) against ``truth`` on the labelled rows, scored as
    every short's folds are (``shorts.evaluate.METRICS``)."""
    from shorts.evaluate import METRICS as SCORERS

    def scored(role: str, label: str, values: FloatArray) -> Contender:
        predictions = np.asarray(values, dtype=np.float64)
        scores = {key: SCORERS[key][0](truth, predictions) for key in METRICS[task]}
        return Contender(role, label, predictions, scores)

    you, them = scored("human", *human), scored("model", *model)
    baseline = scored("trivial", trivial[0], np.full(len(truth), trivial[1]))
    agreement = _agreement(np.abs(you.predictions - truth), np.abs(them.predictions - truth), task)
    gap = _gap(task, truth, you, them, seed)
    return Comparison(task, target, rows, truth, you, them, baseline, gap, agreement)


def _better(key: str, first: float, second: float) -> int:
    """1 if ``first`` is the better score, -1 if ``second`` is, 0 on a tie."""
    if math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-12):
        return 0
    higher = key in HIGHER_IS_BETTER
    return 1 if (first > second) == higher else -1


def _gap(task: str, truth: FloatArray, human: Contender, model: Contender, seed: int) -> Gap:
    key = METRICS[task][0]
    n = len(truth)
    if n < MIN_ROWS_FOR_CHANCE:
        return Gap(
            f"With {n} row{'s' if n != 1 else ''}, no difference can be told from chance; "
            f"label {MIN_ROWS_FOR_CHANCE} or more for a first reading, 20 or more for a fair one."
        )

    def difference(t: FloatArray, y: FloatArray, m: FloatArray, axis: int = -1) -> Any:
        """The person's main metric minus the model's, for every draw at once."""
        if task == "classification":
            return np.mean(y == t, axis=axis) - np.mean(m == t, axis=axis)
        return np.sqrt(np.mean((y - t) ** 2, axis=axis)) - np.sqrt(np.mean((m - t) ** 2, axis=axis))

    low, high = paired_bootstrap(
        difference, truth, human.predictions, model.predictions, draws=BOOTSTRAP_SAMPLES, seed=seed
    )
    interval = (
        f"95% bootstrap interval of your {key} minus the model's: "
        f"{_signed(key, low)} to {_signed(key, high)}"
    )
    rough = (
        f"; a bootstrap over {n} rows understates the uncertainty, so take it as a first impression"
        if n < FAIR_ROWS
        else ""
    )
    if low > 0 or high < 0:
        leader = "your" if (low > 0) == (key in HIGHER_IS_BETTER) else "the model's"
        reading = (
            f"With {n} rows, {leader} lead is larger than chance alone gives ({interval}{rough})."
        )
    else:
        reading = f"With {n} rows, the difference is within what chance gives ({interval})."
    return Gap(reading)


def _signed(key: str, value: float) -> str:
    if key == "accuracy":
        return f"{value * 100:+.0f} points"
    return f"{value:+.3g}"


def _spearman(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value: exact (every pairing of the ranks) up to
    ``EXACT_ROWS`` rows, where scipy's t approximation is far too sure of itself (it gives
    p = 0 for a perfect ranking of 4 rows, whose exact p is 1/12)."""
    from scipy.stats import rankdata, spearmanr

    if len(x) > EXACT_ROWS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = spearmanr(x, y)
        return float(result.statistic), float(result.pvalue)
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    scale = float(np.linalg.norm(rx) * np.linalg.norm(ry))
    rho = float(rx @ ry) / scale
    pairings = np.asarray(list(itertools.permutations(ry)))
    every = pairings @ rx / scale
    return rho, float(np.mean(np.abs(every) >= abs(rho) - 1e-9))


def _agreement(you: FloatArray, model: FloatArray, task: str) -> Agreement:
    """Spearman's rho of the error sizes, with a reading that says what n allows."""
    n = len(you)
    if n < 3:
        return Agreement(
            math.nan,
            f"With {n} row{'s' if n != 1 else ''} there is no ranking to compare: label 3 or "
            "more to see whether your hard rows were the model's.",
        )
    if np.ptp(you) == 0 or np.ptp(model) == 0:
        whose, values = ("Your", you) if np.ptp(you) == 0 else ("The model's", model)
        how = "zero on every row" if values[0] == 0 else "the same size on every row"
        return Agreement(
            math.nan,
            f"{whose} errors were {how}, so there is no ranking of hard rows to compare (n = {n}).",
        )
    rho, p = _spearman(you, model)
    figures = f"Spearman rho = {rho:.2f} between your errors and the model's, n = {n}, p = {p:.2g}"
    if p < 0.05 and rho > 0:
        reading = f"The rows you found hard were largely the ones the model found hard ({figures})."
    elif p < 0.05:
        reading = (
            "The rows you found hard were not the ones the model found hard: they tend to be the "
            f"ones it found easy, and the other way round ({figures})."
        )
    elif p < HINT_P and abs(rho) >= LINK_STRENGTH:
        reading = (
            "A hint that the rows you found hard were the ones the model found "
            f"{'hard' if rho > 0 else 'easy'}, but with {n} rows it could be chance ({figures})."
        )
    else:
        reading = (
            "No clear sign either way: with these rows, whether you and the model found the same "
            f"ones hard cannot be told from chance ({figures})"
            + (f"; with {n} rows only a strong link would show." if n < 30 else ".")
        )
    if task == "classification":
        reading += " Errors count the classes a prediction is off by, so many rows tie."
    return Agreement(rho, reading)


@dataclass(frozen=True)
class Sides:
    """Whom the person's answers sided with, row by row: the recorded label or the model.

    For classes, an answer sides with the label when it equals the label and the model predicted
    another class, with the model when it equals the model's class and not the label; ``both``
    counts rows where the model agreed with the label and so did the person, ``neither`` answers
    that are neither. For numbers, an answer sides with whichever of the two it is closer to;
    ``both`` counts answers exactly as close to each (``neither`` is then always 0).

    Why: on rows chosen because the model doubts their label (``shorts inspect``'s suspects),
    who is right is the open question, so the scores against the recorded labels say less than
    which of the two a person, given the same features, agrees with.
    """

    task: str
    label: int
    model: int
    both: int
    neither: int

    def reading(self) -> list[str]:
        """The counts in plain sentences, with what they can and cannot say."""
        n = self.label + self.model + self.both + self.neither
        if self.task == "classification":
            first = (
                f"Of the {n} rows chosen by hand, your answer was the recorded label on "
                f"{self.label} and the model's prediction on {self.model} (rows where the two "
                f"differ); on {self.both} the model agreed with the label and so did you; on "
                f"{self.neither} you gave a class neither of them gave."
            )
        else:
            first = (
                f"Of the {n} rows chosen by hand, your answer was closer to the recorded label on "
                f"{self.label} and closer to the model's prediction on {self.model}"
                + (f"; exactly as close to both on {self.both}" if self.both else "")
                + "."
            )
        second = (
            "Siding with the model on a row is a reason to check its label at the source, not "
            "proof that the label is wrong: you saw the same features as the model and nothing "
            "else. The model here is this session's, scored out of fold; shorts inspect's may "
            "predict a little differently. On rows chosen for being doubtful, the scores above say "
            "little about how well you or the model predict other rows."
        )
        return [first, second]


def sides(comparison: Comparison) -> Sides:
    """Count whom each of the person's answers sided with (see ``Sides``)."""
    truth = comparison.truth
    you = comparison.human.predictions
    model = comparison.model.predictions
    if comparison.task == "classification":
        agree = model == truth
        return Sides(
            comparison.task,
            label=int(np.sum((you == truth) & ~agree)),
            model=int(np.sum((you == model) & ~agree)),
            both=int(np.sum((you == truth) & agree)),
            neither=int(np.sum((you != truth) & (you != model))),
        )
    to_label, to_model = np.abs(you - truth), np.abs(you - model)
    return Sides(
        comparison.task,
        label=int(np.sum(to_label < to_model)),
        model=int(np.sum(to_model < to_label)),
        both=int(np.sum(to_label == to_model)),
        neither=0,
    )
