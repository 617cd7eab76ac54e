"""Outcomes: how a run ended, their families, and the MLflow status and exit status of each.

The families are defined once, here, for every writer and reader of the record
(``shorts.record``): which outcomes a cap caused, which failed, which stopped by design.
"""

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
        if self in BY_DESIGN:
            return "FINISHED"
        if self in FAILED:
            return "FAILED"
        return "KILLED"

    @property
    def exit_status(self) -> int:
        """0 completed or pruned, 130 interrupted, 1 for every other recorded failure."""
        if self in BY_DESIGN:
            return 0
        if self is Outcome.INTERRUPTED:
            return 130
        return 1


# The families. Every outcome is in exactly one of BY_DESIGN, FAILED and CUT_OFF.
CAPPED = frozenset({Outcome.TIMEOUT, Outcome.MEMOUT})
"""A cap stopped it: the wall-time cap (timeout) or the memory cap (memout)."""
FAILED = frozenset({*CAPPED, Outcome.CRASHED})
"""A cap or the short itself stopped it: MLflow status FAILED."""
CUT_OFF = frozenset({Outcome.INTERRUPTED, Outcome.LOST})
"""Stopped from outside, by a user or by losing its supervisor: MLflow status KILLED."""
BY_DESIGN = frozenset({Outcome.COMPLETED, Outcome.PRUNED})
"""It stopped as designed (a pruned trial stopped itself): MLflow status FINISHED, exit 0."""
NO_RESULT = FAILED | CUT_OFF
"""The short produced no usable result: a failure whatever the verdict (retrospectives)."""
TERMINAL = BY_DESIGN | FAILED | CUT_OFF
"""Every outcome: a run with one has ended (``shorts.record.RUNNING`` until then)."""
ENDED_STATUSES = ("FINISHED", "FAILED", "KILLED")
"""MLflow statuses of an ended run (RUNNING and SCHEDULED are not)."""
OF_MLFLOW_STATUS = {
    "FINISHED": Outcome.COMPLETED,
    "FAILED": Outcome.CRASHED,
    "KILLED": Outcome.INTERRUPTED,
}
"""The outcome a run without ``shorts.outcome`` (another tool's) is counted as, by its status."""

EXIT_USAGE = 2
