"""Short: what if no model could take longer than an hour to build?

An anytime search (Optuna's ask/tell, driven directly) over model families inside the wall-time
cap. Before a candidate starts, its cost is estimated from what earlier candidates of its family
took per unit of work (trees, boosting rounds); one that would not finish before the soft
deadline is skipped rather than started. A candidate is stopped cooperatively between folds at the
soft deadline. The anytime curve (best cross-validated score against elapsed seconds) is logged
as it improves.

Honesty: the best of hundreds of candidates scored on the same folds is optimistically biased, so
the search never sees a held-out share of the rows (``search.holdout``). The verdict compares the
best candidate with the baseline, both fitted on the search rows, on disjoint chunks of the
held-out rows (paired, one score per chunk); that fitted best model is what gets harvested.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shorts.context import Context
from shorts.evaluate import METRICS, fold_metric, load_declared, quartile_slices

SAFETY = 1.5  # estimates are medians; leave room for the slow tail
# The first candidate of each family is a cheap probe, so every later estimate rests on a
# measurement of that family on this data and machine, never on a guess.
PROBES = {
    "ridge": {"ridge_alpha": 1.0},
    "lasso": {"lasso_alpha": 0.1},
    "knn": {"knn_n_neighbors": 10, "knn_weights": "uniform"},
    "hist_gbm": {
        "hgb_max_iter": 50,
        "hgb_learning_rate": 0.1,
        "hgb_max_leaf_nodes": 15,
        "hgb_min_samples_leaf": 20,
    },
    "random_forest": {"rf_n_estimators": 50, "rf_min_samples_leaf": 5, "rf_max_features": 1.0},
}


def _candidate(trial: optuna.Trial, family: str) -> tuple[BaseEstimator, float]:
    """An estimator of ``family`` with parameters from the trial, and its units of work."""
    if family == "ridge":
        return Ridge(alpha=trial.suggest_float("ridge_alpha", 1e-3, 1e3, log=True)), 1.0
    if family == "lasso":
        alpha = trial.suggest_float("lasso_alpha", 1e-3, 10.0, log=True)
        return Lasso(alpha=alpha, max_iter=5000), 1.0
    if family == "knn":
        k = trial.suggest_int("knn_n_neighbors", 3, 50, log=True)
        weights = trial.suggest_categorical("knn_weights", ["uniform", "distance"])
        return make_pipeline(StandardScaler(), KNeighborsRegressor(k, weights=weights)), 1.0
    if family == "hist_gbm":
        rounds = trial.suggest_int("hgb_max_iter", 50, 500, log=True)
        model = HistGradientBoostingRegressor(
            learning_rate=trial.suggest_float("hgb_learning_rate", 0.01, 0.3, log=True),
            max_leaf_nodes=trial.suggest_int("hgb_max_leaf_nodes", 4, 64, log=True),
            min_samples_leaf=trial.suggest_int("hgb_min_samples_leaf", 5, 50),
            max_iter=rounds,
            random_state=0,
        )
        return model, float(rounds)
    if family == "random_forest":
        trees = trial.suggest_int("rf_n_estimators", 50, 300, log=True)
        model = RandomForestRegressor(
            n_estimators=trees,
            min_samples_leaf=trial.suggest_int("rf_min_samples_leaf", 1, 20),
            max_features=trial.suggest_categorical("rf_max_features", [1.0, 0.5, "sqrt"]),
            random_state=0,
            n_jobs=1,
        )
        return model, float(trees)
    raise ValueError(f"unknown model family {family!r}")


@dataclass
class CostModel:
    """Seconds per unit of work, per family, learned from the candidates fitted so far."""

    observed: dict[str, list[float]] = field(default_factory=dict)

    def estimate(self, family: str, units: float, folds: int) -> float | None:
        """Expected seconds for a whole candidate; ``None`` while the family is untried."""
        rates = self.observed.get(family)
        if not rates:
            return None
        return float(np.median(rates)) * units * folds * SAFETY

    def record(self, family: str, units: float, seconds_per_fold: float) -> None:
        self.observed.setdefault(family, []).append(seconds_per_fold / units)


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Search model families until the soft deadline; return the best found in time."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    metric = fold_metric(cfg)
    scorer, direction = METRICS[metric]
    data = load_declared(cfg, ctx)
    rng = np.random.default_rng(int(cfg.cv.seed))
    order = rng.permutation(len(data.y))
    n_holdout = max(int(cfg.cv.folds), round(float(cfg.search.holdout) * len(order)))
    held_out, searched = order[:n_holdout], order[n_holdout:]
    X, y = data.X[searched], data.y[searched]
    folds = list(KFold(int(cfg.cv.folds), shuffle=True, random_state=int(cfg.cv.seed)).split(X))
    baseline = instantiate(cfg.baseline)
    families = [str(f) for f in cfg.search.families]
    study = optuna.create_study(
        direction=direction, sampler=optuna.samplers.TPESampler(seed=int(cfg.search.seed))
    )
    for family in families:
        study.enqueue_trial({"family": family, **PROBES.get(family, {})})
    costs = CostModel()
    best: tuple[float, list[float], BaseEstimator, dict[str, Any]] | None = None
    skipped = stopped = in_a_row = 0
    curve = ctx.artifact_path("anytime_curve.csv").open("w", newline="")
    writer = csv.writer(curve)
    writer.writerow(["elapsed_seconds", "trial", "family", metric, f"best_{metric}"])
    while not ctx.should_stop() and ctx.soft_remaining() > _reserve(best, costs):
        trial = study.ask()
        family = trial.suggest_categorical("family", families)
        model, units = _candidate(trial, family)
        expected = costs.estimate(family, units, len(folds))
        budget = ctx.soft_remaining() - _reserve(best, costs)
        if expected is not None and expected > budget:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            skipped += 1
            in_a_row += 1
            if in_a_row >= 200:
                break  # the sampler keeps proposing only what no longer fits in the time left
            continue
        in_a_row = 0
        scores = []
        for train, test in folds:
            per_fold = costs.estimate(family, units, folds=1)
            if ctx.should_stop() or (per_fold is not None and per_fold > ctx.soft_remaining()):
                break
            start = time.perf_counter()
            fitted = clone(model).fit(X[train], y[train])
            costs.record(family, units, time.perf_counter() - start)
            scores.append(scorer(y[test], fitted.predict(X[test])))
        if len(scores) < len(folds):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            stopped += 1
            break
        score = float(np.mean(scores))
        study.tell(trial, score)
        improved = best is None or (score < best[0] if direction == "minimize" else score > best[0])
        if improved:
            best = (score, scores, model, dict(trial.params))
            ctx.log_metric(f"anytime_best_{metric}", score, step=round(ctx.elapsed() * 1000))
        assert best is not None
        writer.writerow([f"{ctx.elapsed():.3f}", trial.number, family, score, best[0]])
        curve.flush()
    curve.close()
    if best is None:
        raise RuntimeError("the budget ran out before any candidate finished its folds")
    score, _, model, params = best
    final_fit = _refit_if_affordable(model, params, costs, X, y, ctx)
    if final_fit is None:
        raise RuntimeError("no time left to fit the best candidate for its held-out comparison")
    fitted_baseline = clone(baseline).fit(X, y)
    chunks = np.array_split(held_out, int(cfg.cv.folds))
    scores = [scorer(data.y[c], final_fit.predict(data.X[c])) for c in chunks]
    baseline_scores = [scorer(data.y[c], fitted_baseline.predict(data.X[c])) for c in chunks]
    ctx.report_folds(metric, scores, baseline_scores)
    ctx.log_metrics(
        quartile_slices(
            data.y[held_out],
            final_fit.predict(data.X[held_out]),
            fitted_baseline.predict(data.X[held_out]),
            metric,
        )
    )
    ctx.harvest(
        "best_model",
        final_fit,
        evidence={f"cv_{metric}": score, f"holdout_{metric}": float(np.mean(scores)), **params},
    )
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        metric: float(np.mean(scores)),
        f"baseline_{metric}": float(np.mean(baseline_scores)),
        f"search_cv_{metric}": score,
        "candidates_completed": float(len(completed)),
        "candidates_skipped_for_budget": float(skipped),
        "candidates_stopped_at_deadline": float(stopped),
        "holdout_rows": float(len(held_out)),
        "search_seconds": ctx.elapsed(),
    }


def _reserve(
    best: tuple[float, list[float], BaseEstimator, dict[str, Any]] | None, costs: CostModel
) -> float:
    """Seconds kept back for the final fits of the best candidate and the baseline."""
    if best is None:
        return 0.0
    params = best[3]
    units = float(params.get("hgb_max_iter", params.get("rf_n_estimators", 1.0)))
    return 1.0 + 2.0 * (costs.estimate(str(params["family"]), units, folds=1) or 0.0)


def _refit_if_affordable(
    model: BaseEstimator,
    params: dict[str, Any],
    costs: CostModel,
    X: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    ctx: Context,
) -> BaseEstimator | None:
    """The best candidate fitted on the search rows, if its estimated cost fits the time left."""
    family = str(params["family"])
    units = float(params.get("hgb_max_iter", params.get("rf_n_estimators", 1.0)))
    expected = costs.estimate(family, units, folds=1) or 0.0
    if expected * 1.25 > ctx.remaining():  # all search rows: a bit more than a fold's training set
        return None
    return clone(model).fit(X, y)
