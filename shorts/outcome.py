"""Outcomes: how a run ended, their families, the MLflow status and exit status of each, and
the ``RunResult`` a run hands back to whoever launched it (a command, a multirun job, a trial).

Everything said about an outcome is said once, here (``DESCRIPTIONS``), so a new outcome (a new
cap's) is one member and one description. The record's names live in ``shorts.record``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Outcome(StrEnum):
    """How a short's run ended, decided by the supervisor from what it observed."""

    COMPLETED = "completed"
    TIMEOUT = "timeout"
    MEMOUT = "memout"
    CPUTIME = "cputime"
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

    @property
    def description(self) -> Description:
        return DESCRIPTIONS[self]


@dataclass(frozen=True)
class Description:
    """What is said about one outcome, wherever it is shown."""

    family: str  # one of FAMILIES
    style: str  # rich style of the outcome in the terminal
    colour: str  # its colour in reports (a team's theme.json may override it)
    phrase: str  # what the run did, after "the run": "timed out"
    glossary: str  # the outcome explained in a sentence


FAMILIES = ("by design", "capped", "crashed", "cut off")
DESCRIPTIONS = {
    Outcome.COMPLETED: Description(
        "by design", "bold green", "#90a4ae", "completed", "The short returned its metrics."
    ),
    Outcome.PRUNED: Description(
        "by design",
        "bold green",
        "#b0bec5",
        "was pruned",
        "A sweep's pruner judged the trial unpromising and the short stopped itself.",
    ),
    Outcome.TIMEOUT: Description(
        "capped",
        "bold yellow",
        "#ef8a17",
        "timed out",
        "The wall-time cap stopped it: SIGTERM at the cap, SIGKILL after the grace period.",
    ),
    Outcome.MEMOUT: Description(
        "capped",
        "bold magenta",
        "#7b3fa0",
        "ran out of memory",
        "The memory cap stopped it: the resident memory of its process tree crossed the cap "
        "and the tree was killed at once.",
    ),
    Outcome.CPUTIME: Description(
        "capped",
        "bold dark_orange3",
        "#c75b12",
        "ran out of CPU time",
        "The CPU-time cap stopped it: the CPU seconds of its whole process tree (user + system, "
        "as BenchExec's cputime) crossed the cap; SIGTERM, then SIGKILL after the grace period.",
    ),
    Outcome.CRASHED: Description(
        "crashed",
        "bold red",
        "#b71c1c",
        "crashed",
        "The short raised, exited without a result, or was killed by a signal from outside.",
    ),
    Outcome.INTERRUPTED: Description(
        "cut off", "bold cyan", "#00838f", "was interrupted", "A user interrupted the run."
    ),
    Outcome.LOST: Description(
        "cut off",
        "bold red",
        "#455a64",
        "was lost",
        "Its supervisor went away before recording the end: the run was repaired as lost.",
    ),
}


def _family(name: str) -> frozenset[Outcome]:
    return frozenset(o for o, d in DESCRIPTIONS.items() if d.family == name)


# The families. Every outcome is in exactly one of BY_DESIGN, FAILED and CUT_OFF.
CAPPED = _family("capped")
"""A cap stopped it: the wall-time cap (timeout), the memory cap (memout), the CPU-time cap."""
FAILED = CAPPED | _family("crashed")
"""A cap or the short itself stopped it: MLflow status FAILED."""
CUT_OFF = _family("cut off")
"""Stopped from outside, by a user or by losing its supervisor: MLflow status KILLED."""
BY_DESIGN = _family("by design")
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


@dataclass(frozen=True)
class RunResult:
    """How a run ended, as recorded."""

    outcome: Outcome
    reason: str
    run_id: str | None  # None while the record waits for the store to create the run
    metrics: dict[str, float]
    verdict: str | None
    wall_seconds: float
    pending: Path | None = None  # the journal, while MLflow does not hold the whole record
