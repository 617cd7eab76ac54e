"""The retrospective at scale: 10,000 runs, against MLflow fetching the same runs.

Builds (once, then reuses) a sqlite store of 10,000 runs with a realistic mix of outcomes, tags and
metric histories (``shorts.retro.synthetic``), then times, in the same process and run:

* reference: ``mlflow.search_runs`` fetching every run of the period (all experiments);
* the retrospective: what ``shorts retro --quarter 2026Q4`` does after Python starts (load runs,
  histories of capped runs, analysis, HTML/Markdown/JSON, logging the report to MLflow).

Prints the ratio retrospective / reference. Goal: <= 1.5.

Usage: python benchmarks/retro_scale.py [--runs 10000] [--store PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shorts.project import find_project
from shorts.retro import period_from
from shorts.retro.command import retro
from shorts.retro.synthetic import timed_build

QUARTER = "2026Q4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--store", type=Path, default=None, help="reuse or create this sqlite file")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    store = args.store or Path(tempfile.gettempdir()) / f"shorts-retro-{args.runs}.db"
    uri = f"sqlite:///{store.resolve()}"
    period = period_from(quarter=QUARTER)
    if not store.exists():
        seconds = timed_build(uri, args.runs, period.start, min(period.end, datetime.now(UTC)))
        print(f"built {args.runs} runs in {store} in {seconds:.0f}s")

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    experiment_ids = [e.experiment_id for e in MlflowClient(uri).search_experiments()]
    start_ms, end_ms = int(period.start.timestamp() * 1000), int(period.end.timestamp() * 1000)
    where = f"attributes.start_time >= {start_ms} AND attributes.start_time < {end_ms}"
    reference, retro_times = [], []
    out = tempfile.mkdtemp(prefix="shorts-retro-bench-")
    project = find_project(Path(__file__).resolve().parent)
    for _ in range(args.repeats):
        began = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids, filter_string=where, max_results=100_000)
        reference.append(time.perf_counter() - began)

        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            status = retro(project, ["--quarter", QUARTER, "--tracking-uri", uri, "--out", out])
        retro_times.append(time.perf_counter() - began)
        if status != 0:
            raise SystemExit(f"shorts retro failed ({status}): {printed.getvalue()}")
    ref, ours = statistics.median(reference), statistics.median(retro_times)
    print(f"mlflow.search_runs, {len(frame)} runs: median {ref:.2f}s ({_list(reference)})")
    print(f"shorts retro --quarter {QUARTER}: median {ours:.2f}s ({_list(retro_times)})")
    print(printed.getvalue().rstrip())
    print(f"ratio retro / search_runs: {ours / ref:.2f}  (goal <= 1.5)")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
