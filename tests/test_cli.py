"""The ``shorts`` command as a user meets it: the real CLI in a temp project.

Mistakes caught before any process starts (composition, the checks before a run, ``shorts
list``) go through ``shorts.cli.main`` in the test's own process; everything that starts a
worker, a server or a pipe runs the real command in a subprocess.

Usage and config mistakes must cost one line on stderr, exit status 2 and nothing else: no
traceback and no MLflow run. Hydra's grammar keeps working under ``shorts run``; runs land in the
project's store from any folder below it, or wherever the user points them; ``shorts ui`` serves
the store and leaves no server behind.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import (
    ShortsProject,
    assert_no_runs,
    assert_usage_error,
    free_port,
    live,
    wait_until,
)

QUICK = "+experiment=fault_quick"
SECRETS = ("hunter2", "abc123")
InProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def quick(project: ShortsProject) -> ShortsProject:
    """The project with the ``fault_quick`` short declared."""
    project.add_short("fault_quick", "quick")
    return project


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """``shorts ARGS`` through ``shorts.cli.main`` in this process, for what is decided before
    any process starts (composition and the checks before a run): the same exit status and
    output as the command, without paying Python's and Hydra's start-up for each case. Hydra's
    global state, the environment, the cwd, the root logger and the imported ``experiments``
    package (each project has its own) are restored after each call.
    """
    import gc
    import logging

    from hydra.core.global_hydra import GlobalHydra

    from shorts.cli import main

    def call(
        project: ShortsProject, *args: str, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        saved_env, saved_handlers = dict(os.environ), logging.root.handlers[:]
        saved_experiments = {m: sys.modules.pop(m) for m in list(sys.modules) if _is_experiments(m)}
        os.environ.clear()
        os.environ.update(project.env(**env))
        monkeypatch.chdir(cwd or project.root)
        GlobalHydra.instance().clear()
        capsys.readouterr()
        try:
            code = main(list(args))
        finally:
            GlobalHydra.instance().clear()
            gc.unfreeze()  # main() freezes what exists as the process ends; this one goes on
            logging.root.handlers[:] = saved_handlers
            for module in [m for m in sys.modules if _is_experiments(m)]:
                del sys.modules[module]
            sys.modules.update(saved_experiments)
            os.environ.clear()
            os.environ.update(saved_env)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["shorts", *args], code, out, err)

    return call


def _is_experiments(module: str) -> bool:
    return module == "experiments" or module.startswith("experiments.")


def all_runs(project: ShortsProject, uri: str | None = None) -> list[Any]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri or project.tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids)) if ids else []


# -- help and imports ---------------------------------------------------------------------------


def test_help_answers_without_importing_mlflow_or_sklearn() -> None:
    code = (
        "import sys; from shorts.cli import main; main(['--help']); "
        "assert not any(m.startswith(('mlflow','sklearn')) for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith(('mlflow','sklearn')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "usage: shorts COMMAND" in done.stdout
    for command in ("run", "list", "ui", "repair"):
        assert command in done.stdout


def test_help_through_the_command(project: ShortsProject) -> None:
    for args in (("--help",), ("-h",), ()):
        done = project.run(*args)
        assert done.returncode == 0, done.stderr
        assert "usage: shorts" in done.stdout


# -- usage and config errors --------------------------------------------------------------------


def test_unknown_experiment_lists_the_known_shorts(
    quick: ShortsProject, in_process: InProcess
) -> None:
    line = assert_usage_error(in_process(quick, "run", "+experiment=nope"), quick)

    assert "'nope'" in line
    for name in ("baseline_regression", "reframe_classification", "fault_quick"):
        assert name in line


def test_no_experiment_given(quick: ShortsProject, in_process: InProcess) -> None:
    line = assert_usage_error(in_process(quick, "run"), quick)

    assert "+experiment=NAME" in line
    assert "fault_quick" in line


def test_malformed_cap_shows_the_accepted_forms(
    quick: ShortsProject, in_process: InProcess
) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "caps.wall_time=soon"), quick)

    assert "caps.wall_time='soon'" in line
    for form in ("'90s'", "'10m'", "'1.5h'"):
        assert form in line


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("cv.repeats=0", "cv.repeats=0 must be a whole number >= 1"),
        ("cv.folds=1", "cv.folds=1 must be a whole number >= 2"),
        ("cv.folds=abc", "cv.folds='abc' must be a whole number >= 2"),
    ],
)
def test_folds_that_cannot_be_run_are_refused_before_the_run(
    quick: ShortsProject, override: str, said: str, in_process: InProcess
) -> None:
    # cv.repeats=0 used to run once, silently; cv.folds=abc crashed in the worker
    line = assert_usage_error(in_process(quick, "run", QUICK, override), quick)

    assert said in line


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (
            ["+experiment=reframe_classification", "model.n_bins=0"],
            "model (shorts.reframe.BinnedRegressor): The 'n_bins' parameter of BinnedRegressor "
            "must be an int in the range [2, inf). Got 0 instead.",
        ),
        (
            ["+experiment=reframe_classification", "model.classifier.learning_rate=-1"],
            "The 'learning_rate' parameter of HistGradientBoostingClassifier must be a float",
        ),
        (
            ["+experiment=baseline_regression", "+baseline.bogus=1"],
            "baseline (sklearn.linear_model.Ridge): Ridge.__init__() got an unexpected keyword "
            "argument 'bogus'",
        ),
    ],
)
def test_a_model_that_cannot_be_built_is_refused_before_the_run(
    project: ShortsProject, overrides: list[str], said: str
) -> None:
    # model.n_bins=0 used to create a run that crashed in its worker (InvalidParameterError)
    line = assert_usage_error(project.run("run", *overrides, "caps.wall_time=2m"), project)

    assert said in line


def test_a_delivery_wait_that_is_not_a_duration_is_refused_before_the_run(
    quick: ShortsProject,
    in_process: InProcess,
) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "tracking.deliver_wait=soon"), quick)

    assert "tracking.deliver_wait='soon' is not a duration" in line


def test_memory_cap_above_available(quick: ShortsProject, in_process: InProcess) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "caps.memory=2TB"), quick)

    assert "caps.memory=" in line
    assert "available" in line


def test_more_cpus_than_this_machine_lets_shorts_use(
    quick: ShortsProject, in_process: InProcess
) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "caps.cpus=64"), quick)

    assert "caps.cpus=64" in line
    assert f"{len(os.sched_getaffinity(0))} core(s)" in line


def test_cpus_not_a_number(quick: ShortsProject, in_process: InProcess) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "caps.cpus=two"), quick)

    assert "caps.cpus='two'" in line


def test_unknown_model_option_names_the_available_ones(
    quick: ShortsProject, in_process: InProcess
) -> None:
    line = assert_usage_error(in_process(quick, "run", QUICK, "model=nope"), quick)

    assert "model/nope" in line
    for option in ("hist_gbm", "random_forest", "ridge"):
        assert option in line


@pytest.mark.parametrize(
    "override",
    ["cv.folds=[1", "cv.folds==", "=3", "cv.folds=${nope}", "experiment=fault_quick", "nokey=1"],
)
def test_bad_override(quick: ShortsProject, override: str, in_process: InProcess) -> None:
    args = ["run", QUICK, override] if "experiment" not in override else ["run", override]

    assert_usage_error(in_process(quick, *args), quick)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["+experiment=reframe_classification", "model=ridge"], "model=binned_hist_gbm"),
        (["+experiment=reframe_classification", "dataset=fair_rating"], "dataset=diabetes"),
        (["+experiment=reframe_ordinal", "dataset=friedman1"], "dataset=diabetes_ordinal"),
        (["+experiment=reframe_ordinal", "model=hist_gbm"], "model=ordinal_ridge"),
    ],
)
def test_a_short_refuses_a_model_or_data_set_it_does_not_take(
    project: ShortsProject, args: list[str], expected: str, in_process: InProcess
) -> None:
    """``short.requires``: a usage mistake, one line naming what is accepted, not a crashed run."""
    line = assert_usage_error(in_process(project, "run", *args), project)

    assert "needs a" in line
    assert expected in line


def test_short_fn_naming_a_missing_function(project: ShortsProject, in_process: InProcess) -> None:
    project.add_short("fault_missing", "does_not_exist")

    line = assert_usage_error(in_process(project, "run", "+experiment=fault_missing"), project)

    assert "experiments.faults:does_not_exist" in line
    assert "'does_not_exist'" in line


def test_short_fn_naming_a_missing_module(project: ShortsProject, in_process: InProcess) -> None:
    (project.root / "configs" / "experiment" / "ghost.yaml").write_text(
        "# @package _global_\nshort:\n  fn: experiments.ghost:run\n"
    )

    line = assert_usage_error(in_process(project, "run", "+experiment=ghost"), project)

    assert "experiments.ghost" in line


def test_experiment_file_that_is_not_yaml(project: ShortsProject, in_process: InProcess) -> None:
    (project.root / "configs" / "experiment" / "garbled.yaml").write_text("short: [unclosed\n")

    line = assert_usage_error(in_process(project, "run", "+experiment=garbled"), project)

    assert "garbled.yaml" in line


def test_tracking_server_that_does_not_answer(quick: ShortsProject, in_process: InProcess) -> None:
    uri = f"http://127.0.0.1:{free_port()}"

    line = assert_usage_error(in_process(quick, "run", QUICK, f"tracking.uri={uri}"), quick)

    assert uri in line


def test_a_tracking_uri_mlflow_has_no_store_for_is_refused_before_the_run(
    quick: ShortsProject,
    in_process: InProcess,
) -> None:
    line = assert_usage_error(
        in_process(quick, "run", QUICK, "tracking.uri=nonsense://u:pw@x"), quick
    )

    assert "nonsense://u:***@x is not a store MLflow can read" in line  # password masked


def test_tracking_server_from_the_environment_that_does_not_answer(
    quick: ShortsProject, in_process: InProcess
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"

    line = assert_usage_error(in_process(quick, "run", QUICK, MLFLOW_TRACKING_URI=uri), quick)

    assert uri in line


def test_unknown_command(project: ShortsProject, in_process: InProcess) -> None:
    line = assert_usage_error(in_process(project, "frobnicate"), project)

    assert "'frobnicate'" in line
    for command in ("run", "list", "ui", "repair"):
        assert command in line


def test_outside_any_project(project: ShortsProject, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    done = project.run("run", QUICK, cwd=elsewhere)

    line = assert_usage_error(done, project)
    assert "configs/shorts.yaml" in line
    assert "SHORTS_ROOT" in line
    assert list(elsewhere.iterdir()) == []


def test_output_cut_short_by_the_reader_is_not_an_internal_error(project: ShortsProject) -> None:
    for args in ("list", "run --help"):
        done = subprocess.run(
            ["sh", "-c", f"{sys.executable} -m shorts {args} | head -c 1 >/dev/null"],
            cwd=project.root,
            env=project.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stderr == "", done.stderr
    assert not (project.root / ".shorts" / "last-error.txt").exists()


def test_help_of_the_other_commands(project: ShortsProject) -> None:
    for command in ("list", "ui", "repair"):
        done = project.run(command, "--help")
        assert done.returncode == 0, done.stderr
        assert f"shorts {command}" in done.stdout
    assert not (project.root / "mlflow.db").exists()


def test_list_and_repair_take_no_arguments(project: ShortsProject) -> None:
    assert_usage_error(project.run("list", "extra"), project)
    assert_usage_error(project.run("repair", "--bogus"), project)


@pytest.mark.parametrize("args", [["--port", "abc"], ["--bogus"], ["--port", "70000"]])
def test_ui_bad_arguments(project: ShortsProject, args: list[str]) -> None:
    assert_usage_error(project.run("ui", *args), project)


def test_ui_on_a_busy_port(project: ShortsProject) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        line = assert_usage_error(project.run("ui", "--port", str(port)), project)

    assert f"port {port}" in line


# -- shorts list --------------------------------------------------------------------------------


def test_list_shows_every_short_with_its_caps(
    project: ShortsProject, in_process: InProcess
) -> None:
    project.add_short("fault_quick", "quick")
    project.add_short(
        "fault_custom_caps", "quick", caps={"wall_time": "45s", "memory": "300MiB", "cpus": 1}
    )
    expected = {
        "baseline_regression": "1m00s · 1.0 GiB · 1 cpu",
        "reframe_classification": "1m00s · 1.0 GiB · 1 cpu",
        "fault_quick": "20.0s · 768.0 MiB · 1 cpu",
        "fault_custom_caps": "45.0s · 300.0 MiB · 1 cpu",
    }

    done = in_process(project, "list")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for name, caps in expected.items():
        rows = [line for line in lines if f" {name} " in line]
        assert len(rows) == 1, (name, done.stdout)
        assert caps in rows[0], (name, rows[0])
    assert not (project.root / "mlflow.db").exists()


def test_list_with_a_broken_experiment_config(
    project: ShortsProject, in_process: InProcess
) -> None:
    project.add_short("fault_quick", "quick")
    (project.root / "configs" / "experiment" / "broken.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /caps: nope\n"
    )

    done = in_process(project, "list")

    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.splitlines()[0].startswith("shorts: error: ")
    assert "broken" in done.stderr
    assert "caps/nope" in done.stderr
    assert " fault_quick " in done.stdout, "the good shorts are still listed"
    assert " broken " in done.stdout


def test_list_with_an_experiment_file_that_is_not_yaml(
    project: ShortsProject, in_process: InProcess
) -> None:
    (project.root / "configs" / "experiment" / "garbled.yaml").write_text("short: [unclosed\n")

    done = in_process(project, "list")

    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("shorts: error: configs/experiment/garbled.yaml: ")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert " baseline_regression " in done.stdout


# -- Hydra's grammar ----------------------------------------------------------------------------


def test_cfg_job_prints_the_config_and_runs_nothing(
    quick: ShortsProject, in_process: InProcess
) -> None:
    done = in_process(quick, "run", QUICK, "--cfg", "job")

    assert done.returncode == 0, done.stderr
    assert "caps:" in done.stdout
    assert "fn: experiments.faults:quick" in done.stdout
    assert not (quick.root / "mlflow.db").exists()


def test_run_help_is_hydras(quick: ShortsProject) -> None:
    done = quick.run("run", "--help")

    assert done.returncode == 0, done.stderr
    assert "experiment" in done.stdout
    assert not (quick.root / "mlflow.db").exists()


def test_multirun_with_a_config_error_creates_no_run(quick: ShortsProject) -> None:
    done = quick.run("run", "-m", QUICK, "caps.cpus=64", "cv.folds=2,3")

    line = assert_usage_error(done, quick)
    assert "caps.cpus=64" in line


# -- where runs go ------------------------------------------------------------------------------


def test_run_from_a_subfolder_records_into_the_root_store(quick: ShortsProject) -> None:
    sub = quick.root / "experiments"

    done = quick.run("run", QUICK, cwd=sub)

    assert done.returncode == 0, done.stderr
    assert quick.only_run("fault_quick").info.status == "FINISHED"
    assert not (sub / "mlflow.db").exists()
    assert not (sub / ".shorts").exists()
    assert not (sub / "mlartifacts").exists()


def test_mlflow_tracking_uri_from_the_environment(quick: ShortsProject, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert other.startswith("sqlite:////")

    done = quick.run("run", QUICK, MLFLOW_TRACKING_URI=other)

    assert done.returncode == 0, done.stderr
    runs = all_runs(quick, other)
    assert len(runs) == 1
    assert runs[0].info.status == "FINISHED"
    assert_no_runs(quick)


def test_tracking_uri_override_beats_the_environment(quick: ShortsProject, tmp_path: Path) -> None:
    override, env = (f"sqlite:///{tmp_path / name}" for name in ("override.db", "env.db"))

    done = quick.run("run", QUICK, f"tracking.uri={override}", MLFLOW_TRACKING_URI=env)

    assert done.returncode == 0, done.stderr
    runs = all_runs(quick, override)
    assert len(runs) == 1
    assert runs[0].data.params["tracking.uri"] == override
    assert not (tmp_path / "env.db").exists()
    assert_no_runs(quick)


# -- what a run records -------------------------------------------------------------------------


def test_params_are_the_flattened_resolved_config_and_tags_say_what_ran(
    quick: ShortsProject,
) -> None:
    done = quick.run("run", QUICK, "cv.folds=3", "model=ridge")

    assert done.returncode == 0, done.stderr
    run = quick.only_run("fault_quick")
    params, tags = run.data.params, run.data.tags
    assert params["caps.wall_time"] == "20s"
    assert params["caps.memory"] == "768MiB"
    assert params["cv.folds"] == "3"
    assert params["model._target_"] == "sklearn.linear_model.Ridge"
    assert params["dataset.name"] == "diabetes"
    assert not [k for k in params if k.startswith("hydra")]
    assert "${" not in "".join(params.values()), "params are resolved"
    assert tags["shorts.hypothesis"] == "fault injection (quick)"
    assert tags["shorts.techniques"] == "fault-injection"
    assert tags["shorts.overrides"] == f"{QUICK} cv.folds=3 model=ridge"
    assert tags["shorts.caps.wall_time"] == "20.0s"
    assert tags["shorts.caps.memory"] == "768.0 MiB"
    assert tags["shorts.caps.cpus"] == "1"
    assert tags["shorts.caps.grace"] == "1.0s"
    assert tags["shorts.outcome"] == "completed"


def _download_config(project: ShortsProject, run: Any, tmp_path: Path) -> str:
    dst = tmp_path / "downloaded"
    dst.mkdir()
    path = project.client().download_artifacts(run.info.run_id, "shorts/config.yaml", str(dst))
    return Path(path).read_text()


def test_secrets_are_redacted_in_params_tags_and_the_config_artifact(
    quick: ShortsProject, tmp_path: Path
) -> None:
    done = quick.run("run", QUICK, "+db.password=hunter2", "+api_token=abc123")

    assert done.returncode == 0, done.stderr
    run = quick.only_run("fault_quick")
    assert run.data.params["db.password"] == "***redacted***"
    assert run.data.params["api_token"] == "***redacted***"
    assert not [v for v in run.data.params.values() if any(s in v for s in SECRETS)]
    assert not {k: v for k, v in run.data.tags.items() if any(s in v for s in SECRETS)}
    config = _download_config(quick, run, tmp_path)
    assert "db:" in config and "api_token:" in config
    for secret in SECRETS:
        assert secret not in config


# -- concurrency --------------------------------------------------------------------------------


@pytest.mark.slow
def test_eight_concurrent_runs_on_a_fresh_store(quick: ShortsProject) -> None:
    assert not (quick.root / "mlflow.db").exists()

    procs = [quick.start("run", QUICK) for _ in range(8)]
    results = [(p.wait(timeout=280), *p.communicate()) for p in procs]

    for code, _out, err in results:
        assert code == 0, err[-3000:]
    runs = quick.runs("fault_quick")
    assert len(runs) == 8
    assert len({r.info.run_id for r in runs}) == 8
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["shorts.outcome"] for r in runs} == {"completed"}
    assert live(quick.recorded_pids()) == []


# -- shorts ui ----------------------------------------------------------------------------------


def _group_members(pgid: int) -> list[int]:
    members = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


class UiProcess:
    """``shorts ui`` in its own session, its stdout read line by line on a thread."""

    def __init__(self, project: ShortsProject, port: int, log: Path) -> None:
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            project.command("ui", "--port", str(port)),
            cwd=project.root,
            env=project.env(),
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    line = self.lines.get(timeout=0.5)
                except queue.Empty:
                    if self.proc.poll() is not None and self.lines.empty():
                        return False
                    continue
                self.stdout.append(line)
                if text in line:
                    return True
            return False
        finally:
            timer.cancel()

    def groups(self) -> set[int]:
        """Process groups of shorts ui and everything it started."""
        pgids = {self.proc.pid}
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                try:
                    pgids.add(os.getpgid(child.pid))
                except ProcessLookupError:
                    pass
        except psutil.NoSuchProcess:
            pass
        return pgids

    def kill_groups(self, pgids: set[int]) -> None:
        for pgid in pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=30)
        self._err.close()


@pytest.fixture
def recorded_run(quick: ShortsProject) -> Any:
    done = quick.run("run", QUICK)
    assert done.returncode == 0, done.stderr
    return quick.only_run("fault_quick")


@pytest.fixture
def ui(quick: ShortsProject, recorded_run: Any, tmp_path: Path) -> Iterator[tuple[UiProcess, int]]:
    port = free_port()
    server = UiProcess(quick, port, tmp_path / "ui.err")
    pgids: set[int] = set()
    try:
        url = f"http://127.0.0.1:{port}"
        assert server.wait_for(url, timeout=180), (
            "".join(server.stdout),
            (tmp_path / "ui.err").read_text()[-3000:],
        )
        pgids = server.groups()
        yield server, port
    finally:
        server.kill_groups(pgids | server.groups())


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ui_serves_the_store_and_stops_cleanly(
    quick: ShortsProject, recorded_run: Any, ui: tuple[UiProcess, int], signum: int
) -> None:
    server, port = ui
    run_id = recorded_run.info.run_id

    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/get?run_id={run_id}", timeout=30
    ) as response:
        body = json.load(response)
    assert body["run"]["info"]["run_id"] == run_id
    tags = {t["key"]: t["value"] for t in body["run"]["data"]["tags"]}
    assert tags["shorts.outcome"] == "completed"

    second = quick.run("ui", "--port", str(port))
    assert second.returncode == 2
    assert len(second.stderr.splitlines()) == 1, second.stderr
    assert second.stderr.startswith(f"shorts: error: port {port}")

    pgids = server.groups()
    assert len(pgids) >= 2, "the MLflow server runs in its own process group"
    server.proc.send_signal(signum)

    server.proc.wait(timeout=60)
    assert wait_until(lambda: all(_group_members(g) == [] for g in pgids), timeout=30), {
        g: _group_members(g) for g in pgids
    }
