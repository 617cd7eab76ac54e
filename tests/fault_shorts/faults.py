"""Fault-injection shorts: each misbehaves in one way the runner must classify and contain.

Each records the pids it creates in $SHORTS_TEST_PIDS so tests can check that nothing survives.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


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
