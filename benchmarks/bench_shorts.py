"""Shorts the benchmarks run: each misbehaves in the way a cap is meant to stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any


def stubborn_tree(cfg: Any, ctx: Any) -> dict[str, float]:
    """Ignores SIGTERM, and so does a setsid'd grandchild: only SIGKILL ends this tree."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(600)
    return {}


def grow(cfg: Any, ctx: Any) -> dict[str, float]:
    """Grows resident memory at cfg['rate'] MB/s in 5 MB steps until stopped."""
    rate = float(cfg.get("rate_mb_s", 200))
    step = 5_000_000
    held = []
    start = time.monotonic()
    while True:
        block = bytearray(step)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
        held.append(block)
        target = start + len(held) * step / (rate * 1e6)
        time.sleep(max(0.0, target - time.monotonic()))
