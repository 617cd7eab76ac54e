"""Ctrl-C, SIGTERM and SIGHUP to ``shorts``: one way to take them over while work runs.

A single run, a multirun and a sweep each decide what an interrupt means (stop the short, tell
the jobs, stop the trials), but they take the signals the same way: only on the main thread
(Python delivers signals there; a sweep's trials run on other threads and are interrupted by
their sweep), and always giving the previous handlers back.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Handler = Callable[[int, FrameType | None], None]


@contextmanager
def interrupts_to(handler: Handler) -> Iterator[None]:
    """Route the interrupt signals to ``handler`` inside the block (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
