"""A synthetic quarter of runs, for the retrospective's notebook demo, tests and scale benchmark.

The runs look like what ``shorts run`` records (written through ``shorts.record``), in a
realistic mix of outcomes, plus a share of runs from other tools. Real runs come from running
shorts; this exists so a 10,000-run store can be built in minutes rather than hours.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime
from typing import TYPE_CHECKING

from shorts import record
from shorts.caps import Caps
from shorts.outcome import CAPPED, Outcome
from shorts.verdict import TEST_NAME

if TYPE_CHECKING:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

REGRESSION = ["diabetes", "friedman1", "randhie", "fair"]
CLASSIFICATION = ["diabetes_ordinal", "fair_rating"]
# short -> (techniques, wall-time cap in seconds, data sets it runs on, verdict metric)
SHORTS = {
    "reframe_classification": (
        ["reframing", "target-binning", "expected-value-decoding"],
        60,
        REGRESSION,
        "rmse",
    ),
    "baseline_regression": (["gradient-boosting", "linear-baseline"], 60, REGRESSION, "rmse"),
    "one_hour_build": (
        ["anytime-search", "optuna-tpe", "budget-aware-fitting"],
        3600,
        REGRESSION,
        "rmse",
    ),
    "data_fraction": (["learning-curve", "data-subsampling"], 60, REGRESSION, "rmse"),
    "reframe_ordinal": (
        ["reframing", "ordinal-as-regression", "fitted-thresholds"],
        60,
        CLASSIFICATION,
        "mae",
    ),
}
# The params a data set's config node flattens to (what ``shorts run`` logs), by config choice.
DATASET_PARAMS = {
    "diabetes": {"dataset.name": "diabetes", "dataset.source": "sklearn"},
    "friedman1": {"dataset.name": "friedman1", "dataset.source": "synthetic"},
    "randhie": {"dataset.name": "randhie", "dataset.source": "statsmodels"},
    "fair": {"dataset.name": "fair", "dataset.source": "statsmodels"},
    "diabetes_ordinal": {
        "dataset.name": "diabetes",
        "dataset.source": "sklearn",
        "dataset.bins": "5",
    },
    "fair_rating": {
        "dataset.name": "fair",
        "dataset.source": "statsmodels",
        "dataset.task": "classification",
    },
}
FRIEDMAN_SIZES = ["2000", "20000"]
FOLDS = 5
SOFT_FRACTION = 0.9
OUTCOMES = [("completed", 0.70), ("timeout", 0.12), ("memout", 0.06), ("crashed", 0.10)]
ERRORS = [
    ("ValueError", "experiments/reframe_classification.py:41 in run", "n_bins must be >= 2"),
    ("MemoryError", "experiments/one_hour_build.py:120 in run", ""),
    ("KeyError", "experiments/data_fraction.py:30 in run", "'claim'"),
]


def build(
    client: MlflowClient,
    n_runs: int,
    start: datetime,
    end: datetime,
    seed: int = 0,
    foreign_share: float = 0.05,
) -> None:
    """Create ``n_runs`` runs spread over [start, end) in the store behind ``client``."""
    from mlflow.entities import Metric, Param, RunTag

    rng = random.Random(seed)
    experiments = {name: _experiment(client, name) for name in [*SHORTS, "someone_elses_tool"]}
    span = end.timestamp() - start.timestamp()
    for i in range(n_runs):
        started = start.timestamp() + rng.random() * span * 0.98
        start_ms = int(started * 1000)
        if rng.random() < foreign_share:
            run = client.create_run(experiments["someone_elses_tool"], start_time=start_ms)
            client.log_batch(run.info.run_id, metrics=[Metric("loss", rng.random(), 0, 0)])
            client.set_terminated(run.info.run_id, "FINISHED", int((started + 30) * 1000))
            continue
        short = rng.choice(list(SHORTS))
        techniques, wall_cap, datasets, metric = SHORTS[short]
        anytime = "anytime-search" in techniques
        outcome = _pick(rng, OUTCOMES)
        dataset = rng.choice(datasets)
        params = {**DATASET_PARAMS[dataset], "cv.folds": str(FOLDS), "verdict.metric": metric}
        if dataset == "friedman1":
            params["dataset.n_samples"] = rng.choice(FRIEDMAN_SIZES)
        # What one fold costs: start-up, then a pace that grows with the data.
        setup = rng.uniform(1.5, 3.0)
        pace = (
            wall_cap
            * rng.uniform(0.02, 0.12)
            * (4 if params.get("dataset.n_samples") == "20000" else 1)
        )
        memory_cap = 1024.0  # MiB
        caps = Caps(float(wall_cap), int(memory_cap) * record.MIB, cpus=1, grace=2.0)
        folds_done = FOLDS
        if outcome in CAPPED:  # slow (or big) for its caps: stopped mid-folds
            wall = float(wall_cap) if outcome == "timeout" else wall_cap * rng.uniform(0.1, 0.6)
            folds_done = rng.randint(0, FOLDS - 1)
            pace = max(wall - setup, 0.5) / (folds_done + rng.uniform(0.3, 0.9))
        elif outcome == "crashed":
            wall = setup + rng.uniform(0.0, 2.0)
            folds_done = 0
        elif anytime:
            wall = wall_cap * rng.uniform(0.9, 0.97)  # searches until its soft deadline
        else:
            wall = setup + FOLDS * pace + rng.uniform(0.2, 1.0)
            if wall > SOFT_FRACTION * wall_cap:  # the soft deadline stops it between folds
                folds_done = max(1, min(FOLDS - 1, int((SOFT_FRACTION * wall_cap - setup) / pace)))
                wall = setup + folds_done * pace + rng.uniform(0.2, 1.0)
        peak = memory_cap * (
            rng.uniform(1.0, 1.02) if outcome == "memout" else rng.uniform(0.15, 0.7)
        )
        tags = {
            record.SHORT: short,
            record.OUTCOME: outcome,
            record.TECHNIQUES: ", ".join(techniques),
            record.DATASET: dataset,
            record.MODEL: "hist_gbm",
            record.HYPOTHESIS: f"{short} beats its baseline",
            **caps.as_tags(),
        }
        cpu = wall * rng.uniform(0.8, 1.0)
        metrics = {
            **record.usage_metrics(
                wall, cpu, int(peak * record.MIB), caps.wall_time, caps.memory, caps.cpus
            ),
            **caps.as_metrics(),
        }
        baseline = rng.uniform(50, 60) if metric == "rmse" else rng.uniform(0.6, 0.9)
        history = (
            [] if anytime else _folds(rng, metric, baseline, folds_done, start_ms, setup, pace)
        )
        if outcome == "completed":
            uplift = rng.gauss(-0.01, 0.05)
            score = baseline * (1 - uplift)
            p_value = rng.uniform(0.001, 0.2) if abs(uplift) > 0.04 else rng.uniform(0.1, 0.9)
            verdict = "inconclusive" if p_value >= 0.05 else ("hit" if uplift > 0 else "miss")
            tags[record.VERDICT] = verdict
            tags[record.REASON] = "the short returned 7 metric(s) within its caps"
            metrics.update(
                {metric: score, f"baseline_{metric}": baseline, record.UPLIFT: uplift,
                 record.P_VALUE: p_value}
            )  # fmt: skip
            if not anytime:
                metrics.update({"folds_completed": folds_done, "folds_planned": FOLDS})
            for q in range(1, 5):
                metrics[f"slice_q{q}_{metric}"] = score * rng.uniform(0.8, 1.2)
                metrics[f"baseline_slice_q{q}_{metric}"] = baseline * rng.uniform(0.8, 1.2)
            # What the runner records for pooling: fold gains of a world with no real effect
            # (each run's uplift is its own draw of noise around a small loss).
            spread = 0.04
            tags[record.EVIDENCE] = json.dumps(
                {"test": TEST_NAME, "metric": metric, "margin": 0.01, "test_train": 0.25,
                 "model": [FOLDS, round(uplift, 6), spread**2],
                 "slices": {f"baseline prediction q{q}": {
                     "by": "prediction", "quartile": q,
                     "model": [FOLDS, round(rng.gauss(uplift, 0.05), 6), (2 * spread) ** 2]}
                     for q in range(1, 5)}},
                separators=(",", ":"),
            )  # fmt: skip
            if short == "reframe_classification" and rng.random() < 0.3:
                tags[f"{record.HARVEST_PREFIX}binning_scheme"] = json.dumps(
                    {"kind": "component", "type": "dict", "path": "harvest/binning_scheme.joblib",
                     "evidence": {"rmse": score, "baseline_rmse": baseline}}
                )  # fmt: skip
        elif outcome == "crashed":
            error_type, where, message = rng.choice(ERRORS)
            tags.update(
                {record.ERROR_TYPE: error_type, record.ERROR_WHERE: where,
                 record.REASON: f"the short raised {error_type} at {where}: {message}"}
            )  # fmt: skip
        else:
            tags[record.REASON] = f"{outcome}: stopped by its cap"
            if anytime and rng.random() < 0.5:  # the anytime curve, still improving at the cap
                value = rng.uniform(60, 70)
                for n in range(8):
                    value -= rng.uniform(0.1, 0.5)
                    elapsed_ms = int(wall * 1000 * (n + 1) / 9)
                    history.append(
                        Metric(f"anytime_best_{metric}", value, start_ms + elapsed_ms, elapsed_ms)
                    )
        status = Outcome(outcome).mlflow_status
        run = client.create_run(
            experiments[short], start_time=start_ms, tags=tags, run_name=f"{short}-{i}"
        )
        end_ms = int((started + wall) * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), end_ms, 0) for k, v in metrics.items()] + history,
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(record.NOTE, tags[record.HYPOTHESIS])],
        )
        client.set_terminated(run.info.run_id, status, end_ms)


def _folds(
    rng: random.Random,
    metric: str,
    baseline: float,
    done: int,
    start_ms: int,
    setup: float,
    pace: float,
) -> list[Metric]:
    """The short's and its baseline's score per finished fold, logged as each fold ends."""
    from mlflow.entities import Metric

    points = []
    for step in range(done):
        stamp = start_ms + int((setup + (step + 1) * pace) * 1000)
        points.append(Metric(f"fold_{metric}", baseline * rng.uniform(0.9, 1.1), stamp, step))
        points.append(
            Metric(f"baseline_fold_{metric}", baseline * rng.uniform(0.9, 1.1), stamp, step)
        )
    return points


def _experiment(client: MlflowClient, name: str) -> str:
    existing = client.get_experiment_by_name(name)
    return existing.experiment_id if existing else client.create_experiment(name)


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


def timed_build(uri: str, n_runs: int, start: datetime, end: datetime, seed: int = 0) -> float:
    """Build a synthetic store at ``uri`` and return the seconds it took."""
    from shorts.tracking.store import open_client

    began = time.perf_counter()
    build(open_client(uri), n_runs, start, end, seed)
    return time.perf_counter() - began
