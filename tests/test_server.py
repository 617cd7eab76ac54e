"""``shorts server``: a team tracking server on a real PostgreSQL, used by real ``shorts`` commands.

A throwaway PostgreSQL cluster (initdb + pg_ctl in a temp folder, on a free port of 127.0.0.1)
serves the whole session; the tests skip when PostgreSQL's server binaries are not installed
(CI installs them). One ``shorts server`` serves the module: two concurrent ``shorts run`` from a
teammate's checkout record into it, ``shorts retro`` reads them back, the UI answers. Another one
is stopped with SIGTERM and must leave nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ShortsProject, free_port, make_project, wait_until

SECRET = "team-secret-42"
SHORT = "baseline_regression"
SERVER_PROCESS_NAMES = ("mlflow", "gunicorn", "uvicorn", "huey")


# -- a throwaway PostgreSQL ---------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Folder of initdb and pg_ctl: ``pg_config --bindir``, else Debian's newest version."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))[::-1]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


@dataclass
class Postgres:
    """A running cluster; the superuser ``postgres`` connects without a password (trust)."""

    port: int

    def uri(self, database: str, password: str | None = None) -> str:
        user = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        import psycopg2

        connection = psycopg2.connect(self.uri(database))
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> str:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return name

    def query(self, database: str, sql: str) -> list[tuple[Any, ...]]:
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster in a temp folder, on a free port of 127.0.0.1, removed at the end.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` system user that
    Debian's package creates, in a folder that user owns.
    """
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: neither pg_config --bindir "
            "nor /usr/lib/postgresql/*/bin has them; apt-get install postgresql (CI does)"
        )
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no 'postgres' user to run PostgreSQL as")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="shorts-pg-"))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    port = free_port()

    def pg(*args: str) -> None:
        done = subprocess.run(
            [*as_user, *args], cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])

    started = False
    try:
        pg(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust")
        pg(
            str(bindir / "pg_ctl"),
            "start",
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {folder} -F",
        )
        started = True
        yield Postgres(port)
    finally:
        if started:
            pg(str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w")
        shutil.rmtree(folder, ignore_errors=True)


# -- shorts server as a user starts it ----------------------------------------------------------


class ServerProcess:
    """``shorts server ARGS`` in its own session; its stdout collected line by line."""

    def __init__(self, project: ShortsProject, args: list[str], log: Path, **env: str) -> None:
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            project.command("server", *args),
            cwd=project.root,
            env=project.env(**env),
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        self.log = log
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        """Until ``text`` is printed; fails with both outputs if the server ends or times out."""
        printed = wait_until(
            lambda: text in self.stdout or self.proc.poll() is not None, timeout, 0.2
        )
        assert printed and text in self.stdout, (self.stdout, self.log.read_text()[-3000:])

    def tree(self) -> list[psutil.Process]:
        try:
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """Never leak a server from a failed test: SIGKILL the tree, wait for shorts."""
        for child in self.tree():
            try:
                child.kill()
            except psutil.Error:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._log.close()


def live_server_processes(procs: list[psutil.Process]) -> list[str]:
    """Command lines of those of ``procs`` still running that are MLflow's server processes."""
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                cmdline = " ".join(proc.cmdline())
                if any(name in cmdline for name in SERVER_PROCESS_NAMES):
                    left.append(cmdline)
        except psutil.Error:
            continue
    return left


def get(url: str, timeout: float = 30) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read().decode("utf-8", "replace")
        return response.status, response.headers.get("Content-Type", ""), body


# -- usage errors: one line, exit 2, nothing started --------------------------------------------


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("shorts: error: ")
    assert "Traceback" not in done.stdout + done.stderr
    return lines[0]


def test_help(project: ShortsProject) -> None:
    done = project.run("server", "--help")

    assert done.returncode == 0, done.stderr
    assert "shorts server" in done.stdout
    assert "--backend-store-uri" in done.stdout


def test_a_database_that_does_not_answer_is_one_line_with_the_password_masked(
    project: ShortsProject,
) -> None:
    closed = free_port()
    uri = f"postgresql://shorts:{SECRET}@127.0.0.1:{closed}/team"

    done = project.run("server", "--backend-store-uri", uri, "--port", str(free_port()))

    line = assert_one_line_error(done)
    assert f"database postgresql://shorts:***@127.0.0.1:{closed}/team" in line
    assert "does not answer" in line
    assert SECRET not in done.stdout + done.stderr
    assert not (project.root / ".shorts" / "server-artifacts").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "SHORTS_SERVER_DB"),
        (["--backend-store-uri", "sqlite:///tmp/mlflow.db"], "not a PostgreSQL URI"),
        (["--backend-store-uri", "postgresql://h/d", "--workers", "0"], "--workers 0"),
        (["--backend-store-uri", "postgresql://h/d", "--port", "70000"], "--port 70000"),
        (["--bogus"], "usage: shorts server"),
    ],
    ids=["no-uri", "sqlite", "workers", "port-range", "unknown-option"],
)
def test_usage_mistakes(project: ShortsProject, args: list[str], expected: str) -> None:
    line = assert_one_line_error(project.run("server", *args))

    assert expected in line


def test_a_database_that_does_not_exist_is_named(
    project: ShortsProject, postgres: Postgres
) -> None:
    done = project.run(
        "server", "--port", str(free_port()), SHORTS_SERVER_DB=postgres.uri("no_such_db")
    )

    line = assert_one_line_error(done)
    assert postgres.uri("no_such_db") in line
    assert '"no_such_db" does not exist' in line


def test_a_busy_port_is_refused(project: ShortsProject, postgres: Postgres) -> None:
    with listening_port() as port:
        done = project.run(
            "server", "--port", str(port), "--backend-store-uri", postgres.uri("postgres")
        )

    line = assert_one_line_error(done)
    assert f"port {port}" in line


@contextlib.contextmanager
def listening_port() -> Iterator[int]:
    """A port something listens on, for the duration of a ``with`` block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


# -- one team server for the module -------------------------------------------------------------


@dataclass
class Team:
    """The running server, its project (which holds its artifacts) and a teammate's checkout."""

    server: ServerProcess
    url: str
    database: str
    server_project: ShortsProject
    teammate: ShortsProject


@pytest.fixture(scope="module")
def team(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    database = postgres.create_database("shorts_team")
    server_project = make_project(tmp_path_factory.mktemp("server"))
    teammate = make_project(tmp_path_factory.mktemp("teammate"))
    port = free_port()
    server = ServerProcess(
        server_project,
        ["--port", str(port)],
        tmp_path_factory.mktemp("logs") / "server.err",
        SHORTS_SERVER_DB=postgres.uri(database, password=SECRET),
    )
    try:
        server.wait_for("MLFLOW_TRACKING_URI=")
        yield Team(server, f"http://127.0.0.1:{port}", database, server_project, teammate)
    finally:
        server.kill()


@dataclass
class TwoRuns:
    results: list[tuple[int, str, str]]
    runs: list[Any]


@pytest.fixture(scope="module")
def two_runs(team: Team) -> TwoRuns:
    """Two ``shorts run`` started at once from the teammate's checkout, to the server."""
    procs = [
        team.teammate.start("run", f"+experiment={SHORT}", MLFLOW_TRACKING_URI=team.url)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=240), *p.communicate()) for p in procs]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=team.url)
    experiment = client.get_experiment_by_name(SHORT)
    runs = list(client.search_runs([experiment.experiment_id])) if experiment else []
    return TwoRuns(results, runs)


@pytest.mark.slow
def test_server_prints_its_url_and_the_line_to_export(team: Team) -> None:
    out = team.server.stdout

    assert f"  {team.url}\n" in out
    assert f"export MLFLOW_TRACKING_URI={team.url}\n" in out
    assert "postgres:***@127.0.0.1:" in out
    assert str(team.server_project.root / ".shorts" / "server-artifacts") in out
    assert get(f"{team.url}/health")[::2] == (200, "OK")


@pytest.mark.slow
def test_server_is_small_and_keeps_the_password_out_of_the_process_table(team: Team) -> None:
    tree = team.server.tree()
    cmdlines = [" ".join(p.cmdline()) for p in tree]

    assert any("mlflow server" in c for c in cmdlines), cmdlines
    assert sum("uvicorn" in c for c in cmdlines) == 1, cmdlines
    assert not any("huey" in c or "_job_runner" in c for c in cmdlines), cmdlines
    assert not any(SECRET in c for c in cmdlines), cmdlines
    assert SECRET not in team.server.stdout + team.server.log.read_text()


@pytest.mark.slow
def test_two_concurrent_runs_are_recorded_with_outcomes_and_artifacts(
    team: Team, two_runs: TwoRuns, postgres: Postgres, tmp_path: Path
) -> None:
    for code, out, err in two_runs.results:
        assert code == 0, (out[-2000:], err[-3000:])
    runs = two_runs.runs
    assert len(runs) == 2
    assert len({r.info.run_id for r in runs}) == 2
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["shorts.outcome"] for r in runs} == {"completed"}

    # The runs live in PostgreSQL, not in some sqlite file beside either checkout.
    in_database = postgres.query(team.database, "SELECT run_uuid, status FROM runs")
    assert {(r.info.run_id, "FINISHED") for r in runs} <= set(in_database)
    assert not (team.teammate.root / "mlflow.db").exists()

    import mlflow.artifacts

    served = team.server_project.root / ".shorts" / "server-artifacts"
    for run in runs:
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")
        folder = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id,
            artifact_path="shorts",
            dst_path=str(tmp_path / run.info.run_id),
            tracking_uri=team.url,
        )
        config = (Path(folder) / "config.yaml").read_text()
        assert f"experiments.{SHORT}:run" in config
        observation = json.loads((Path(folder) / "observation.json").read_text())
        assert observation["outcome"] == "completed"
        # Uploaded over HTTP from the teammate's checkout into the server's folder.
        stored = list(served.glob(f"*/{run.info.run_id}/artifacts/shorts/config.yaml"))
        assert [p.read_text() for p in stored] == [config]


@pytest.mark.slow
def test_retro_against_the_server_counts_its_runs(
    team: Team, two_runs: TwoRuns, tmp_path: Path
) -> None:
    out = tmp_path / "reports"

    done = team.teammate.run("retro", "--tracking-uri", team.url, "--out", str(out))

    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    (report_path,) = out.glob("retro-*/report.json")
    report = json.loads(report_path.read_text())
    assert report["tracking_uri"] == team.url
    assert report["portfolio"]["total_runs"] == 2
    counted = [
        run_id
        for count in report["portfolio"]["counts"]
        if count["short"] == SHORT and count["outcome"] == "completed"
        for run_id in count["runs"]
    ]
    assert sorted(counted) == sorted(r.info.run_id for r in two_runs.runs)
    assert "2 runs" in done.stdout
    from mlflow.tracking import MlflowClient

    assert MlflowClient(tracking_uri=team.url).get_experiment_by_name("retrospectives")


@pytest.mark.slow
def test_a_sweep_records_to_the_server_and_keeps_its_study_in_postgresql(
    team: Team, postgres: Postgres, two_runs: TwoRuns
) -> None:
    """Trials nested under a parent on the server; the Optuna study in the team's database.

    After the retro test on purpose (file order): it counts the server's runs.
    """
    studies = postgres.create_database("shorts_studies")
    storage = postgres.uri(studies, password=SECRET)

    done = team.teammate.run(
        "sweep",
        f"+experiment={SHORT}",
        "--trials",
        "2",
        "--jobs",
        "2",
        "--study",
        "team-sweep",
        "--storage",
        storage,
        "cv.folds=2",
        timeout=240,
        MLFLOW_TRACKING_URI=team.url,
    )

    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=team.url)
    experiment = client.get_experiment_by_name(SHORT)
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("shorts.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED"
    assert [c.info.status for c in children] == ["FINISHED", "FINISHED"]
    assert SECRET not in json.dumps(parent.data.tags) + done.stdout + done.stderr
    trials = postgres.query(
        studies,
        "SELECT t.state FROM trials t JOIN studies s ON s.study_id = t.study_id "
        "WHERE s.study_name = 'team-sweep'",
    )
    assert sorted(state for (state,) in trials) == ["COMPLETE", "COMPLETE"]


@pytest.mark.slow
def test_the_ui_page_answers(team: Team) -> None:
    status, kind, page = get(f"{team.url}/")

    assert status == 200
    assert kind.startswith("text/html")
    assert "<title>MLflow</title>" in page
    script = re.search(r'src="(static-files/[^"]+\.js)"', page)
    assert script is not None, page[:2000]
    assert get(f"{team.url}/{script.group(1)}")[0] == 200


# -- stopping -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_the_server_and_leaves_no_process_behind(
    project: ShortsProject, postgres: Postgres, tmp_path: Path
) -> None:
    database = postgres.create_database("shorts_sigterm")
    port = free_port()
    server = ServerProcess(
        project,
        ["--port", str(port), "--backend-store-uri", postgres.uri(database)],
        tmp_path / "server.err",
    )
    try:
        server.wait_for("MLFLOW_TRACKING_URI=")
        tree = server.tree()
        assert len(live_server_processes(tree)) >= 2, [p.cmdline() for p in tree]

        server.proc.send_signal(signal.SIGTERM)

        assert server.proc.wait(timeout=60) == 0
        assert wait_until(lambda: live_server_processes(tree) == [], timeout=30), (
            live_server_processes(tree)
        )
        strays = [
            p.info["cmdline"]
            for p in psutil.process_iter(["cmdline"])
            if f"--port {port}" in " ".join(p.info["cmdline"] or [])
        ]
        assert strays == []
        assert wait_until(lambda: not _answers(f"http://127.0.0.1:{port}/health"), timeout=10)
    finally:
        server.kill()


def _answers(url: str) -> bool:
    try:
        get(url, timeout=2)
    except OSError:
        return False
    return True
