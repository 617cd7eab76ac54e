"""Overhead of ``shorts run`` against a bare script doing the same fit and MLflow logging.

Both run the diabetes ``baseline_regression`` short (the same function, config and folds) as a
fresh process on an already-created sqlite store; the bare script calls the function in-process
and logs params and metrics with plain ``mlflow``. Runs alternate, and the figure is the ratio of
median wall times. Goal: <= 1.10.

Usage: python benchmarks/runner_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BARE = """
import sys, time
from pathlib import Path
import mlflow
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from shorts.context import Context
sys.path.insert(0, sys.argv[1])
from experiments.baseline_regression import run

with initialize_config_dir(config_dir=sys.argv[1] + "/configs", version_base="1.3"):
    cfg = compose("shorts", overrides=["+experiment=baseline_regression"])
ctx = Context(Path(sys.argv[2]), time.time(), wall_time=600, soft_time=540)
metrics = run(cfg, ctx)
mlflow.set_tracking_uri(f"sqlite:///{sys.argv[1]}/mlflow.db")
mlflow.set_experiment("bare_baseline_regression")
with mlflow.start_run():
    flat = {}
    def walk(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = value
    walk(OmegaConf.to_container(cfg, resolve=True))
    mlflow.log_params(flat)
    for e in ctx.events:
        mlflow.log_metric(e["k"], e["v"], step=e["s"] or 0)
    mlflow.log_metrics(metrics)
"""


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="shorts-overhead-"))
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(REPO / "experiments", root / "experiments")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SHORTS_ROOT")}
    shorts_cmd = [sys.executable, "-m", "shorts", "run", "+experiment=baseline_regression"]
    bare_cmd = [sys.executable, "-c", BARE, str(root), str(root / "bare-artifacts")]
    # Warm-up: creates the store's schema and fills the OS file cache for both.
    _timed(shorts_cmd, root, env)
    _timed(bare_cmd, root, env)
    shorts_times, bare_times = [], []
    for _ in range(args.repeats):
        shorts_times.append(_timed(shorts_cmd, root, env))
        bare_times.append(_timed(bare_cmd, root, env))
    shorts_median = statistics.median(shorts_times)
    bare_median = statistics.median(bare_times)
    print(
        f"shorts run +experiment=baseline_regression: median {shorts_median:.2f}s "
        f"(runs: {', '.join(f'{t:.2f}' for t in shorts_times)})"
    )
    print(
        f"bare script, same fit and MLflow logging:   median {bare_median:.2f}s "
        f"(runs: {', '.join(f'{t:.2f}' for t in bare_times)})"
    )
    print(f"ratio shorts / bare: {shorts_median / bare_median:.3f}  (goal <= 1.10)")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
