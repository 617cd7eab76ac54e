"""Outcomes: how a run ended, the MLflow status and exit status that follow from it."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a short's run ended, decided by the supervisor from what it observed."""

    COMPLETED = "completed"
    TIMEOUT = "timeout"
    MEMOUT = "memout"
    CRASHED = "crashed"
    INTERRUPTED = "interrupted"
    LOST = "lost"
    PRUNED = "pruned"  # the short stopped itself: a sweep's pruner judged it unpromising

    @property
    def mlflow_status(self) -> str:
        """FINISHED if completed or pruned (it stopped by design); FAILED if a cap or a crash
        stopped it; KILLED otherwise."""
        if self in (Outcome.COMPLETED, Outcome.PRUNED):
            return "FINISHED"
        if self in (Outcome.TIMEOUT, Outcome.MEMOUT, Outcome.CRASHED):
            return "FAILED"
        return "KILLED"

    @property
    def exit_status(self) -> int:
        """0 completed or pruned, 130 interrupted, 1 for every other recorded failure."""
        if self in (Outcome.COMPLETED, Outcome.PRUNED):
            return 0
        if self is Outcome.INTERRUPTED:
            return 130
        return 1


EXIT_USAGE = 2
