"""What the local journal costs a run, and how fast a pending journal replays into MLflow.

Figures:

- the journal's cost: wall time of a whole ``shorts run`` command with the journal (this tree)
  over the same command without it (commit ``dda86ee``, the last runner that wrote to MLflow
  directly from memory on a background thread, checked out in a temporary git worktree). Each
  side runs in its own temporary project (its own tree's ``configs/`` and ``experiments/``, its
  own sqlite store, a warm-up run first so neither pays for the schema) with the same Python,
  ``import shorts`` pointed at its tree. Two shorts: the shipped ``baseline_regression``, and
  ``bench_journal``, added to the temporary projects only, which fits a small SGD regressor and
  logs three metric points per epoch (``--points`` in all) so the journal is exercised. The
  sides alternate (with, without, with, ...) ``--repeats`` times; printed: each side's median
  and interquartile range, the ratio of medians, and the median and IQR of the paired ratios
  (so the noise of a shared machine is visible); the same for the command's CPU seconds and
  for its three phases: launch to the worker's start, the run's own ``shorts.wall_seconds``, and
  the short's end to exit (where waiting for the record shows). Goal: ratio of medians <= 1.02.
- the replay rate: a pending journal of ``--replay-points`` metric points, written with the real
  ``Journal`` API (the opening and closing events as ``RunRecorder`` writes them), delivered by
  ``Delivery(journal).run()`` into a fresh embedded sqlite store (``--server``: also a real
  ``mlflow server`` on such a store). Printed: points per second and seconds, then the check
  that delivery is idempotent: after a second delivery, and a third from scratch (its
  ``journal.delivered.json`` deleted), the store still holds one FINISHED run with exactly the
  journal's points; last, the rate of a second journal into the now warm store (a fresh
  server's workers are slow on their first requests).

The working tree is edited by others while it is measured; ``--with-ref 7bcbfd2`` measures a
commit instead (in a worktree of its own).

Usage: python benchmarks/journal_cost.py [--repeats 5] [--points 3000] [--replay-points 10000]
       [--with-ref REF] [--server] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WITHOUT_COMMIT = "dda86ee"  # the last runner without the journal
SHORTS = ("baseline_regression", "bench_journal")
HEAVY = "bench_journal"
REPLAY_KEY = "train_loss"

HEAVY_SHORT = textwrap.dedent(
    """\
    \"\"\"Benchmark short: a small SGD fit that logs three metric points per epoch.\"\"\"

    import numpy as np
    from sklearn.linear_model import SGDRegressor


    def run(cfg, ctx):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(2000, 20))
        y = X @ rng.normal(size=20) + rng.normal(size=2000)
        model = SGDRegressor(learning_rate="constant", eta0=1e-4, random_state=0)
        for epoch in range(int(cfg.epochs)):
            model.partial_fit(X, y)
            residual = model.predict(X) - y
            ctx.log_metric("train_mse", float(np.mean(residual**2)), step=epoch)
            ctx.log_metric("coef_norm", float(np.linalg.norm(model.coef_)), step=epoch)
            ctx.log_metric("max_residual", float(np.abs(residual).max()), step=epoch)
        return {"rmse": float(np.sqrt(np.mean(residual**2)))}
    """
)

HEAVY_YAML = textwrap.dedent(
    """\
    # @package _global_
    defaults:
      - override /caps: small
    short:
      fn: experiments.bench_journal:run
      hypothesis: a small SGD fit that logs three metric points per epoch
      techniques: [benchmark]
    epochs: {epochs}
    """
)


@dataclass
class Side:
    """One runner under test: its source tree and its temporary project."""

    name: str
    tree: Path
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    commands: dict[str, list[Command]] = field(default_factory=dict)  # short -> its commands


@dataclass(frozen=True)
class Command:
    """One timed ``shorts run`` command."""

    launched: float  # epoch seconds, just before the process was started
    wall: float  # seconds until it exited
    cpu: float  # CPU seconds of its whole process tree


# -- the journal's cost --------------------------------------------------------------------------


def make_worktree(parent: Path, ref: str) -> Path:
    tree = parent / ref
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref],
        check=True,
        capture_output=True,
    )
    return tree


def remove_worktree(tree: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
        check=False,
        capture_output=True,
    )


def make_side(name: str, tree: Path, epochs: int) -> Side:
    """A temporary project from ``tree``'s configs and shorts, whose ``import shorts`` is
    ``tree``'s package (a folder holding only a link to it goes on PYTHONPATH, so the project's
    own ``experiments`` is never shadowed by the tree's)."""
    root = Path(tempfile.mkdtemp(prefix=f"shorts-journal-{name}-"))
    shutil.copytree(tree / "configs", root / "configs")
    shutil.copytree(
        tree / "experiments", root / "experiments", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "experiments" / f"{HEAVY}.py").write_text(HEAVY_SHORT)
    (root / "configs" / "experiment" / f"{HEAVY}.yaml").write_text(HEAVY_YAML.format(epochs=epochs))
    package = root / "_package"
    package.mkdir()
    (package / "shorts").symlink_to(tree / "shorts", target_is_directory=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "SHORTS_ROOT", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(package)
    side = Side(name, tree, root, env)
    found = subprocess.run(
        [sys.executable, "-c", "import shorts; print(shorts.__file__)"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    resolved = Path(found).resolve()
    if not resolved.is_relative_to(tree.resolve()):
        sys.exit(f"{name}: import shorts found {resolved}, not the package of {tree}")
    print(f"  {name:<7} import shorts -> {resolved.parent}  (project {root})")
    return side


def run_command(side: Side, short: str) -> Command:
    """One whole ``shorts run`` command, timed from outside."""
    command = [sys.executable, "-m", "shorts", "run", f"+experiment={short}"]
    cpu_before = _children_cpu()
    launched, start = time.time(), time.perf_counter()
    done = subprocess.run(command, cwd=side.root, env=side.env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{side.name}: shorts run +experiment={short} failed:\n{done.stderr[-3000:]}")
    return Command(launched, took, _children_cpu() - cpu_before)


def _children_cpu() -> float:
    """CPU seconds of every waited-for descendant (CLI, guardian, worker)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def recorded_runs(side: Side, short: str) -> list[tuple[float, float]]:
    """(start time, ``shorts.wall_seconds``) of the short's runs in the side's store, oldest
    first, without the warm-up run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{side.root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(short)
    if experiment is None:
        return []
    runs = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time ASC"], max_results=1000
    )
    found = [(r.info.start_time / 1000, float(r.data.metrics["shorts.wall_seconds"])) for r in runs]
    return found[1:]


def phases(side: Side, short: str) -> dict[str, list[float]]:
    """Each command's wall split where the supervisor started the worker and where the short
    ended: before (interpreter, imports, Hydra, checks), the run itself, after (the record's
    last delivery, the summary, exit)."""
    commands = side.commands[short]
    runs = recorded_runs(side, short)
    if len(runs) != len(commands):
        sys.exit(f"{side.name}: {len(runs)} runs of {short} recorded for {len(commands)} commands")
    split: dict[str, list[float]] = {"before": [], "run": [], "after": []}
    for command, (started, wall) in zip(commands, runs, strict=True):
        split["before"].append(started - command.launched)
        split["run"].append(wall)
        split["after"].append(command.launched + command.wall - started - wall)
    return split


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def describe(values: list[float], unit: str = "s") -> str:
    q1, q3 = quartiles(values)
    return f"median {statistics.median(values):.3f}{unit} (IQR {q1:.3f}-{q3:.3f})"


def compare(label: str, with_: list[float], without: list[float], goal: str = "") -> None:
    """Each side's median and IQR, the ratio of medians, and the paired ratios' median and IQR."""
    pairs = [a / b for a, b in zip(with_, without, strict=True)]
    q1, q3 = quartiles(pairs)
    ratio = statistics.median(with_) / statistics.median(without)
    print(f"  {label}")
    for side, values in (("with journal   ", with_), (f"without ({WITHOUT_COMMIT})", without)):
        print(f"    {side} {describe(values)}  runs: {', '.join(f'{v:.2f}' for v in values)}")
    print(
        f"    ratio of medians {ratio:.3f}; paired ratios median {statistics.median(pairs):.3f}"
        f" (IQR {q1:.3f}-{q3:.3f}){goal}"
    )


def journal_cost(repeats: int, points: int, with_ref: str | None, keep: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="shorts-worktrees-"))
    sides: list[Side] = []
    trees: list[Path] = []
    try:
        trees.append(make_worktree(work, WITHOUT_COMMIT))
        if with_ref:
            trees.append(make_worktree(work, with_ref))
            with_tree, with_name = trees[-1], with_ref
        else:
            commit = _git("rev-parse", "--short", "HEAD")
            dirty = _git("status", "--porcelain", "--untracked-files=no", "--", "shorts")
            with_tree = REPO
            with_name = f"{REPO} at {commit}{' + uncommitted changes in shorts/' if dirty else ''}"
        epochs = max(1, points // 3)
        sides = [make_side("with", with_tree, epochs), make_side("without", trees[0], epochs)]
        print(
            f"  with = {with_name}; without = {WITHOUT_COMMIT}; {repeats} alternating repeats "
            f"per short; {HEAVY} logs {3 * epochs} metric points"
        )
        for side in sides:  # warm-up: the store's schema, experiments, bytecode, file cache
            for short in SHORTS:
                run_command(side, short)
        for _ in range(repeats):
            for short in SHORTS:
                for side in sides:
                    side.commands.setdefault(short, []).append(run_command(side, short))
        with_side, without_side = sides
        walls: dict[str, dict[str, float]] = {"with": {}, "without": {}}
        for short in SHORTS:
            print(f"{short}:")
            for side in sides:
                walls[side.name][short] = statistics.median(c.wall for c in side.commands[short])
            compare(
                "whole `shorts run` command, wall",
                [c.wall for c in with_side.commands[short]],
                [c.wall for c in without_side.commands[short]],
                "  (goal <= 1.02)",
            )
            compare(
                "whole command, CPU seconds (all its processes)",
                [c.cpu for c in with_side.commands[short]],
                [c.cpu for c in without_side.commands[short]],
            )
            split_with, split_without = phases(with_side, short), phases(without_side, short)
            for phase, label in (
                ("before", "from launch to the worker's start (imports, Hydra, checks)"),
                ("run", "the run's own shorts.wall_seconds"),
                ("after", "from the short's end to exit (last delivery, summary)"),
            ):
                compare(label, split_with[phase], split_without[phase])
        total_with, total_without = sum(walls["with"].values()), sum(walls["without"].values())
        print(
            f"both shorts, sum of median command walls: {total_with:.2f}s / {total_without:.2f}s"
            f" = {total_with / total_without:.3f}  (goal <= 1.02)"
        )
    finally:
        for tree in trees:
            remove_worktree(tree)
        shutil.rmtree(work, ignore_errors=True)
        for side in sides:
            if keep:
                print(f"project kept in {side.root}")
            else:
                shutil.rmtree(side.root, ignore_errors=True)


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return done.stdout.strip()


# -- the replay rate -----------------------------------------------------------------------------


def write_journal(folder: Path, uri: str, points: int) -> Path:
    """A pending journal as a supervisor leaves it: opened, ``points`` metric points, closed."""
    from shorts.tracking.journal import Journal

    start = time.time()
    evidence, artifacts = folder / "evidence", folder / "artifacts"
    evidence.mkdir(parents=True)
    artifacts.mkdir()
    (evidence / "observation.json").write_text(json.dumps({"outcome": "completed"}))
    journal = Journal.start(
        folder,
        {  # the fields RunRecorder.open writes
            "at": start,
            "uri": uri,
            "experiment": "bench_replay",
            "artifact_root": str(folder.parent / "mlartifacts"),
            "run_name": "bench_replay",
            "start": start,
            "params": {"model.alpha": "0.1", "cv.folds": "5", "dataset.name": "synthetic"},
            "tags": {"shorts.short": "bench_replay", "shorts.outcome": "running"},
            "parent_run_id": None,
            "parent_journal": None,
            "run_id": None,
        },
    )
    stamp, value = int(start * 1000), 1.0
    for step in range(points):  # four points per millisecond, as a fast loop logs them
        value = 1.0 / (1.0 + step)
        journal.append({"t": "metric", "k": REPLAY_KEY, "v": value, "s": step, "ts": stamp})
        if step % 4 == 3:
            stamp += 1
    end = time.time()
    journal.append(
        {  # the fields RunRecorder.close writes
            "t": "close",
            "at": end,
            "end": end,
            "outcome": "completed",
            "reason": "",
            "status": "FINISHED",
            "metrics": {"shorts.wall_seconds": end - start, REPLAY_KEY + "_final": value},
            "tags": {"shorts.outcome": "completed", "shorts.reason": ""},
            "artifacts": {"shorts": str(evidence), "": str(artifacts)},
        },
        durable=True,
    )
    journal.close()
    return journal.path


def check_store(uri: str, run_id: str, points: int) -> tuple[bool, str]:
    """One FINISHED run in the experiment, holding exactly ``points`` distinct points."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    runs = client.search_runs([run.info.experiment_id], max_results=100)
    history = client.get_metric_history(run_id, REPLAY_KEY)
    distinct = {(m.step, m.timestamp, m.value) for m in history}
    ok = (
        len(runs) == 1
        and run.info.status == "FINISHED"
        and len(history) == points
        and len(distinct) == points
    )
    text = (
        f"{len(runs)} run(s) in the experiment, status {run.info.status}, "
        f"{len(history)} points ({len(distinct)} distinct)"
    )
    return ok, text


def deliver(journal: Path) -> tuple[float, str | None]:
    """Seconds one ``Delivery(journal).run()`` took, and the run id if it closed the run."""
    from shorts.tracking.delivery import Delivery

    start = time.perf_counter()
    delivery = Delivery(journal)
    closed = delivery.run()
    return time.perf_counter() - start, delivery.state.run_id if closed else None


def replay(label: str, uri: str, folder: Path, points: int) -> bool:
    """Deliver a pending journal into a fresh store, check it, deliver it twice more and
    check again; then the rate once more with a second journal (the store warm)."""
    from shorts.tracking.delivery import Delivery, state_path
    from shorts.tracking.store import open_client

    open_client(uri)  # MLflow imported and the schema created before the clock starts
    journal = write_journal(folder / "run", uri, points)
    size = journal.stat().st_size
    seconds, run_id = deliver(journal)
    if run_id is None:
        print(f"  {label}: the journal was not wholly delivered")
        return False
    print(
        f"  {label}: {points:,} points ({size / 2**20:.1f} MiB of journal) delivered in "
        f"{seconds:.2f}s: {points / seconds:,.0f} points/s (a fresh store)"
    )
    ok, text = check_store(uri, run_id, points)
    print(f"    after the delivery:                 {text}: {'ok' if ok else 'WRONG'}")
    again = Delivery(journal)
    again.run()
    ok2, text = check_store(uri, run_id, points)
    same = again.state.run_id == run_id
    print(f"    delivered again:                    {text}: {'ok' if ok2 and same else 'WRONG'}")
    state_path(journal).unlink()
    start = time.perf_counter()
    scratch = Delivery(journal)
    scratch.run()
    seconds = time.perf_counter() - start
    ok3, text = check_store(uri, run_id, points)
    same3 = scratch.state.run_id == run_id
    print(
        f"    again from scratch (no state file): {text}, same run {same3}, "
        f"{seconds:.2f}s: {'ok' if ok3 and same3 else 'WRONG'}"
    )
    warm, warm_run = deliver(write_journal(folder / "second", uri, points))
    print(
        f"    a second journal, the store warm:   {points:,} points in {warm:.2f}s: "
        f"{points / warm:,.0f} points/s{'' if warm_run else ' (NOT wholly delivered)'}"
    )
    return ok and ok2 and same and ok3 and same3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real ``mlflow server`` on a fresh sqlite store; its process group is killed after."""
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    command = [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{folder / 'server.db'}"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"mlflow server did not start; see {folder / 'server.log'}")
            time.sleep(0.25)
        print(f"  mlflow server up in {time.perf_counter() - started:.1f}s at {uri}")
        yield uri
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def replay_rate(points: int, server: bool, keep: bool) -> None:
    # MLflow writes "View run ... at: URL" to stdout when a run on a server ends
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    folder = Path(tempfile.mkdtemp(prefix="shorts-replay-"))
    results: dict[str, Any] = {}
    try:
        store = folder / "embedded"
        store.mkdir()
        results["sqlite"] = replay(
            "embedded sqlite", f"sqlite:///{store / 'mlflow.db'}", store, points
        )
        if server:
            served = folder / "server"
            served.mkdir()
            with mlflow_server(served) as uri:
                results["server"] = replay("mlflow server", uri, served, points)
        verdicts = ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in results.items())
        print(f"  idempotence (one run, exactly {points:,} points, however often): {verdicts}")
    finally:
        if keep:
            print(f"replay folder kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per side")
    parser.add_argument("--points", type=int, default=3000, help=f"metric points {HEAVY} logs")
    parser.add_argument("--replay-points", type=int, default=10_000)
    parser.add_argument("--server", action="store_true", help="also replay into mlflow server")
    parser.add_argument(
        "--with-ref",
        help="measure this commit (a worktree of it) instead of the working tree as 'with'",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    print(
        f"journal's cost: {len(os.sched_getaffinity(0))} usable core(s), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    journal_cost(args.repeats, args.points, args.with_ref, args.keep)
    print(f"replay rate (load average {os.getloadavg()[0]:.1f}):")
    replay_rate(args.replay_points, args.server, args.keep)


if __name__ == "__main__":
    main()
