"""The supervisor's side of MLflow: one run, opened as the worker starts, closed with its outcome.

All MLflow calls happen on one background thread. Importing MLflow and creating the run take about
a second, which this overlaps with the worker's own start-up instead of adding it to the run's
wall time; metric events from the short are queued and written in batches, so the supervisor's
cap-enforcing loop never waits on the database.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts.tracking.store import experiment_id, open_client

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

HEARTBEAT_SECONDS = 15.0
FLUSH_SECONDS = 0.5
DATASET_ATTEMPTS = 3  # see _log_dataset
HEARTBEAT_TAG = "shorts.heartbeat"


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


class RunRecorder:
    """Owns one MLflow run on a background thread.

    Args:
        uri: tracking URI.
        experiment_name: MLflow experiment (the short's name).
        artifact_root: folder for artifacts of experiments this recorder creates (sqlite stores).
    """

    def __init__(self, uri: str, experiment_name: str, artifact_root: Path) -> None:
        self.uri = uri
        self.experiment_name = experiment_name
        self.artifact_root = artifact_root
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self.error: BaseException | None = None
        self._client: MlflowClient | None = None
        self._tasks: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._metrics: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="shorts-tracking", daemon=True)

    def open(
        self,
        run_name: str,
        params: dict[str, str],
        tags: dict[str, str],
        start_time: float,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        """Start the thread and create the run there; returns at once."""
        self._thread.start()
        self._tasks.put(lambda: self._open(run_name, params, tags, start_time, on_open))

    def wait_open(self, timeout: float | None = None) -> str:
        """Block until the run exists; re-raise whatever stopped it from being created."""
        self._opened.wait(timeout)
        if self.error is not None:
            raise self.error
        if self.run_id is None:
            raise TimeoutError("the MLflow run was not created in time")
        return self.run_id

    def metric(self, event: dict[str, Any]) -> None:
        """Queue one metric event from the short (``k``, ``v``, ``s``, ``ts``)."""
        with self._lock:
            self._metrics.append(event)

    def record(self, event: dict[str, Any]) -> None:
        """Queue a dataset declaration or a harvested component of the short."""
        if event.get("t") == "dataset":
            self._tasks.put(lambda: self._log_dataset(event))
        elif event.get("t") == "harvest":
            self._tasks.put(lambda: self._tag_harvest(event))

    def close(self, closing: RunClosing) -> str:
        """Write the final record, set the status, stop the thread; returns the run id."""
        self._tasks.put(lambda: self._close(closing))
        self._tasks.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.run_id is not None
        return self.run_id

    # -- on the tracking thread ----------------------------------------------------------------

    def _serve(self) -> None:
        next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        while True:
            try:
                task = self._tasks.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                task = self._flush
            if task is None:
                return
            if self.error is not None:
                continue
            try:
                task()
                if self.run_id is not None and time.monotonic() >= next_heartbeat:
                    self._heartbeat()
                    next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
            except BaseException as exc:  # surfaced by wait_open()/close()
                self.error = exc
                self._opened.set()

    def _open(
        self,
        run_name: str,
        params: dict[str, str],
        tags: dict[str, str],
        start_time: float,
        on_open: Callable[[str], None] | None,
    ) -> None:
        from mlflow.entities import Param

        client = open_client(self.uri)
        self._client = client
        exp_id = experiment_id(client, self.experiment_name, self.uri, self.artifact_root)
        self.experiment_id = exp_id
        all_tags = {
            **tags,
            "shorts.supervisor.host": socket.gethostname(),
            HEARTBEAT_TAG: f"{time.time():.0f}",
        }
        run = client.create_run(
            exp_id, start_time=int(start_time * 1000), tags=all_tags, run_name=run_name
        )
        self.run_id = run.info.run_id
        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):
            client.log_batch(self.run_id, params=items[i : i + 100])
        if on_open is not None:
            on_open(self.run_id)
        self._opened.set()

    def _flush(self) -> None:
        from mlflow.entities import Metric

        if self._client is None or self.run_id is None:
            return
        with self._lock:
            pending, self._metrics = self._metrics, []
        batch = [
            Metric(str(e["k"]), float(e["v"]), int(e["ts"]), int(e.get("s") or 0)) for e in pending
        ]
        for i in range(0, len(batch), 1000):
            self._client.log_batch(self.run_id, metrics=batch[i : i + 1000])

    def _log_dataset(self, event: dict[str, Any]) -> None:
        import json

        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.exceptions import MlflowException

        assert self._client is not None and self.run_id is not None
        schema = {"mlflow_colspec": [{"name": k, "type": v} for k, v in event["schema"].items()]}
        profile = {"num_rows": event["rows"], "num_features": event["features"]}
        dataset = Dataset(
            name=str(event["name"]),
            digest=str(event["digest"])[:36],
            source_type="shorts",
            source=json.dumps({"source": event["source"]}),
            schema=json.dumps(schema),
            profile=json.dumps(profile),
        )
        tags = [InputTag("mlflow.data.context", "training"), InputTag("target", event["target"])]
        # MLflow looks the dataset up, then inserts it: two runs of one experiment logging the
        # same data set at once race for its primary key on a server's database ("dataset_pk").
        # The loser's retry finds the winner's row and only links it.
        for attempt in range(DATASET_ATTEMPTS):
            try:
                self._client.log_inputs(self.run_id, datasets=[DatasetInput(dataset, tags)])
                return
            except MlflowException:
                if attempt == DATASET_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _tag_harvest(self, event: dict[str, Any]) -> None:
        import json

        assert self._client is not None and self.run_id is not None
        summary = {k: event[k] for k in ("kind", "type", "path")}
        summary["evidence"] = event.get("evidence", {})
        self._client.set_tag(
            self.run_id, f"shorts.harvest.{event['name']}", json.dumps(summary)[:8000]
        )

    def _heartbeat(self) -> None:
        assert self._client is not None and self.run_id is not None
        self._client.set_tag(self.run_id, HEARTBEAT_TAG, f"{time.time():.0f}")

    def _close(self, closing: RunClosing) -> None:
        from mlflow.entities import Metric, RunTag

        self._flush()
        client, run_id = self._client, self.run_id
        assert client is not None and run_id is not None
        now_ms = int(closing.end_time * 1000)
        metrics = [Metric(k, float(v), now_ms, 0) for k, v in closing.metrics.items()]
        tags = [RunTag(k, v) for k, v in closing.tags.items()]
        client.log_batch(run_id, metrics=metrics, tags=tags)
        for artifact_path, folder in closing.artifact_dirs.items():
            if folder.is_dir() and any(folder.iterdir()):
                client.log_artifacts(run_id, str(folder), artifact_path or None)
        client.set_terminated(run_id, status=closing.status, end_time=now_ms)
