"""Throughput of ``shorts sweep`` with ``--jobs 1`` and ``--jobs 2``, and its cost per trial.

The short is a CPU-bound busy loop sized to about ``--seconds`` of work per trial (measured here
first), so that two trials at once can show what a second core buys; a trivial short would only
measure the fixed cost of a run. Both sweeps run the same ``--trials`` in a temporary copy of the
project with its own store (created by a warm-up sweep first, so neither pays the schema).

Figures:

- trials/second of each sweep over its trials (first trial asked to last one told, from the
  Optuna journal) and over the whole command (interpreter start and summary included);
- the ratio jobs-2 / jobs-1 of the trials' throughput. Goal: >= 1.8 on 2 idle cores;
- the cost per trial of a capped, supervised, recorded run against plain Optuna calling the same
  function in this process (``study.optimize`` on an in-memory study, the config composed by
  Hydra the same way, a standalone ``Context``), in wall time and in CPU time (the CPU figure
  holds up better on a machine shared with other jobs).

Each round runs in-process, ``--jobs 1``, ``--jobs 2`` in turn; medians over ``--repeats``. On a
shared machine another job's pinned short can hold a core: the ratio is then a lower bound, so
the load average is printed before and after.

Usage: python benchmarks/sweep_throughput.py [--trials 12] [--seconds 2.5] [--repeats 1] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHORT = "bench_spin"

SPIN = textwrap.dedent(
    """\
    def work(iterations):
        acc = 0
        for i in range(iterations):
            acc += i * i % 7
        return acc


    def spin(cfg, ctx):
        work(int(cfg.iterations))
        return {"rmse": (float(cfg.x) - 1.0) ** 2 + int(cfg.depth) / 10}
    """
)

YAML = textwrap.dedent(
    """\
    # @package _global_
    defaults:
      - override /caps: tiny
    short:
      fn: experiments.bench_sweep:spin
      hypothesis: a busy loop of a few seconds, swept
      techniques: [benchmark]
    caps:
      wall_time: 120s
    iterations: {iterations}
    x: 0.0
    depth: 1
    sweep:
      params:
        x: {{type: float, low: -2, high: 2}}
        depth: {{type: int, low: 1, high: 5}}
      sampler: {{name: random, seed: 0}}
      pruner: {{name: none}}
    """
)


def calibrate(seconds: float) -> int:
    """Iterations of the busy loop that take about ``seconds`` on one core here.

    CPU time, the fastest of three: wall time on a machine shared with other jobs would count
    the time they took from it.
    """
    namespace: dict[str, Any] = {}
    exec(SPIN, namespace)
    iterations = 200_000
    while True:
        timings = []
        for _ in range(3):
            start = time.process_time()
            namespace["work"](iterations)
            timings.append(time.process_time() - start)
        if min(timings) > 0.3:
            return int(iterations * seconds / min(timings))
        iterations *= 4


def make_project(iterations: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="shorts-sweep-bench-"))
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(
        REPO / "experiments", root / "experiments", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "experiments" / "bench_sweep.py").write_text(SPIN)
    (root / "configs" / "experiment" / f"{SHORT}.yaml").write_text(
        YAML.format(iterations=iterations)
    )
    return root


def run_sweep(root: Path, study: str, trials: int, jobs: int, *extra: str) -> tuple[float, float]:
    """Wall seconds of one ``shorts sweep`` command, and the CPU seconds of its process tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SHORTS_ROOT")}
    command = [sys.executable, "-m", "shorts", "sweep", f"+experiment={SHORT}", *extra]
    command += ["--trials", str(trials), "--jobs", str(jobs), "--study", study]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"shorts sweep failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return took, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """CPU seconds of every waited-for descendant (sweep, supervisors' guardians, workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def trial_span(root: Path, study_name: str) -> tuple[float, list[str]]:
    """Seconds from the first trial asked to the last one told, and the trials' outcomes."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(root / "optuna-journal.log")))
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    outcomes = [str(t.user_attrs.get("outcome", t.state.name)) for t in trials]
    return (max(ends) - min(starts)).total_seconds(), outcomes


def in_process(root: Path, trials: int, repeat: int) -> tuple[float, float]:
    """Wall and CPU seconds of plain Optuna optimising the same function in this process."""
    import optuna
    from hydra import compose, initialize_config_dir

    from shorts.context import Context

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from experiments.bench_sweep import spin  # type: ignore[import-not-found]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    artifacts = root / f"in-process-{repeat}"

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -2, 2)
        depth = trial.suggest_int("depth", 1, 5)
        cfg = compose("shorts", overrides=[f"+experiment={SHORT}", f"x={x:.6g}", f"depth={depth}"])
        ctx = Context(artifacts / f"t{trial.number}", time.time(), wall_time=120, soft_time=108)
        return float(spin(cfg, ctx)["rmse"])

    with initialize_config_dir(config_dir=str(root / "configs"), version_base="1.3"):
        compose("shorts", overrides=[f"+experiment={SHORT}"])  # Hydra's first-use cost, untimed
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        start, cpu_start = time.perf_counter(), time.process_time()
        study.optimize(objective, n_trials=trials)
        return time.perf_counter() - start, time.process_time() - cpu_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=2.5, help="work per trial, one core")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()
    n = args.trials

    iterations = calibrate(args.seconds)
    root = make_project(iterations)
    try:
        print(
            f"short: busy loop of {iterations:,} iterations (~{args.seconds:g}s on one core), "
            f"{n} trials per sweep, {len(os.sched_getaffinity(0))} usable core(s), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        run_sweep(root, "warm-up", 1, 1, "iterations=1000")  # creates the store's schema
        spans: dict[int, list[float]] = {1: [], 2: []}
        walls: dict[int, list[float]] = {1: [], 2: []}
        cpus: dict[int, list[float]] = {1: [], 2: []}
        bare_walls, bare_cpus = [], []
        for repeat in range(args.repeats):
            bare_wall, bare_cpu = in_process(root, n, repeat)
            bare_walls.append(bare_wall)
            bare_cpus.append(bare_cpu)
            print(f"plain Optuna in-process:  {n / bare_wall:.3f} trials/s ({bare_wall:.1f}s)")
            for jobs in (1, 2):
                study = f"jobs-{jobs}-{repeat}"
                wall, cpu = run_sweep(root, study, n, jobs)
                span, outcomes = trial_span(root, study)
                spans[jobs].append(span)
                walls[jobs].append(wall)
                cpus[jobs].append(cpu)
                print(
                    f"shorts sweep --jobs {jobs}: {n / span:.3f} trials/s over the trials "
                    f"({span:.1f}s), {n / wall:.3f} trials/s over the command ({wall:.1f}s), "
                    f"{cpu:.1f} CPU-s; outcomes: {', '.join(sorted(set(outcomes)))}"
                )
        span1, span2 = statistics.median(spans[1]), statistics.median(spans[2])
        bare = statistics.median(bare_walls) / n
        per_trial = span1 / n
        print(f"load average now {os.getloadavg()[0]:.1f}; medians of {args.repeats} round(s):")
        print(
            f"  trials/s  --jobs 1 {n / span1:.3f}, --jobs 2 {n / span2:.3f}, "
            f"in-process {1 / bare:.3f}"
        )
        print(
            f"  ratio jobs-2 / jobs-1 trials/s: {span1 / span2:.2f}  (goal >= 1.8 on 2 idle cores)"
        )
        print(
            f"  per-trial overhead, --jobs 1 against in-process: {per_trial - bare:+.2f}s wall "
            f"per trial ({per_trial:.2f}s vs {bare:.2f}s, ratio {per_trial / bare:.2f})"
        )
        cpu1, bare_cpu = statistics.median(cpus[1]) / n, statistics.median(bare_cpus) / n
        print(
            f"  CPU per trial, whole --jobs 1 command (its start-up shared out): {cpu1:.2f}s vs "
            f"{bare_cpu:.2f}s in-process ({cpu1 - bare_cpu:+.2f}s)"
        )
    finally:
        if args.keep:
            print(f"project kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
