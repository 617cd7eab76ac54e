"""A run's record written locally first: an append-only journal that MLflow is fed from.

Every fact of a run is one JSON line appended to ``journal.jsonl`` in the run's folder as it
happens; ``shorts.tracking.delivery`` replays it into MLflow as often as it takes, so a store
that stops answering delays the record and never loses it. A writer killed mid-line leaves a
partial last line: reading keeps every whole line before it and says what was cut.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shorts import record
from shorts.outcome import Outcome

JOURNAL_NAME = "journal.jsonl"


class Journal:
    """Appends a run's events to its journal file; safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.id = ""  # set by ``start``: the run's identity across deliveries
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # noqa: SIM115 - held open for the run's life
        self._lock = threading.Lock()

    @classmethod
    def start(cls, folder: Path, opening: dict[str, Any]) -> Journal:
        """A new journal in ``folder`` whose first event opens the run (given a fresh id)."""
        journal = cls(folder / JOURNAL_NAME)
        journal.id = uuid.uuid4().hex
        journal.append({"t": "open", "id": journal.id, **opening}, durable=True)
        return journal

    def append(self, event: dict[str, Any], durable: bool = False) -> None:
        """Write one event as a line; ``durable`` also waits for the disk (open and outcome)."""
        line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        with self._lock:
            self._file.write(line)
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass
class Reading:
    """The whole events of a journal from some byte offset, and what could not be read."""

    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (end offset, event)
    cut: list[str] = field(default_factory=list)  # what was cut or unreadable, in words
    end: int = 0  # byte offset just past the last whole line


def read_journal(path: Path, offset: int = 0) -> Reading:
    """The whole lines of ``path`` after ``offset``; a partial last line is left for its writer
    to finish (or, if the writer is gone, reported by ``cut``)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    reading = Reading(end=offset)
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            reading.cut.append(f"a partial last line of {len(raw)} bytes at byte {reading.end}")
            break
        reading.end += len(raw)
        try:
            event = json.loads(raw)
        except ValueError:
            reading.cut.append(
                f"an unreadable line of {len(raw)} bytes at byte {reading.end - len(raw)}"
            )
            continue
        if isinstance(event, dict) and "t" in event:
            reading.events.append((reading.end, event))
    return reading


def opening(reading: Reading) -> dict[str, Any] | None:
    """The event that opened the run, if the journal got that far."""
    return next((e for _, e in reading.events if e["t"] == "open"), None)


def outcome(reading: Reading) -> dict[str, Any] | None:
    """The event that closed the run with its outcome, if there is one."""
    return next((e for _, e in reading.events if e["t"] == "close"), None)


def lost_closing(reading: Reading, why: str) -> dict[str, Any]:
    """The closing event of a run whose supervisor died before writing one: outcome ``lost``,
    ended at its last recorded event (the best evidence of when it died)."""
    last = max(
        [float(e.get("at", 0)) for _, e in reading.events]
        + [float(e["ts"]) / 1000 for _, e in reading.events if e["t"] == "metric"]
        + [float((opening(reading) or {}).get("start", time.time()))]
    )
    return {
        "t": "close",
        "at": last,
        "end": last,
        "outcome": Outcome.LOST.value,
        "status": Outcome.LOST.mlflow_status,
        "reason": why,
        "metrics": {},
        "tags": {record.OUTCOME: Outcome.LOST.value, record.REASON: why},
        "artifacts": {},
    }
