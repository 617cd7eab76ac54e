"""A tracking store that goes away never stops a short nor loses its record.

Real parts only: a real ``mlflow server`` stopped and restarted around a real ``shorts run``, the
embedded sqlite store held locked by another process past MLflow's busy timeout, a supervisor
SIGKILLed. The short here (``log_until_released`` in tests/fault_shorts) logs a metric point every
50 ms until the test creates its release file, so the outage happens while it works and the test,
not the clock, decides when it ends.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ShortsProject, free_port, wait_until

SHORT = "fault_log"
# MLflow's client retries for about four minutes by default; two retries make a short outage
# outlast them, which is the case the journal exists for.
FEW_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


class Server:
    """A real ``mlflow server`` on loopback over a sqlite store, stoppable and restartable."""

    def __init__(self, store: Path, port: int, log: Path) -> None:
        self.uri = f"http://127.0.0.1:{port}"
        self.store, self.port, self.log = store, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        mlflow = Path(sys.executable).parent / "mlflow"
        self.proc = subprocess.Popen(
            [
                str(mlflow),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.store}",
                "--default-artifact-root",
                str(self.store.parent / "server-artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=open(self.log, "ab"),  # noqa: SIM115 - the child holds it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert wait_until(self.answers, timeout=120), self.log.read_text()[-3000:]

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None
        assert wait_until(lambda: not self.answers(), timeout=30)

    def client(self):  # type: ignore[no-untyped-def]
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server.db", free_port(), tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


def add_logging_short(project: ShortsProject, release: Path) -> None:
    project.add_short(
        SHORT,
        "log_until_released",
        caps={"wall_time": "5m"},
        extra=f"short_params:\n  release: {release}\n",
    )


def journal_of(project: ShortsProject) -> Path:
    found = list((project.root / ".shorts" / "outputs").rglob("journal.jsonl"))
    assert len(found) == 1, found
    return found[0]


def journal_metric_points(journal: Path) -> int:
    return sum(1 for line in journal.read_text().splitlines() if '"t":"metric"' in line)


def delivered_run_id(journal: Path) -> str | None:
    try:
        return json.loads(journal.with_suffix(".delivered.json").read_text())["run_id"]
    except (OSError, ValueError, KeyError):
        return None


def only_run(client, experiment: str):  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def test_a_server_away_mid_run_neither_stops_nor_slows_the_short_and_loses_nothing(
    project: ShortsProject, server: Server, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    add_logging_short(project, release)
    proc = project.start(
        "run",
        f"+experiment={SHORT}",
        "tracking.deliver_wait=3m",
        MLFLOW_TRACKING_URI=server.uri,
        **FEW_RETRIES,
    )
    try:
        assert wait_until(
            lambda: any((project.root / ".shorts").rglob("journal.delivered.json")), timeout=120
        ), "the run never reached the server"
        journal = journal_of(project)
        run_id = delivered_run_id(journal)
        assert run_id is not None

        server.stop()
        during = journal_metric_points(journal)
        # The short goes on through the outage: its points keep reaching the journal.
        assert wait_until(lambda: journal_metric_points(journal) >= during + 40, timeout=60)
        assert proc.poll() is None, "the outage stopped the short"
        server.start()
        release.touch()
        _, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 0, stderr[-3000:]
    assert "pending" not in stderr, "the server came back within deliver_wait"
    assert "completed" in stderr
    run = only_run(server.client(), SHORT)
    assert run.info.run_id == run_id, "the run created before the outage keeps its id"
    assert run.info.status == "FINISHED"
    assert run.data.tags["shorts.outcome"] == "completed"
    history = server.client().get_metric_history(run_id, "tick")
    points = journal_metric_points(journal)
    assert len(history) == points == run.data.metrics["points"]
    assert sorted(m.step for m in history) == list(range(points)), "a step is missing or doubled"


def test_a_server_away_past_the_end_leaves_the_record_pending_until_shorts_sync(
    project: ShortsProject, server: Server, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    add_logging_short(project, release)
    proc = project.start(
        "run",
        f"+experiment={SHORT}",
        "tracking.deliver_wait=2s",
        MLFLOW_TRACKING_URI=server.uri,
        **FEW_RETRIES,
    )
    try:
        assert wait_until(
            lambda: any((project.root / ".shorts").rglob("journal.delivered.json")), timeout=120
        ), "the run never reached the server"
        server.stop()  # down through the rest of the run and its closing
        release.touch()
        _, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 0, stderr[-3000:]  # the short's own outcome, not the store's
    journal = journal_of(project)
    pending_lines = [line for line in stderr.splitlines() if "record pending" in line]
    assert len(pending_lines) == 1, stderr[-3000:]
    assert str(journal) in pending_lines[0] and "shorts sync" in pending_lines[0]
    assert "Traceback" not in stderr
    # The outcome is in the journal, durably, before the command ended.
    closing = [json.loads(x) for x in journal.read_text().splitlines() if '"t":"close"' in x]
    assert [c["outcome"] for c in closing] == ["completed"]

    # While the server is away, sync says so and keeps the record.
    still = project.run("sync", MLFLOW_TRACKING_URI=server.uri, **FEW_RETRIES, timeout=300)
    assert still.returncode == 1, still.stdout + still.stderr[-2000:]
    assert "still pending" in still.stdout

    server.start()
    synced = project.run("sync", MLFLOW_TRACKING_URI=server.uri, timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr[-2000:]
    client = server.client()
    run = only_run(client, SHORT)
    assert run.info.status == "FINISHED"
    assert run.data.tags["shorts.outcome"] == "completed"
    points = journal_metric_points(journal)
    assert len(client.get_metric_history(run.info.run_id, "tick")) == points
    assert run.data.metrics["points"] == points
    assert not list((project.root / ".shorts" / "pending").glob("*.json"))

    # Replaying again, even with the delivery notes gone, gives the same one run.
    journal.with_suffix(".delivered.json").unlink()
    from shorts.tracking.delivery import Delivery

    assert Delivery(journal).run()
    run_again = only_run(client, SHORT)
    assert run_again.info.run_id == run.info.run_id
    assert len(client.get_metric_history(run.info.run_id, "tick")) == points


def test_a_supervisor_killed_after_journaling_its_outcome_is_delivered_as_that_outcome(
    project: ShortsProject, server: Server, tmp_path: Path
) -> None:
    """Never lost: the journal holds the outcome, so a later command delivers it as it was."""
    release = tmp_path / "release"
    add_logging_short(project, release)
    proc = project.start(
        "run",
        f"+experiment={SHORT}",
        "tracking.deliver_wait=3m",
        MLFLOW_TRACKING_URI=server.uri,
        **FEW_RETRIES,
    )
    try:
        assert wait_until(
            lambda: any((project.root / ".shorts").rglob("journal.delivered.json")), timeout=120
        ), "the run never reached the server"
        journal = journal_of(project)
        server.stop()
        release.touch()
        assert wait_until(lambda: '"t":"close"' in journal.read_text(), timeout=120)
        proc.kill()  # while it waits for the store to take the outcome
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    server.start()
    listed = project.run("list", MLFLOW_TRACKING_URI=server.uri)
    assert listed.returncode == 0, listed.stderr[-2000:]
    run = only_run(server.client(), SHORT)
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.info.status == "FINISHED"
    assert run.data.metrics["points"] == journal_metric_points(journal)


def test_a_store_locked_past_its_busy_timeout_leaves_the_short_alone(
    project: ShortsProject, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    add_logging_short(project, release)
    proc = project.start("run", f"+experiment={SHORT}", "tracking.deliver_wait=1s")
    locked = threading.Event()
    unlock = threading.Event()

    def hold_lock() -> None:
        # Another process's writer: an exclusive transaction MLflow's 20 s busy timeout
        # cannot outwait.
        db = sqlite3.connect(project.root / "mlflow.db", timeout=60, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        unlock.wait(120)
        db.execute("ROLLBACK")
        db.close()

    holder = threading.Thread(target=hold_lock)
    try:
        assert wait_until(
            lambda: any((project.root / ".shorts").rglob("journal.delivered.json")), timeout=120
        ), "the run never reached the store"
        holder.start()
        assert locked.wait(60)
        release.touch()
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-3000:]
        assert "record pending" in stderr
        journal = journal_of(project)
    finally:
        unlock.set()
        if holder.is_alive():
            holder.join(60)
        if proc.poll() is None:
            proc.kill()

    listed = project.run("list")  # any command that reaches the store delivers first
    assert listed.returncode == 0, listed.stderr[-2000:]
    run = project.only_run(SHORT)
    assert run.info.status == "FINISHED"
    assert run.data.tags["shorts.outcome"] == "completed"
    points = journal_metric_points(journal)
    assert len(project.client().get_metric_history(run.info.run_id, "tick")) == points


OFFLINE_RECORDER = """
import sys, time
from pathlib import Path
from shorts.project import Project
from shorts.tracking.recorder import RunClosing, RunRecorder

root, uri, started = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
recorder = RunRecorder(Project(root), root / "run", uri, "offline")
recorder.open("offline-run", {"p": "1"}, {"shorts.outcome": "running"}, started)
for step in range(5):
    recorder.metric({"k": "loss", "v": 1.0 / (step + 1), "s": step, "ts": int(1000 * started)})
closing = RunClosing("completed", "done", "FINISHED", {"score": 0.5}, {}, {}, started + 30)
recorded = recorder.close(closing, wait=1.0)
print(recorded.pending, recorded.run_id)
"""


def test_a_run_the_store_never_saw_is_created_later_with_its_true_start_time(
    project: ShortsProject, server: Server
) -> None:
    from shorts.project import Project
    from shorts.tracking.pending import settle

    server.stop()
    started = round(time.time() - 60, 3)
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_RECORDER, str(project.root), server.uri, str(started)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **FEW_RETRIES},
    )
    assert done.stdout.split() == ["True", "None"], done.stderr[-3000:]

    server.start()
    settled = settle(Project(project.root), budget=120)

    run = only_run(server.client(), "offline")
    assert settled.delivered == [run.info.run_id]
    assert run.info.start_time == int(started * 1000)
    assert run.info.end_time == int((started + 30) * 1000)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"p": "1"}
    assert len(server.client().get_metric_history(run.info.run_id, "loss")) == 5
