"""How precisely the supervisor enforces caps.

Wall time: a tree that ignores SIGTERM (worker and a setsid'd grandchild) runs into a short wall
cap; the overshoot is when the whole tree was seen dead minus (deadline + grace). Goal: p95
<= 0.25 s. Memory: a short growing at 200 MB/s runs into a memory cap; the figure is the peak tree
RSS observed at the stop divided by the cap. Goal: <= 1.05.

Usage: python benchmarks/cap_precision.py [--runs 12]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from shorts.caps import Caps
from shorts.runner import Supervisor, WorkerSpec

HERE = Path(__file__).resolve().parent


def _project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="shorts-bench-"))
    (root / "experiments").mkdir()
    (root / "experiments" / "__init__.py").write_text("")
    shutil.copy(HERE / "bench_shorts.py", root / "experiments" / "bench_shorts.py")
    return root


def _run(root: Path, fn: str, caps: Caps, config: dict[str, object], i: int):  # type: ignore[no-untyped-def]
    spec = WorkerSpec(f"experiments.bench_shorts:{fn}", config, caps, root, root / f"{fn}-{i}")
    supervisor = Supervisor(spec)
    supervisor.start()
    observation = supervisor.wait()
    returned = time.monotonic()
    survivors = [
        p
        for p in psutil.process_iter(["cmdline", "status"])
        if p.info["status"] != psutil.STATUS_ZOMBIE
        and any("signal.SIG_IGN" in part for part in (p.info["cmdline"] or []))
    ]
    return observation, returned, survivors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    root = _project()

    overshoots = []
    leaks = 0
    wall_caps = Caps(wall_time=1.5, memory=2**30, cpus=1, grace=0.5)
    for i in range(args.runs):
        observation, _, survivors = _run(root, "stubborn_tree", wall_caps, {}, i)
        assert observation.outcome == "timeout", observation.reason
        assert observation.tree_dead_after_deadline is not None
        overshoots.append(max(0.0, observation.tree_dead_after_deadline))
        leaks += len(survivors)
    overshoots.sort()
    p95 = overshoots[min(len(overshoots) - 1, round(0.95 * (len(overshoots) - 1)))]
    print(f"wall-time cap: {args.runs} runs of a SIGTERM-ignoring tree (wall 1.5s, grace 0.5s)")
    print(
        f"  overshoot past deadline+grace: p50 {statistics.median(overshoots):.3f}s  "
        f"p95 {p95:.3f}s  max {max(overshoots):.3f}s  (goal p95 <= 0.25s)"
    )
    print(f"  processes of the tree alive after the run: {leaks}")

    ratios = []
    memory_cap = 600 * 2**20
    memory_caps = Caps(wall_time=60, memory=memory_cap, cpus=1, grace=1)
    for i in range(max(3, args.runs // 3)):
        observation, _, _ = _run(root, "grow", memory_caps, {"rate_mb_s": 200}, i)
        assert observation.outcome == "memout", observation.reason
        ratios.append(observation.peak_rss / memory_cap)
    print(f"memory cap: {len(ratios)} runs growing at 200 MB/s into a 600 MiB cap")
    print(
        f"  peak tree RSS / cap: median {statistics.median(ratios):.3f}  "
        f"max {max(ratios):.3f}  (goal <= 1.05)"
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
