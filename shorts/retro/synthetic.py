"""A synthetic quarter of runs, for the retrospective's notebook, tests and scale benchmark.

The runs look like what ``shorts run`` records (outcome, verdict, techniques, caps, resource
figures, slice metrics, harvest tags, metric histories for capped runs), in a realistic mix, plus a
share of runs from other tools that carry none of that. Real runs come from running shorts; this
exists so a 10,000-run store can be built in minutes rather than hours.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

SHORTS = {
    "reframe_classification": (["reframing", "target-binning", "expected-value-decoding"], 60),
    "baseline_regression": (["gradient-boosting", "linear-baseline"], 60),
    "one_hour_build": (["anytime-search", "optuna-tpe", "budget-aware-fitting"], 3600),
    "data_fraction": (["learning-curve", "data-subsampling"], 60),
    "reframe_ordinal": (["reframing", "ordinal-as-regression"], 60),
}
DATASETS = ["diabetes", "friedman1", "randhie", "fair"]
OUTCOMES = [("completed", 0.70), ("timeout", 0.12), ("memout", 0.06), ("crashed", 0.10)]
ERRORS = [
    ("ValueError", "experiments/reframe_classification.py:41 in run", "n_bins must be >= 2"),
    ("MemoryError", "experiments/one_hour_build.py:120 in run", ""),
    ("KeyError", "experiments/data_fraction.py:30 in run", "'claim'"),
]


@dataclass(frozen=True)
class SyntheticStore:
    """What was generated: the URI and how many runs of each kind."""

    uri: str
    runs: int
    foreign_runs: int


def build(
    client: MlflowClient,
    uri: str,
    n_runs: int,
    start: datetime,
    end: datetime,
    seed: int = 0,
    foreign_share: float = 0.05,
) -> SyntheticStore:
    """Create ``n_runs`` runs spread over [start, end) in the store behind ``client``."""
    from mlflow.entities import Metric, Param, RunTag

    rng = random.Random(seed)
    experiments = {name: _experiment(client, name) for name in [*SHORTS, "someone_elses_tool"]}
    span = end.timestamp() - start.timestamp()
    foreign = 0
    for i in range(n_runs):
        started = start.timestamp() + rng.random() * span * 0.98
        if rng.random() < foreign_share:
            foreign += 1
            run = client.create_run(
                experiments["someone_elses_tool"], start_time=int(started * 1000)
            )
            client.log_batch(run.info.run_id, metrics=[Metric("loss", rng.random(), 0, 0)])
            client.set_terminated(run.info.run_id, "FINISHED", int((started + 30) * 1000))
            continue
        short = rng.choice(list(SHORTS))
        techniques, wall_cap = SHORTS[short]
        outcome = _pick(rng, OUTCOMES)
        dataset = rng.choice(DATASETS)
        memory_cap = 1024.0
        wall = {"timeout": wall_cap, "memout": wall_cap * rng.uniform(0.1, 0.6)}.get(
            outcome, wall_cap * rng.uniform(0.02, 0.5)
        )
        peak = memory_cap * (
            rng.uniform(1.0, 1.02) if outcome == "memout" else rng.uniform(0.15, 0.7)
        )
        tags = {
            "shorts.short": short,
            "shorts.outcome": outcome,
            "shorts.techniques": ", ".join(techniques),
            "shorts.dataset": dataset,
            "shorts.model": "hist_gbm",
            "shorts.hypothesis": f"{short} beats its baseline",
            "shorts.caps.wall_time": f"{wall_cap}s",
            "shorts.caps.memory": "1.0 GiB",
            "shorts.caps.cpus": "1",
        }
        metrics = {
            "shorts.wall_seconds": wall,
            "shorts.cpu_seconds": wall * rng.uniform(0.8, 1.0),
            "shorts.peak_rss_mib": peak,
            "shorts.cap_used.wall_time": wall / wall_cap,
            "shorts.cap_used.memory": peak / memory_cap,
        }
        history: list[Metric] = []
        if outcome == "completed":
            baseline = rng.uniform(50, 60)
            uplift = rng.gauss(-0.01, 0.05)
            rmse = baseline * (1 - uplift)
            p_value = rng.uniform(0.001, 0.2) if abs(uplift) > 0.04 else rng.uniform(0.1, 0.9)
            verdict = "inconclusive" if p_value >= 0.05 else ("hit" if uplift > 0 else "miss")
            tags["shorts.verdict"] = verdict
            tags["shorts.reason"] = "the short returned 7 metric(s) within its caps"
            metrics.update(
                {"rmse": rmse, "baseline_rmse": baseline, "shorts.uplift": uplift,
                 "shorts.p_value": p_value}
            )  # fmt: skip
            for q in range(1, 5):
                metrics[f"slice_q{q}_rmse"] = rmse * rng.uniform(0.8, 1.2)
                metrics[f"baseline_slice_q{q}_rmse"] = baseline * rng.uniform(0.8, 1.2)
            if short == "reframe_classification" and rng.random() < 0.3:
                tags["shorts.harvest.binning_scheme"] = json.dumps(
                    {"kind": "component", "type": "dict", "path": "harvest/binning_scheme.joblib",
                     "evidence": {"rmse": rmse, "baseline_rmse": baseline}}
                )  # fmt: skip
        elif outcome == "crashed":
            error_type, where, message = rng.choice(ERRORS)
            tags.update(
                {"shorts.error.type": error_type, "shorts.error.where": where,
                 "shorts.reason": f"the short raised {error_type} at {where}: {message}"}
            )  # fmt: skip
        else:
            tags["shorts.reason"] = f"{outcome}: stopped by its cap"
            improving = rng.random() < 0.5
            value = rng.uniform(60, 70)
            for step in range(20):
                value += -rng.uniform(0.1, 0.5) if improving else rng.uniform(-0.05, 0.05)
                history.append(Metric("fold_rmse", value, int(started * 1000) + step, step))
        status = "FINISHED" if outcome == "completed" else "FAILED"
        run = client.create_run(
            experiments[short], start_time=int(started * 1000), tags=tags, run_name=f"{short}-{i}"
        )
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), int(started * 1000), 0) for k, v in metrics.items()]
            + history,
            params=[Param("dataset.name", dataset), Param("cv.folds", "5")],
            tags=[RunTag("mlflow.note.content", tags["shorts.hypothesis"])],
        )
        client.set_terminated(run.info.run_id, status, int((started + wall) * 1000))
    return SyntheticStore(uri, n_runs, foreign)


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
    build(open_client(uri), uri, n_runs, start, end, seed)
    return time.perf_counter() - began
