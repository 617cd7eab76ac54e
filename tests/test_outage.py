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
            # no background job runners (GenAI jobs): a tracking server only, quicker to start
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
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
    return sum(1 for line in journal.read_text().splitlines() if '"k":"tick"' in line)


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


def test_a_server_away_mid_run_and_through_the_closing_stops_nothing_and_loses_nothing(
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
        release.touch()  # the short ends, and its closing is written, while the server is away
        assert wait_until(lambda: '"t":"close"' in journal.read_text(), timeout=60)
        assert proc.poll() is None, "the supervisor waits up to deliver_wait for the store"
        server.start()
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


def test_records_an_outage_leaves_pending_are_delivered_by_shorts_sync_and_never_lost(
    project: ShortsProject, server: Server, tmp_path: Path
) -> None:
    """Three records the server never got: a run that ended during the outage (pending line),
    a supervisor killed while it waited to deliver its outcome, and a run the server never saw
    at all. Once the server is back, ``shorts sync`` delivers each as it ended."""
    release = tmp_path / "release"
    add_logging_short(project, release)
    (project.root / "configs" / "experiment" / f"{SHORT}_killed.yaml").write_text(
        (project.root / "configs" / "experiment" / f"{SHORT}.yaml").read_text()
    )
    ended = project.start(
        "run",
        f"+experiment={SHORT}",
        "tracking.deliver_wait=2s",
        MLFLOW_TRACKING_URI=server.uri,
        **FEW_RETRIES,
    )
    killed = project.start(
        "run",
        f"+experiment={SHORT}_killed",
        "tracking.deliver_wait=3m",
        MLFLOW_TRACKING_URI=server.uri,
        **FEW_RETRIES,
    )
    outputs = project.root / ".shorts" / "outputs"
    try:
        assert wait_until(
            lambda: len(list(outputs.rglob("journal.delivered.json"))) == 2, timeout=120
        ), "the runs never reached the server"
        server.stop()  # down through the rest of both runs and their closing
        release.touch()
        _, stderr = ended.communicate(timeout=240)
        journals = {
            json.loads(p.read_text().splitlines()[0])["experiment"]: p
            for p in outputs.rglob("journal.jsonl")
        }
        killed_journal = journals[f"{SHORT}_killed"]
        assert wait_until(lambda: '"t":"close"' in killed_journal.read_text(), timeout=120)
        killed.kill()  # while it waits for the store to take its outcome
        killed.communicate(timeout=30)
    finally:
        for proc in (ended, killed):
            if proc.poll() is None:
                proc.kill()

    assert ended.returncode == 0, stderr[-3000:]  # the short's own outcome, not the store's
    journal = journals[SHORT]
    pending_lines = [line for line in stderr.splitlines() if "record pending" in line]
    assert len(pending_lines) == 1, stderr[-3000:]
    assert str(journal) in pending_lines[0] and "shorts sync" in pending_lines[0]
    assert "Traceback" not in stderr
    # The outcome is in the journal, durably, before the command ended.
    closing = [json.loads(x) for x in journal.read_text().splitlines() if '"t":"close"' in x]
    assert [c["outcome"] for c in closing] == ["completed"]

    # A run whose creation never reached the store: recorded by a process that then ends.
    started = round(time.time() - 60, 3)
    offline = subprocess.run(
        [sys.executable, "-c", OFFLINE_RECORDER, str(project.root), server.uri, str(started)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **FEW_RETRIES},
    )
    assert offline.stdout.split() == ["True", "None"], offline.stderr[-3000:]

    # While the server is away, sync says so and keeps the records.
    still = project.run("sync", MLFLOW_TRACKING_URI=server.uri, **FEW_RETRIES, timeout=300)
    assert still.returncode == 1, still.stdout + still.stderr[-2000:]
    assert still.stdout.count("still pending:") == 3, still.stdout

    server.start()
    synced = project.run("sync", MLFLOW_TRACKING_URI=server.uri, timeout=300)
    assert synced.returncode == 0, synced.stdout + synced.stderr[-2000:]
    assert "3 record(s) delivered, 0 still pending" in synced.stdout
    assert not list((project.root / ".shorts" / "pending").glob("*.json"))
    client = server.client()
    for name, path in journals.items():
        run = only_run(client, name)
        assert run.info.status == "FINISHED", name
        assert run.data.tags["shorts.outcome"] == "completed", "never lost: it holds its outcome"
        points = journal_metric_points(path)
        assert len(client.get_metric_history(run.info.run_id, "tick")) == points
        assert run.data.metrics["points"] == points
    never_seen = only_run(client, "offline")
    assert never_seen.info.start_time == int(started * 1000), "created with its true start"
    assert never_seen.info.end_time == int((started + 30) * 1000)
    assert never_seen.info.status == "FINISHED"
    assert never_seen.data.params == {"p": "1"}
    assert len(client.get_metric_history(never_seen.info.run_id, "loss")) == 5

    # Replaying again, even with the delivery notes gone, gives the same one run.
    first = only_run(client, SHORT)
    journal.with_suffix(".delivered.json").unlink()
    from shorts.tracking.delivery import Delivery

    assert Delivery(journal).run()
    again = only_run(client, SHORT)
    assert again.info.run_id == first.info.run_id
    assert len(client.get_metric_history(first.info.run_id, "tick")) == journal_metric_points(
        journal
    )


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
