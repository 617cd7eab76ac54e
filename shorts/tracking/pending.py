"""Journals not yet wholly in MLflow, and who may deliver them: ``shorts sync`` and every command.

Each run's supervisor registers its journal under ``.shorts/pending`` and holds an exclusive
``flock`` on the registration for as long as it lives: the kernel drops the lock when the process
dies, however it dies, so a free lock is proof the supervisor is gone (no pid reuse to fool). A
journal is delivered by its own supervisor while it lives; afterwards, by whichever ``shorts``
command reaches the store first. A registration is removed once its outcome is in MLflow.

``lost`` is decided here and only here: a journal whose supervisor is gone and that holds no
outcome. A journal that holds its outcome is delivered as that outcome, however late.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shorts.project import Project
from shorts.tracking.delivery import Delivery, complaint
from shorts.tracking.journal import Journal, lost_closing, opening, outcome, read_journal

SETTLE_SECONDS = 10.0  # how long a command spends delivering others' journals before its work


def pending_folder(project: Project) -> Path:
    return project.state / "pending"


class Registration:
    """A live supervisor's claim on its journal (the lock is the claim)."""

    def __init__(self, project: Project, journal: Path, journal_id: str) -> None:
        folder = pending_folder(project)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{journal_id}.json"
        record = {
            "journal": str(journal.resolve()),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "registered_at": time.time(),
        }
        # Locked and written before it appears under its name (a rename keeps the inode and the
        # lock): a reader never finds a registration it could take for a dead one. Hence not
        # ``shorts.files.write_atomic``, which closes its file before the rename.
        draft = folder / f".{journal_id}.draft"
        self._handle: IO[str] = open(draft, "w")  # noqa: SIM115 - held while alive
        fcntl.flock(self._handle, fcntl.LOCK_EX)
        self._handle.write(json.dumps(record))
        self._handle.flush()
        os.replace(draft, self.path)

    def release(self) -> None:
        """Drop the claim and the registration, once the journal is wholly delivered."""
        self.path.unlink(missing_ok=True)
        self._handle.close()


@dataclass
class Settled:
    """What a pass over the pending journals did."""

    delivered: list[str] = field(default_factory=list)  # run ids now wholly in MLflow
    lost: list[str] = field(default_factory=list)  # run ids closed as lost
    waiting: list[tuple[Path, str]] = field(default_factory=list)  # journal, why still pending
    cut: list[tuple[Path, str]] = field(default_factory=list)  # journal, what was cut


def settle(project: Project, budget: float | None = SETTLE_SECONDS) -> Settled:
    """Deliver the journals whose supervisor is gone; close as ``lost`` those without an
    outcome. Costs a directory listing when nothing is pending; gives up after ``budget``
    seconds (None: no bound) and leaves the rest for the next command."""
    settled = Settled()
    folder = pending_folder(project)
    if not any(folder.glob("*.json")):
        return settled
    worker = threading.Thread(target=_settle_all, args=(folder, settled), daemon=True)
    worker.start()
    worker.join(budget)
    return settled


def _settle_all(folder: Path, settled: Settled) -> None:
    host = socket.gethostname()
    for path in sorted(folder.glob("*.json")):
        try:
            handle = open(path, "r+")  # noqa: SIM115 - closed below
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its supervisor lives and delivers it
            try:
                record = json.loads(handle.read() or "{}")
                journal = Path(record["journal"])
            except (ValueError, KeyError):  # its writer died registering: nothing to deliver
                path.unlink(missing_ok=True)
                continue
            if not journal.exists():  # its folder was deleted: nothing left to deliver
                path.unlink(missing_ok=True)
            elif record.get("host") in (None, host):  # another machine delivers its own
                _settle_one(path, journal, record, settled)


def _settle_one(path: Path, journal: Path, record: dict[str, object], settled: Settled) -> None:
    reading = read_journal(journal)
    if reading.cut:
        settled.cut.append((journal, "; ".join(reading.cut)))
    if opening(reading) is None:
        path.unlink(missing_ok=True)  # nothing of the run was written: nothing to deliver
        return
    lost = outcome(reading) is None
    if lost:
        why = (
            f"the supervisor (pid {record.get('pid')} on {record.get('host')}) died without "
            "writing the run's outcome; closed by a later shorts command"
        )
        with open(journal, "ab") as handle:  # a cut last line is ended first
            if reading.end < journal.stat().st_size:
                handle.write(b"\n")
        appender = Journal(journal)
        appender.append(lost_closing(reading, why), durable=True)
        appender.close()
    delivery = Delivery(journal)
    try:
        delivery.run()
    except Exception as exc:
        settled.waiting.append((journal, complaint(exc)))
        return
    (settled.lost if lost else settled.delivered).append(str(delivery.state.run_id))
    path.unlink(missing_ok=True)


def pending_journals(project: Project) -> list[Path]:
    """Every registered journal not yet wholly delivered, live or not."""
    found = []
    for path in sorted(pending_folder(project).glob("*.json")):
        try:
            found.append(Path(json.loads(path.read_text())["journal"]))
        except (OSError, ValueError, KeyError):
            continue
    return found
