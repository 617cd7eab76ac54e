"""Replaying a run's journal into MLflow: from where it last stopped, safe to repeat.

Delivery is at least once and MLflow makes the repeats harmless: the run is found again by its
journal id (a tag set when it is created), params and tags are rewritten with the same values,
and a metric point written twice with the same key, step, time and value is stored once. What
was delivered is kept beside the journal (``journal.delivered.json``: the run id and the byte
offset reached), so a second replay starts where the first stopped and a run created before an
outage keeps its id.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts import record
from shorts.files import write_atomic
from shorts.tracking.journal import opening, read_journal
from shorts.tracking.store import experiment_id, import_mlflow, open_client

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

METRICS_PER_BATCH = 1000  # MLflow's own limit per log_batch
PARAMS_PER_BATCH = 100
DATASET_ATTEMPTS = 3  # see _log_dataset


@dataclass
class Delivered:
    """How far a journal has reached MLflow."""

    run_id: str | None = None
    experiment_id: str | None = None
    offset: int = 0  # bytes of the journal delivered
    closed: bool = False  # the outcome is in MLflow: nothing is pending


def state_path(journal: Path) -> Path:
    return journal.with_suffix(".delivered.json")


def delivered(journal: Path) -> Delivered:
    """What has been delivered of ``journal`` (nothing, if it never reached the store)."""
    try:
        return Delivered(**json.loads(state_path(journal).read_text()))
    except (OSError, ValueError, TypeError):
        return Delivered()


class Delivery:
    """Feeds one journal to MLflow; each ``run()`` delivers what was not delivered yet."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.state = delivered(journal)
        self._client: MlflowClient | None = None
        self._last_heartbeat = 0.0

    def run(self) -> bool:
        """Deliver every whole event not delivered yet; True once the outcome is in MLflow.

        Raises whatever the store raises (unreachable, locked): the caller retries later, and
        nothing delivered so far is sent again except the batch that was in flight.
        """
        if self.state.closed:
            return True
        import_mlflow()
        events = read_journal(self.journal, self.state.offset).events
        # Metric points go in batches of consecutive points; every other event alone.
        for metrics, run in itertools.groupby(events, lambda item: item[1]["t"] == "metric"):
            items = list(run)
            size = METRICS_PER_BATCH if metrics else 1
            for batch in (items[i : i + size] for i in range(0, len(items), size)):
                if metrics:
                    self._metrics([event for _, event in batch])
                else:
                    self._apply(batch[0][1])
                self.state.offset = batch[-1][0]
                self._save()
        return self.state.closed

    def heartbeat(self, every: float) -> None:
        """Tell other machines' ``shorts repair`` the supervisor is alive (not journaled)."""
        now = time.time()
        if self.state.run_id is None or self.state.closed or now - self._last_heartbeat < every:
            return
        self._client_for().set_tag(self.state.run_id, record.HEARTBEAT, f"{now:.0f}")
        self._last_heartbeat = now

    # -- one event at a time -------------------------------------------------------------------

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["t"]
        if kind == "open":
            self._open(event)
        elif kind == "tags":
            self._client_for().log_batch(self._run_id(), tags=_run_tags(event["tags"]))
        elif kind == "dataset":
            self._log_dataset(event)
        elif kind == "close":
            self._close(event)
        # unknown kinds come from a newer shorts: skipped, never fatal

    def _client_for(self, event: dict[str, Any] | None = None) -> MlflowClient:
        if self._client is None:
            event = event or opening(read_journal(self.journal))
            assert event is not None, f"{self.journal} holds no opening"
            # urllib3 logs every retry of a store that is away; the journal keeps the record
            # and the supervisor says once that it is pending.
            logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
            self._client = open_client(str(event["uri"]))
        return self._client

    def _run_id(self) -> str:
        if self.state.run_id is None:
            raise RuntimeError(f"{self.journal} holds events before its run was opened")
        return self.state.run_id

    def _open(self, event: dict[str, Any]) -> None:
        from mlflow.entities import Param

        client = self._client_for(event)
        uri = str(event["uri"])
        exp = experiment_id(client, event["experiment"], uri, Path(event["artifact_root"]))
        run_id = self.state.run_id or event.get("run_id") or self._find(client, exp, event["id"])
        if event.get("run_id") and not self.state.run_id:  # a resumed parent, reopened
            client.update_run(event["run_id"], status="RUNNING")
            client.log_batch(event["run_id"], tags=_run_tags(event["tags"]))
        if run_id is None:
            tags = {
                **event["tags"],
                record.JOURNAL: event["id"],
                record.HEARTBEAT: f"{time.time():.0f}",
            }
            parent = event.get("parent_run_id")
            if not parent and event.get("parent_journal"):
                parent = delivered(Path(event["parent_journal"])).run_id
                if parent is None:
                    raise LookupError("the parent run is not in MLflow yet; its child waits")
            if parent:
                tags[record.PARENT_RUN] = parent
            run = client.create_run(
                exp,
                start_time=int(float(event["start"]) * 1000),
                tags={k: str(v)[: record.TAG_CHARS] for k, v in tags.items()},
                run_name=event.get("run_name"),
            )
            run_id = run.info.run_id
        self.state.run_id, self.state.experiment_id = run_id, exp
        self._save()  # before the params: a replay finds this run, never a second one
        items = [Param(k, str(v)[:6000]) for k, v in event.get("params", {}).items()]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            client.log_batch(run_id, params=items[i : i + PARAMS_PER_BATCH])

    @staticmethod
    def _find(client: MlflowClient, exp: str, journal_id: str) -> str | None:
        """The run an earlier delivery created for this journal but did not get to note."""
        found = client.search_runs(
            [exp], f"tags.`{record.JOURNAL}` = '{journal_id}'", max_results=1
        )
        return str(found[0].info.run_id) if found else None

    def _metrics(self, events: list[dict[str, Any]]) -> None:
        from mlflow.entities import Metric

        batch = [
            Metric(str(e["k"]), float(e["v"]), int(e["ts"]), int(e.get("s") or 0)) for e in events
        ]
        self._client_for().log_batch(self._run_id(), metrics=batch)

    def _log_dataset(self, event: dict[str, Any]) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.exceptions import MlflowException

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
                self._client_for().log_inputs(
                    self._run_id(), datasets=[DatasetInput(dataset, tags)]
                )
                return
            except MlflowException:
                if attempt == DATASET_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _close(self, event: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        client, run_id = self._client_for(), self._run_id()
        end_ms = int(float(event["end"]) * 1000)
        metrics = [Metric(k, float(v), end_ms, 0) for k, v in event.get("metrics", {}).items()]
        client.log_batch(run_id, metrics=metrics, tags=_run_tags(event.get("tags", {})))
        for artifact_path, folder in event.get("artifacts", {}).items():
            local = Path(folder)
            if local.is_dir() and any(local.iterdir()):
                client.log_artifacts(run_id, str(local), artifact_path or None)
        client.set_terminated(run_id, status=event["status"], end_time=end_ms)
        self.state.closed = True

    def _save(self) -> None:
        write_atomic(state_path(self.journal), json.dumps(self.state.__dict__))


def _run_tags(tags: dict[str, Any]) -> list[Any]:
    """MLflow tags, each value cut to what a tag holds: the one place a tag is truncated."""
    from mlflow.entities import RunTag

    return [RunTag(k, str(v)[: record.TAG_CHARS]) for k, v in tags.items()]


def complaint(exc: BaseException) -> str:
    """The store's complaint in a few words: MLflow's own messages run to a paragraph."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if "Max retries exceeded" in first or "Connection refused" in first:
        first = "connection refused"
    return f"{type(exc).__name__}: {first[:120]}".rstrip(": ")
