"""The supervisor's side of the record: journal every fact at once, deliver it in the background.

A journal write costs a local file write; a background thread replays the journal into MLflow
every half second and retries with backoff while the store does not answer, so the short's caps,
speed and outcome never depend on the store. At the end the supervisor waits a bounded time; a
record that has not arrived stays pending (``shorts.tracking.pending``) for ``shorts sync``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts import record
from shorts.project import Project
from shorts.tracking.delivery import Delivery, complaint
from shorts.tracking.journal import JOURNAL_NAME, Journal
from shorts.tracking.pending import Registration

HEARTBEAT_SECONDS = 15.0
FLUSH_SECONDS = 0.5
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
# How long a finished run (or parent, or report) waits for the store before its record is left
# pending; tracking.deliver_wait in configs/shorts.yaml sets it for a short's run.
DELIVER_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class RunClosing:
    """What the recorder writes when the run ends."""

    outcome: str
    reason: str
    status: str
    metrics: dict[str, float]
    tags: dict[str, str]
    artifact_dirs: dict[str, Path]  # artifact path in the run -> local folder
    end_time: float


@dataclass(frozen=True)
class Recorded:
    """Where the record stands when the supervisor is done waiting for it."""

    journal: Path
    run_id: str | None  # None if the run could not even be created in MLflow yet
    experiment_id: str | None
    pending: bool  # the journal holds more than MLflow does
    error: str | None  # the store's last complaint, while pending

    @property
    def shown(self) -> str:
        """The run id, or where the record waits for the store: for messages and links."""
        return self.run_id if self.run_id and not self.pending else f"(pending in {self.journal})"


class RunRecorder:
    """Journals one run and delivers the journal to MLflow on a background thread.

    ``folder`` is the run's own folder (its journal is ``folder/journal.jsonl``),
    ``experiment_name`` the MLflow experiment (the short's name).
    """

    def __init__(self, project: Project, folder: Path, uri: str, experiment_name: str) -> None:
        self.project = project
        self.folder = folder
        self.uri = uri
        self.experiment_name = experiment_name
        self.error: BaseException | None = None
        self._journal: Journal | None = None
        # Events the short sends before the run is opened (while its estimators are checked),
        # journaled right after the opening.
        self._early: list[dict[str, Any]] = []
        self._early_lock = threading.Lock()
        self._delivery: Delivery | None = None
        self._registration: Registration | None = None
        self._wake = threading.Event()
        self._done = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="shorts-delivery", daemon=True)

    @property
    def run_id(self) -> str | None:
        return self._delivery.state.run_id if self._delivery else None

    @property
    def experiment_id(self) -> str | None:
        return self._delivery.state.experiment_id if self._delivery else None

    def open(
        self,
        run_name: str,
        params: dict[str, str],
        tags: dict[str, str],
        start_time: float,
        parent_run_id: str | None = None,
        parent_journal: Path | None = None,
        run_id: str | None = None,
    ) -> None:
        """Journal the run's opening and start delivering; returns at once.

        ``parent_journal`` names the parent by its journal when MLflow has no id for it yet;
        ``run_id`` reopens an existing run (a resumed sweep's parent) instead of creating one.
        """
        journal = Journal.start(
            self.folder,
            {
                "at": time.time(),
                "uri": self.uri,
                "experiment": self.experiment_name,
                "artifact_root": str(self.project.default_artifact_root),
                "run_name": run_name,
                "start": start_time,
                "params": params,
                "tags": {**tags, record.SUPERVISOR_HOST: socket.gethostname()},
                "parent_run_id": parent_run_id,
                "parent_journal": str(parent_journal) if parent_journal else None,
                "run_id": run_id,
            },
        )
        with self._early_lock:
            for event in self._early:
                journal.append(event)
            self._early.clear()
            self._journal = journal
        self._registration = Registration(self.project, journal.path, journal.id)
        self._delivery = Delivery(journal.path)
        self._thread.start()

    def wait_open(self, timeout: float) -> str | None:
        """The run id once MLflow has the run, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.run_id is None and time.monotonic() < deadline and not self._done.is_set():
            time.sleep(0.05)
        return self.run_id

    def metric(self, event: dict[str, Any]) -> None:
        """Journal one metric point from the short (``k``, ``v``, ``s``, ``ts``)."""
        self._append({"t": "metric", **event})

    def record(self, event: dict[str, Any]) -> None:
        """Journal a dataset declaration or a harvested component of the short."""
        if event.get("t") == "dataset":
            self._append({**event, "at": time.time()})
        elif event.get("t") == "harvest":
            summary = {k: event[k] for k in ("kind", "type", "path")}
            summary["evidence"] = event.get("evidence", {})
            tag = {record.HARVEST_PREFIX + str(event["name"]): json.dumps(summary)}
            self._append({"t": "tags", "at": time.time(), "tags": tag})

    def _append(self, event: dict[str, Any]) -> None:
        with self._early_lock:
            if self._journal is None:
                self._early.append(event)
                return
            journal = self._journal
        journal.append(event)

    def close(self, closing: RunClosing, wait: float = DELIVER_WAIT_SECONDS) -> Recorded:
        """Journal the outcome (durably), then wait up to ``wait`` seconds for MLflow to have
        the whole record. Never raises for the store: a record it did not take is pending."""
        assert self._journal is not None and self._delivery is not None
        self._journal.append(
            {
                "t": "close",
                "at": time.time(),
                "end": closing.end_time,
                "outcome": closing.outcome,
                "reason": closing.reason,
                "status": closing.status,
                "metrics": closing.metrics,
                "tags": closing.tags,
                "artifacts": {k: str(v) for k, v in closing.artifact_dirs.items()},
            },
            durable=True,
        )
        self._closing = True
        self._wake.set()
        self._done.wait(wait)
        done = self._delivery.state.closed
        return Recorded(
            journal=self._journal.path,
            run_id=self._delivery.state.run_id,
            experiment_id=self._delivery.state.experiment_id,
            pending=not done,
            error=None if done or self.error is None else complaint(self.error),
        )

    # -- on the delivery thread ----------------------------------------------------------------

    def _serve(self) -> None:
        """Deliver until the outcome is in MLflow; back off while the store does not answer.

        The thread holds the journal's registration: a process that ends before delivery
        finishes leaves it pending for ``shorts sync``.
        """
        assert self._delivery is not None and self._registration is not None
        backoff = RETRY_FIRST_SECONDS
        while True:
            try:
                if self._delivery.run():
                    break
                self._delivery.heartbeat(HEARTBEAT_SECONDS)
                self.error = None
                backoff = RETRY_FIRST_SECONDS
                pause = FLUSH_SECONDS
            except Exception as exc:  # the store is away or refuses: try again later
                self.error = exc
                pause, backoff = backoff, min(backoff * 2, RETRY_MAX_SECONDS)
                if self._closing:  # the supervisor is waiting: keep trying often
                    pause = min(pause, RETRY_FIRST_SECONDS * 2)
            self._wake.wait(pause)
            self._wake.clear()
        assert self._journal is not None
        self._journal.close()
        self._registration.release()
        self._done.set()


OPEN_WAIT_SECONDS = 30.0


class ParentRecord:
    """The record of a parent run (a multirun's or a sweep's), journaled like any run's.

    It has no worker: it opens, waits a bounded time for the run id its children will name,
    and closes with the counts of its children's outcomes.
    """

    def __init__(self, project: Project, folder: Path, uri: str, experiment: str) -> None:
        self.recorder = RunRecorder(project, folder, uri, experiment)
        self.started_at = time.time()

    @property
    def journal(self) -> Path:
        return self.recorder.folder / JOURNAL_NAME

    def open(
        self,
        run_name: str,
        tags: dict[str, str],
        params: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> str | None:
        """Journal the opening; the run id once MLflow has it (None: children name the
        parent by its journal, and delivery links them when the store answers)."""
        self.recorder.open(run_name, params or {}, tags, self.started_at, run_id=run_id)
        return self.recorder.wait_open(OPEN_WAIT_SECONDS)

    def close(
        self,
        status: str,
        metrics: dict[str, float],
        tags: dict[str, str],
        artifacts: dict[str, Path] | None = None,
    ) -> Recorded:
        """Journal the closing and wait a bounded time for MLflow to have it."""
        return self.recorder.close(
            RunClosing(
                outcome=status.lower(),
                reason="",
                status=status,
                metrics=metrics,
                tags=tags,
                artifact_dirs=artifacts or {},
                end_time=time.time(),
            )
        )
