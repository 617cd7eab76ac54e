"""Fault-injection shorts: each misbehaves in one way the runner must classify and contain.

Each records the pids it creates in $SHORTS_TEST_PIDS so tests can check that nothing survives.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shorts.caps.units import parse_size

MB = 10**6

FLOOD_HEAD = b"FLOOD-START\n"
FLOOD_TAIL = b"FLOOD-END\n"
FLOOD_BYTES = 30 * MB

# A child that holds ``argv[1]`` bytes of touched memory, says so, then sleeps.
_HOLD_MEMORY = (
    "import sys, time\n"
    "block = b'\\x01' * int(sys.argv[1])\n"
    "sys.stdout.write('holding\\n'); sys.stdout.flush()\n"
    "time.sleep(300)\n"
)

# A child that starts a ``setsid`` sleeper, prints its pid and exits: a daemonised grandchild.
_DAEMONIZE = (
    "import subprocess\n"
    "p = subprocess.Popen(['sleep', '300'], start_new_session=True,\n"
    "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(p.pid)\n"
)


def _record(*pids: int) -> None:
    folder = os.environ.get("SHORTS_TEST_PIDS")
    if folder:
        with open(Path(folder) / f"{os.getpid()}.pid", "a") as handle:
            handle.write("".join(f"{p}\n" for p in pids))


def quick(cfg: Any, ctx: Any) -> dict[str, float]:
    """Completes at once with one metric."""
    _record(os.getpid())
    ctx.log_metric("progress", 1.0, step=0)
    return {"score": 0.5}


def sleep_past_cap(cfg: Any, ctx: Any) -> dict[str, float]:
    """Sleeps far beyond any test cap."""
    _record(os.getpid())
    time.sleep(3600)
    return {"score": 1.0}


def sleep_then_clean_up(cfg: Any, ctx: Any) -> dict[str, float]:
    """Sleeps past the cap; on SIGTERM its ``finally`` block saves a file and logs a metric."""
    _record(os.getpid())
    try:
        time.sleep(3600)
    finally:
        time.sleep(0.2)  # e.g. writing a checkpoint
        ctx.artifact_path("cleanup.txt").write_text("cleaned up\n")
        ctx.log_metric("cleaned_up", 1.0)
    return {"score": 1.0}


def ignore_sigterm(cfg: Any, ctx: Any) -> dict[str, float]:
    """Ignores SIGTERM, then sleeps past the cap: only SIGKILL stops it."""
    _record(os.getpid())
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(3600)
    return {"score": 1.0}


def grow_memory(cfg: Any, ctx: Any) -> dict[str, float]:
    """Grows its own resident memory by ~200 MB/s in 20 MB steps of touched pages, forever."""
    _record(os.getpid())
    held = []
    while True:
        held.append(b"\x01" * (20 * MB))
        ctx.log_metric("held_mb", 20.0 * len(held), step=len(held))
        time.sleep(0.1)


def burn_cpu(cfg: Any, ctx: Any) -> dict[str, float]:
    """Spins on the CPU forever: it cannot finish, only a cap stops it."""
    _record(os.getpid())
    n = 0
    while True:
        n += 1


def burn_cpu_in_child(cfg: Any, ctx: Any) -> dict[str, float]:
    """A child spins on the CPU forever while the worker itself sleeps: the CPU time is the
    tree's, not the worker's."""
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    _record(os.getpid(), child.pid)
    time.sleep(3600)
    return {"score": 1.0}


def children_memory(cfg: Any, ctx: Any) -> dict[str, float]:
    """Three children each hold ~280 MB: each is under a ~700 MiB cap alone, the sum is over."""
    _record(os.getpid())
    children = []
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", _HOLD_MEMORY, str(280 * MB)], stdout=subprocess.PIPE
        )
        _record(child.pid)
        children.append(child)
    for child in children:
        assert child.stdout is not None
        child.stdout.readline()
    time.sleep(3600)
    return {"score": 1.0}


def _spawn_leftovers() -> None:
    """A plain ``sleep`` child and a daemonised (``setsid``, orphaned) ``sleep`` grandchild."""
    plain = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _record(plain.pid)
    done = subprocess.run(
        [sys.executable, "-c", _DAEMONIZE], capture_output=True, text=True, check=True
    )
    _record(int(done.stdout.strip()))


def leave_grandchild(cfg: Any, ctx: Any) -> dict[str, float]:
    """Leaves a plain child and a ``setsid`` grandchild running, then returns normally."""
    _record(os.getpid())
    _spawn_leftovers()
    return {"score": 1.0}


def sleep_with_children(cfg: Any, ctx: Any) -> dict[str, float]:
    """Starts a plain child and a ``setsid`` grandchild, then sleeps past any cap."""
    _record(os.getpid())
    _spawn_leftovers()
    time.sleep(3600)
    return {"score": 1.0}


def segfault(cfg: Any, ctx: Any) -> dict[str, float]:
    """Reads address 0: the worker dies of SIGSEGV."""
    _record(os.getpid())
    ctypes.string_at(0)
    return {"score": 1.0}


def exit_without_result(cfg: Any, ctx: Any) -> dict[str, float]:
    """Leaves with ``os._exit(0)`` before returning anything."""
    _record(os.getpid())
    os._exit(0)


def raise_error(cfg: Any, ctx: Any) -> dict[str, float]:
    """Raises an exception after logging one metric."""
    _record(os.getpid())
    ctx.log_metric("progress", 0.5, step=0)
    raise ValueError("fault injected: the data has no rows")


def flood_stdout(cfg: Any, ctx: Any) -> dict[str, float]:
    """Writes 30 MB to stdout as fast as it can, then returns."""
    _record(os.getpid())
    out = sys.stdout.buffer
    out.write(FLOOD_HEAD)
    line = b"flood " + b"x" * 57 + b"\n"  # 64 bytes
    block = line * (MB // len(line))
    written = 0
    while written + len(block) <= FLOOD_BYTES:
        out.write(block)
        written += len(block)
    out.write(FLOOD_TAIL)
    out.flush()
    return {"score": 1.0}


def log_then_timeout(cfg: Any, ctx: Any) -> dict[str, float]:
    """Logs a metric every 50 ms and never stops on its own."""
    _record(os.getpid())
    step = 0
    while True:
        ctx.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
        time.sleep(0.05)


def return_nan(cfg: Any, ctx: Any) -> dict[str, float]:
    """Returns NaN as its score."""
    _record(os.getpid())
    return {"score": float("nan"), "other": 1.0}


def hold_memory(cfg: Any, ctx: Any) -> dict[str, float]:
    """Holds ``cfg.short_params.mib`` MiB of touched memory for a moment, then completes.

    Grown in 16 MiB steps and held for half a second, so the supervisor's memory samples see the
    peak. When the memory alone is over ``caps.memory`` it holds on until the supervisor stops it:
    a memout must not depend on the supervisor being scheduled within half a second.
    """
    _record(os.getpid())
    target = int(cfg.short_params.mib) * 2**20
    step = 16 * 2**20
    held = [b"\x01" * min(step, target - done) for done in range(0, target, step)]
    cap = cfg.get("caps", {}).get("memory")
    over_cap = cap is not None and target > parse_size(cap)
    time.sleep(300 if over_cap else 0.5)
    return {"held_mib": sum(len(block) for block in held) / 2**20}


def log_until_released(cfg: Any, ctx: Any) -> dict[str, float]:
    """Logs a metric point every 50 ms until the file ``cfg.short_params.release`` exists, then
    completes with the number of points: a short whose length the test decides, not the clock."""
    _record(os.getpid())
    release = Path(str(cfg.short_params.release))
    step = 0
    while not release.exists():
        ctx.log_metric("tick", float(step), step=step)
        step += 1
        time.sleep(0.05)
    return {"points": float(step)}
