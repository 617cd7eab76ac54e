"""Short: what if no model could take longer than an hour to build?

An anytime search (Optuna's ask/tell, driven directly) over model families inside the wall-time
cap. It starts from the baseline itself (the library-default gradient boosting), scored on the
same folds, so the search's best is never worse than the default on cross-validation: when
nothing beats it, the baseline is the "best" and the verdict says so (no uplift).

Before a candidate starts, its cost is estimated from what earlier candidates of its family took
per unit of work (boosting rounds weighted by tree size, trees); a boosting candidate that stops
early is expected to need about as much "learning" (rounds x learning rate) as the early-stopped
ones before it, so a generous ``max_iter`` is not mistaken for its cost. A candidate that would
not finish before the soft deadline is not started: it is proposed again with as many rounds
(trees) as fit the time left, or skipped when even its fewest would not fit. Between folds, a
candidate whose running mean is worse than the median of the finished ones at the same fold is
pruned (Optuna's median rule); one still running at the soft deadline is stopped. Families whose
library is not installed (LightGBM, XGBoost: the ``boost`` extra) are skipped with a note.

Honesty: the best of hundreds of candidates scored on the same folds is optimistically biased, so
the search never sees a held-out share of the rows (``search.holdout``). The verdict compares the
best candidate with the baseline, both fitted on the search rows, on disjoint chunks of the
held-out rows (paired, one score per chunk); that fitted best model is what gets harvested.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shorts import METRICS, Context, fold_metric, load_declared, quartile_slices

SAFETY = 1.5  # estimates are medians; leave room for the slow tail (more if fits ran slower)
RECENT = 20  # how many of the latest fits say how far off the estimates run now
# Fits expected to be shorter than this are not counted as misses: their timing is mostly
# scheduler noise, and they cannot overrun a deadline by much.
MIN_TIMED = 0.25
# The first candidate of each family is a probe near its library's defaults, so every later
# estimate rests on a measurement of that family on this data and machine, never on a guess.
PROBES: dict[str, dict[str, Any]] = {
    "hist_gbm": {
        "hgb_learning_rate": 0.1,
        "hgb_max_iter": 100,
        "hgb_max_leaf_nodes": 31,
        "hgb_min_samples_leaf": 20,
        "hgb_l2_regularization": 1e-4,
        "hgb_max_features": 1.0,
        "hgb_log_target": False,
    },
    "lightgbm": {
        "lgb_n_estimators": 100,
        "lgb_learning_rate": 0.1,
        "lgb_num_leaves": 31,
        "lgb_min_child_samples": 20,
        "lgb_reg_lambda": 1e-4,
        "lgb_colsample_bytree": 1.0,
        "lgb_subsample": 1.0,
        "lgb_log_target": False,
    },
    "xgboost": {
        "xgb_n_estimators": 100,
        "xgb_learning_rate": 0.3,
        "xgb_max_depth": 6,
        "xgb_min_child_weight": 1.0,
        "xgb_reg_lambda": 1.0,
        "xgb_colsample_bytree": 1.0,
        "xgb_subsample": 1.0,
        "xgb_log_target": False,
    },
    "ridge": {"ridge_alpha": 1.0},
    "lasso": {"lasso_alpha": 1.0},
    "knn": {"knn_n_neighbors": 5, "knn_weights": "uniform"},
    "random_forest": {"rf_n_estimators": 50, "rf_min_samples_leaf": 5, "rf_max_features": 1.0},
}
# Families that need a library outside the core dependencies: (module, how to get it).
OPTIONAL = {
    "lightgbm": ("lightgbm", "pip install -e '.[boost]'"),
    "xgboost": ("xgboost", "pip install -e '.[boost]'"),
}


@dataclass(frozen=True)
class Work:
    """How much a candidate has to do, in units its family's cost is measured in.

    ``rounds`` is the most boosting rounds (or trees) it may take, each costing ``per_round``
    units; ``learning_rate`` is set when it may stop early, so its rounds can be predicted.
    Cost per unit is learned per ``family``; how far early stopping goes, per ``key`` (a log
    target needs far more rounds than the same learner on the raw target).
    """

    family: str
    key: str
    rounds: float = 1.0
    per_round: float = 1.0
    learning_rate: float | None = None
    rounds_param: str | None = None  # the trial parameter that sets ``rounds``


BASELINE = Work("baseline", "baseline")


@dataclass(frozen=True)
class Space:
    """What a family's search space depends on: the data and the cores it may use."""

    cpus: int
    positive_target: bool
    n_features: int


@dataclass
class CostModel:
    """Seconds per unit of work, per family, learned from the candidates fitted so far."""

    refit: float = 1.0  # rows of the final fit over rows of a fold's fit
    rates: dict[str, list[float]] = field(default_factory=dict)  # per family
    # actual over expected seconds of each fit that had an estimate, oldest first
    misses: list[float] = field(default_factory=list)
    # rounds x learning rate of boosting fits that stopped early, per family
    travel: dict[str, list[float]] = field(default_factory=dict)

    def rounds(self, work: Work) -> float:
        """Rounds ``work`` is expected to take: fewer than its maximum once early stops are seen."""
        seen = self.travel.get(work.key)
        if work.learning_rate is None or not seen:
            return work.rounds
        return min(work.rounds, max(seen) / work.learning_rate)

    def estimate(self, work: Work, folds: int) -> float | None:
        """Expected seconds for ``folds`` fits of ``work``; ``None`` while the family is untried."""
        central = self._central(work)
        return None if central is None else central * folds * self.safety()

    def safety(self) -> float:
        """The factor on estimates: ``SAFETY``, or the worst recent miss if fits ran slower.

        Why: the machine is shared, so a fit can take twice what the same work took a minute
        ago; the factor follows what the latest fits did rather than trusting the first ones.
        """
        return max([SAFETY, *self.misses[-RECENT:]])

    def _central(self, work: Work) -> float | None:
        """The median estimate of one fit of ``work``, without any safety factor."""
        rates = self.rates.get(work.family)
        if not rates:
            return None
        return float(np.median(rates)) * self.rounds(work) * work.per_round

    def reserve(self, work: Work) -> float:
        """Seconds to keep back for fitting ``work`` on all search rows at the end."""
        if work.family == BASELINE.family:
            return 1.0  # fitted before the search: only predictions and the harvest are left
        return 1.0 + self.refit * (self.estimate(work, folds=1) or 0.0)

    def record(self, work: Work, seconds: float, rounds_done: float) -> None:
        """One fit of ``work`` took ``seconds`` and ``rounds_done`` rounds."""
        expected = self._central(work)
        if expected is not None and expected >= MIN_TIMED:
            self.misses.append(seconds / expected)
        units = max(rounds_done, 1.0) * work.per_round
        self.rates.setdefault(work.family, []).append(seconds / units)
        if work.learning_rate is not None and rounds_done < work.rounds:
            self.travel.setdefault(work.key, []).append(rounds_done * work.learning_rate)


def _log_target(
    trial: optuna.trial.BaseTrial, prefix: str, model: Any, space: Space
) -> tuple[Any, str]:
    """``model`` fitted to log(y) when the trial asks for it (only offered for a positive target).

    Why: prices and counts are skewed; trees fitted on the log scale split the cheap and the dear
    alike. Whether that lowers the error on the original scale is for the search to find out.
    """
    if not space.positive_target or not trial.suggest_categorical(
        f"{prefix}_log_target", [False, True]
    ):
        return model, ""
    wrapped = TransformedTargetRegressor(
        regressor=model, func=np.log, inverse_func=np.exp, check_inverse=False
    )
    return wrapped, "_log"


def _hist_gbm(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    # early_stopping stays the library's "auto": on above 10,000 rows, so max_iter is a ceiling
    learning_rate = trial.suggest_float("hgb_learning_rate", 0.01, 0.3, log=True)
    rounds = trial.suggest_int("hgb_max_iter", 100, 3000, log=True)
    leaves = trial.suggest_int("hgb_max_leaf_nodes", 8, 256, log=True)
    model = HistGradientBoostingRegressor(
        learning_rate=learning_rate,
        max_iter=rounds,
        max_leaf_nodes=leaves,
        min_samples_leaf=trial.suggest_int("hgb_min_samples_leaf", 2, 200, log=True),
        l2_regularization=trial.suggest_float("hgb_l2_regularization", 1e-4, 10.0, log=True),
        max_features=trial.suggest_float("hgb_max_features", 0.3, 1.0),
        random_state=0,
    )
    wrapped, suffix = _log_target(trial, "hgb", model, space)
    # a round's cost grows with the tree's size, slower than linearly (sqrt fits 15-127 leaves)
    return wrapped, Work(
        "hist_gbm", f"hist_gbm{suffix}", rounds, math.sqrt(leaves), learning_rate, "hgb_max_iter"
    )


def _boosting(
    trial: optuna.trial.BaseTrial, prefix: str, space: Space, reg_lambda: tuple[float, float]
) -> dict[str, Any]:
    """The parameters LightGBM's and XGBoost's scikit-learn interfaces share, by the same names."""
    return {
        "n_estimators": trial.suggest_int(f"{prefix}_n_estimators", 100, 3000, log=True),
        "learning_rate": trial.suggest_float(f"{prefix}_learning_rate", 0.01, 0.3, log=True),
        "reg_lambda": trial.suggest_float(f"{prefix}_reg_lambda", *reg_lambda, log=True),
        "colsample_bytree": trial.suggest_float(f"{prefix}_colsample_bytree", 0.3, 1.0),
        "subsample": trial.suggest_float(f"{prefix}_subsample", 0.5, 1.0),
        "n_jobs": space.cpus,
        "random_state": 0,
    }


def _lightgbm(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    from lightgbm import LGBMRegressor

    shared = _boosting(trial, "lgb", space, reg_lambda=(1e-4, 10.0))
    leaves = trial.suggest_int("lgb_num_leaves", 8, 256, log=True)
    model = LGBMRegressor(
        num_leaves=leaves,
        min_child_samples=trial.suggest_int("lgb_min_child_samples", 2, 200, log=True),
        subsample_freq=1,
        verbose=-1,
        **shared,
    )
    wrapped, suffix = _log_target(trial, "lgb", model, space)
    rounds = shared["n_estimators"]
    return wrapped, Work(
        "lightgbm", f"lightgbm{suffix}", rounds, math.sqrt(leaves), rounds_param="lgb_n_estimators"
    )


def _xgboost(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    from xgboost import XGBRegressor

    shared = _boosting(trial, "xgb", space, reg_lambda=(1e-2, 100.0))
    depth = trial.suggest_int("xgb_max_depth", 2, 10)
    model = XGBRegressor(
        max_depth=depth,
        min_child_weight=trial.suggest_float("xgb_min_child_weight", 1.0, 100.0, log=True),
        tree_method="hist",
        **shared,
    )
    wrapped, suffix = _log_target(trial, "xgb", model, space)
    rounds = shared["n_estimators"]
    # a depth-d tree has up to 2^d leaves: sqrt of that, as for the leaf-wise families
    return wrapped, Work(
        "xgboost", f"xgboost{suffix}", rounds, 2.0 ** (depth / 2), rounds_param="xgb_n_estimators"
    )


def _ridge(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    return Ridge(alpha=trial.suggest_float("ridge_alpha", 1e-3, 1e3, log=True)), Work(
        "ridge", "ridge"
    )


def _lasso(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    alpha = trial.suggest_float("lasso_alpha", 1e-3, 10.0, log=True)
    # the library's max_iter (1000) bounds a fit; the probe's alpha sits near that bound here
    return Lasso(alpha=alpha), Work("lasso", "lasso")


def _knn(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    k = trial.suggest_int("knn_n_neighbors", 3, 50, log=True)
    weights = trial.suggest_categorical("knn_weights", ["uniform", "distance"])
    knn = KNeighborsRegressor(k, weights=weights, n_jobs=space.cpus)
    return make_pipeline(StandardScaler(), knn), Work("knn", "knn")


def _random_forest(trial: optuna.trial.BaseTrial, space: Space) -> tuple[Any, Work]:
    trees = trial.suggest_int("rf_n_estimators", 50, 300, log=True)
    max_features = trial.suggest_categorical("rf_max_features", [1.0, 0.5, "sqrt"])
    n = space.n_features
    share = math.sqrt(n) / n if max_features == "sqrt" else float(max_features or 1.0)
    model = RandomForestRegressor(
        n_estimators=trees,
        min_samples_leaf=trial.suggest_int("rf_min_samples_leaf", 1, 20),
        max_features=max_features,
        random_state=0,
        n_jobs=space.cpus,
    )
    # a tree's cost is about proportional to the features it looks at per split
    return model, Work(
        "random_forest", "random_forest", trees, float(share), rounds_param="rf_n_estimators"
    )


FAMILIES: dict[str, Callable[[optuna.trial.BaseTrial, Space], tuple[Any, Work]]] = {
    "hist_gbm": _hist_gbm,
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "ridge": _ridge,
    "lasso": _lasso,
    "knn": _knn,
    "random_forest": _random_forest,
}


def available_families(wanted: list[str]) -> tuple[list[str], list[str]]:
    """The families in ``wanted`` that can run here, and a note for each one skipped."""
    unknown = [f for f in wanted if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown model families {unknown}; known: {', '.join(FAMILIES)}")
    families, notes = [], []
    for family in wanted:
        module, hint = OPTIONAL.get(family, (None, ""))
        if module is not None:
            try:  # imported now, not inside the first fit, whose time the cost model measures
                importlib.import_module(module)
            except Exception as error:  # a broken install (e.g. no OpenMP runtime) is missing too
                notes.append(f"family {family} skipped: {module} does not import ({error}; {hint})")
                continue
        families.append(family)
    return families, notes


def _rounds_done(fitted: Any, work: Work) -> float:
    """Boosting rounds a fitted candidate took if it may stop early, else its planned rounds.

    Only early-stopping work is read back: its cost is counted in rounds. Others (the baseline,
    a lasso's solver iterations) are counted in their own units, whatever ``n_iter_`` says.
    """
    if work.learning_rate is None:
        return work.rounds
    inner = getattr(fitted, "regressor_", fitted)
    done = getattr(inner, "n_iter_", None)
    return float(done) if done is not None else work.rounds


@dataclass
class Best:
    """The best candidate so far: its mean CV score, unfitted model, work and parameters."""

    score: float
    model: Any
    work: Work
    params: dict[str, Any]


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Search model families until the soft deadline; return the best found in time."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # a lasso or a forest that does not converge is scored like any other; the warnings flood
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    metric = fold_metric(cfg)
    scorer, direction = METRICS[metric]
    families, notes = available_families([str(f) for f in cfg.search.families])
    for note in notes:
        print(note)
    data = load_declared(cfg, ctx)
    rng = np.random.default_rng(int(cfg.cv.seed))
    order = rng.permutation(len(data.y))
    n_holdout = max(int(cfg.cv.folds), round(float(cfg.search.holdout) * len(order)))
    held_out, searched = order[:n_holdout], order[n_holdout:]
    X, y = data.X[searched], data.y[searched]
    folds = list(KFold(int(cfg.cv.folds), shuffle=True, random_state=int(cfg.cv.seed)).split(X))
    space = Space(cpus=int(ctx.cpus), positive_target=bool(np.all(y > 0)), n_features=X.shape[1])
    # The final fit sees all search rows: k / (k - 1) times a fold's training rows.
    costs = CostModel(refit=len(folds) / (len(folds) - 1))
    curve = ctx.artifact_path("anytime_curve.csv").open("w", newline="")
    writer = csv.writer(curve)
    writer.writerow(["elapsed_seconds", "trial", "family", metric, f"best_{metric}"])
    candidates = ctx.artifact_path("candidates.csv").open("w", newline="")
    log = csv.writer(candidates)
    columns = ["started_at", "trial", "family", "state", "folds", "expected_seconds", "seconds"]
    log.writerow([*columns, "params"])

    # The baseline, fitted once on the search rows for the held-out comparison, and scored on
    # the search's folds as its starting point: the search has to beat it to replace it.
    baseline = instantiate(cfg.baseline)
    fitted_baseline = clone(baseline).fit(X, y)
    baseline_prediction = fitted_baseline.predict(data.X[held_out])  # the final phase is short
    baseline_cv = _cross_validate(baseline, BASELINE, folds, X, y, scorer, costs, ctx, keep=0.0)
    if baseline_cv is None:
        raise RuntimeError("the budget ran out before the baseline finished its folds")
    # every improvement, oldest first: if the best cannot be refitted in time, the one before it
    bests = [Best(float(np.mean(baseline_cv)), baseline, BASELINE, {"family": "baseline"})]
    ctx.log_metric(f"anytime_best_{metric}", bests[-1].score, step=round(ctx.elapsed() * 1000))
    writer.writerow([f"{ctx.elapsed():.3f}", -1, "baseline", bests[-1].score, bests[-1].score])

    study = optuna.create_study(
        direction=optuna.study.StudyDirection.MINIMIZE
        if direction == "minimize"
        else optuna.study.StudyDirection.MAXIMIZE,
        sampler=optuna.samplers.TPESampler(seed=int(cfg.search.seed)),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=len(families)),
    )
    for family in families:
        study.enqueue_trial({"family": family, **PROBES.get(family, {})})
    skipped = shrunk = stopped = pruned = in_a_row = 0
    while not ctx.should_stop() and ctx.soft_remaining() > costs.reserve(bests[-1].work):
        trial = study.ask()
        family = trial.suggest_categorical("family", families)
        model, work = FAMILIES[family](trial, space)
        # time kept back: the final fit of the best so far, or of this one if it becomes the best
        keep = max(costs.reserve(bests[-1].work), costs.reserve(work))
        expected = costs.estimate(work, len(folds))
        if expected is not None and expected > ctx.soft_remaining() - keep:
            # FAIL, not PRUNED: TPE learns from pruned trials, and "too dear for the time left"
            # says nothing about how good a candidate is (it would steer towards cheap ones)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            smaller = _shrunk(trial, work, costs, (ctx.soft_remaining() - keep) / expected)
            if smaller is not None:  # the same proposal, cut to the rounds that fit: asked next
                study.enqueue_trial(smaller)
                shrunk += 1
                continue
            skipped += 1
            in_a_row += 1
            if in_a_row >= 200:
                break  # the sampler keeps proposing only what no longer fits in the time left
            continue
        in_a_row = 0
        began = ctx.elapsed()
        # a row before and after each candidate: a run killed mid-fit shows what was running
        log.writerow([f"{began:.3f}", trial.number, work.key, "started", "", expected, "", ""])
        candidates.flush()
        scores = _cross_validate(model, work, folds, X, y, scorer, costs, ctx, keep, trial)
        outcome = "stopped" if scores is None else "pruned" if len(scores) < len(folds) else "done"
        took = f"{ctx.elapsed() - began:.3f}"
        row = [f"{began:.3f}", trial.number, work.key, outcome, len(scores or []), expected, took]
        log.writerow([*row, json.dumps(trial.params)])
        candidates.flush()
        if scores is None or len(scores) < len(folds):
            state = optuna.trial.TrialState.FAIL if scores is None else None
            study.tell(trial, state=state or optuna.trial.TrialState.PRUNED)
            stopped, pruned = stopped + (scores is None), pruned + (scores is not None)
            continue
        score = float(np.mean(scores))
        study.tell(trial, score)
        if score < bests[-1].score if direction == "minimize" else score > bests[-1].score:
            bests.append(Best(score, model, work, dict(trial.params)))
            ctx.log_metric(f"anytime_best_{metric}", score, step=round(ctx.elapsed() * 1000))
        writer.writerow([f"{ctx.elapsed():.3f}", trial.number, family, score, bests[-1].score])
        curve.flush()
    curve.close()
    candidates.close()
    search_seconds = ctx.elapsed()

    best, final_fit = _final_fit(bests, fitted_baseline, costs, X, y, ctx)
    fallbacks = len(bests) - 1 - bests.index(best)
    if fallbacks:
        notes.append(f"the best {fallbacks} candidate(s) could not be refitted in the time left")
    prediction = final_fit.predict(data.X[held_out])
    chunks = np.array_split(np.arange(len(held_out)), int(cfg.cv.folds))
    truth = data.y[held_out]
    scores = [scorer(truth[c], prediction[c]) for c in chunks]
    baseline_scores = [scorer(truth[c], baseline_prediction[c]) for c in chunks]
    ctx.report_folds(metric, scores, baseline_scores)
    ctx.log_metrics(quartile_slices(truth, prediction, baseline_prediction, metric))
    evidence = {f"cv_{metric}": best.score, f"holdout_{metric}": float(np.mean(scores))}
    ctx.harvest("best_model", final_fit, evidence={**evidence, **best.params})
    notes += [f"best: {best.params}", f"cv {metric} {best.score:.6g}"]
    ctx.artifact_path("search_notes.txt").write_text("\n".join(notes) + "\n")
    print(f"best candidate: {best.params} (cv {metric} {best.score:.6g})")
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        metric: float(np.mean(scores)),
        f"baseline_{metric}": float(np.mean(baseline_scores)),
        f"search_cv_{metric}": best.score,
        f"baseline_cv_{metric}": bests[0].score,
        "best_is_baseline": float(best is bests[0]),
        "candidates_completed": float(len(completed)),
        "candidates_pruned": float(pruned),
        "candidates_skipped_for_budget": float(skipped),
        "candidates_shrunk_for_budget": float(shrunk),
        "candidates_stopped_at_deadline": float(stopped),
        "families_skipped": float(len(families) < len(cfg.search.families)),
        "refit_fallbacks": float(fallbacks),
        "holdout_rows": float(len(held_out)),
        "search_seconds": search_seconds,
        "final_seconds": ctx.elapsed() - search_seconds,
    }


def _shrunk(
    trial: optuna.trial.BaseTrial, work: Work, costs: CostModel, share: float
) -> dict[str, Any] | None:
    """The trial's parameters with its rounds cut to ``share`` of what it would take, if allowed.

    Why: a shared machine's slow spell inflates the estimates, and the sampler keeps proposing
    long boosting runs; cutting their rounds keeps the search fitting (and measuring, so the
    estimates recover) instead of skipping everything until the deadline.
    """
    if work.rounds_param is None or share <= 0:
        return None
    bounds = trial.distributions[work.rounds_param]
    # 0.9: the cut version is estimated again and must fit, not land just over the line
    fewer = min(int(costs.rounds(work) * share * 0.9), int(work.rounds) - 1)
    if not isinstance(bounds, optuna.distributions.IntDistribution) or fewer < bounds.low:
        return None
    return {**trial.params, work.rounds_param: fewer}


def _cross_validate(
    model: Any,
    work: Work,
    folds: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    scorer: Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], float],
    costs: CostModel,
    ctx: Context,
    keep: float,
    trial: optuna.Trial | None = None,
) -> list[float] | None:
    """Fold scores of ``model``; fewer than all when pruned, ``None`` when time ran out.

    Each fit is timed into ``costs``. Before each fold the time left, less ``keep`` seconds for
    the final fit, is checked against the fold's estimate, so a candidate is stopped between
    folds rather than run into the time the final fit needs.
    """
    scores: list[float] = []
    for step, (train, test) in enumerate(folds):
        # an untried family's first fit is a probe near library defaults: about the baseline's cost
        per_fold = costs.estimate(work, folds=1) or costs.estimate(BASELINE, folds=1)
        if ctx.should_stop() or (per_fold is not None and per_fold > ctx.soft_remaining() - keep):
            return None
        start = time.perf_counter()
        fitted = clone(model).fit(X[train], y[train])
        predicted = fitted.predict(X[test])  # timed too: the final comparison predicts as well
        costs.record(work, time.perf_counter() - start, _rounds_done(fitted, work))
        scores.append(scorer(y[test], predicted))
        if trial is not None and step + 1 < len(folds):
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                break
    return scores


def _final_fit(
    bests: list[Best],
    fitted_baseline: Any,
    costs: CostModel,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    ctx: Context,
) -> tuple[Best, Any]:
    """The best candidate whose fit on all search rows is expected to end before the deadline.

    Why a fallback: a candidate can run slower than its estimate and leave too little time; the
    one it improved on is then compared instead (the baseline, already fitted, at worst), and
    the run says so, rather than crashing after an hour of search.
    """
    for best in reversed(bests[1:]):
        if costs.reserve(best.work) <= ctx.remaining():
            return best, clone(best.model).fit(X, y)
    return bests[0], fitted_baseline
