"""The runner against misbehaving shorts: each fault gets the right outcome, evidence and cleanup.

Every test runs the real ``shorts`` command on one fault short from ``tests/fault_shorts`` and
checks what a user would rely on afterwards: the exit status, the MLflow run (status, outcome,
reason, metrics, evidence artifacts) and that no process of the short is left running.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ShortsProject, live, wait_until

from shorts import record
from shorts.caps import parse_duration, parse_size

RESOURCE_METRICS = (
    "shorts.wall_seconds",
    "shorts.cpu_seconds",
    "shorts.peak_rss_mib",
    "shorts.cap_used.wall_time",
    "shorts.cap_used.memory",
    "shorts.cap_used.cpus",
)

QUICK_TIMEOUT = {"wall_time": "4s"}  # room for the worker to start even on a loaded machine


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite store with its schema in place, created once for this module."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture(autouse=True)
def _fresh_store_from_template(project: ShortsProject, migrated_store: Path) -> None:
    """Give each project a copy of the migrated store: MLflow's schema migration of a new sqlite
    file takes seconds per ``shorts`` run, and creating stores is not what these tests are about
    (test_smoke_run covers it)."""
    shutil.copy(migrated_store, project.root / "mlflow.db")


def evidence(project: ShortsProject, run: Any, tmp_path: Path) -> Path:
    """Download the run's ``shorts/`` evidence folder and return its local path."""
    dst = tmp_path / "downloaded" / run.info.run_id
    dst.mkdir(parents=True)
    return Path(project.client().download_artifacts(run.info.run_id, "shorts", str(dst)))


def run_fault(
    project: ShortsProject,
    fn: str,
    caps: dict[str, Any] | None = None,
    *,
    exit_status: int,
    outcome: str,
    status: str,
) -> Any:
    """Run fault short ``fn`` and check what every closed run must show; return the run."""
    name = f"fault_{fn}"
    project.add_short(name, fn, caps=caps)

    done = project.run("run", f"+experiment={name}")

    assert done.returncode == exit_status, done.stderr[-3000:]
    assert "record pending" not in done.stderr, done.stderr[-3000:]
    run = project.only_run(name)
    assert run.data.tags["shorts.outcome"] == outcome, run.data.tags.get("shorts.reason")
    assert run.info.status == status
    reason = run.data.tags["shorts.reason"]
    assert reason and "\n" not in reason
    for metric in RESOURCE_METRICS:
        assert metric in run.data.metrics, f"{metric} missing from {sorted(run.data.metrics)}"
    # the caps as numbers, journaled when the run opens (so a lost run carries them too)
    caps = record.RecordedCaps.of(run.data.metrics)
    assert caps.wall_time_seconds == parse_duration(
        run.data.params["caps.wall_time"]
    ) and caps.memory_mib * 2**20 == parse_size(run.data.params["caps.memory"])
    assert project.recorded_pids(), "the short did not record its pids"
    assert live(project.recorded_pids()) == []
    return run


def check_evidence_files(folder: Path, outcome: str) -> None:
    """The evidence every run carries: output log, redacted config, the supervisor's record."""
    assert (folder / "output.log").is_file()
    assert "short:" in (folder / "config.yaml").read_text()
    observation = json.loads((folder / "observation.json").read_text())
    assert observation["outcome"] == outcome


# -- wall time -----------------------------------------------------------------------------------


def test_short_past_wall_time_gets_sigterm_finishes_its_cleanup_and_is_recorded_as_timeout(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(
        project,
        "sleep_then_clean_up",
        QUICK_TIMEOUT,
        exit_status=1,
        outcome="timeout",
        status="FAILED",
    )

    reason = run.data.tags["shorts.reason"]
    assert "wall-time cap" in reason and "SIGTERM" in reason and "within the grace" in reason
    # SIGTERM arrives once as ShortTerminated: the short's finally block runs to its end.
    assert run.data.metrics["cleaned_up"] == 1.0
    assert run.data.tags["shorts.exit_code"] == "143"
    folder = evidence(project, run, tmp_path)
    check_evidence_files(folder, "timeout")
    assert b"Traceback" not in (folder / "output.log").read_bytes()
    cleanup = project.client().download_artifacts(run.info.run_id, "cleanup.txt", str(tmp_path))
    assert Path(cleanup).read_text() == "cleaned up\n"


def test_short_ignoring_sigterm_is_killed_and_recorded_as_timeout(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(
        project,
        "ignore_sigterm",
        QUICK_TIMEOUT,
        exit_status=1,
        outcome="timeout",
        status="FAILED",
    )

    reason = run.data.tags["shorts.reason"]
    assert "SIGKILL" in reason and "grace" in reason
    assert run.data.tags["shorts.exit_signal"] == "SIGKILL"
    observation = json.loads((evidence(project, run, tmp_path) / "observation.json").read_text())
    assert observation["exit_signal"] == "SIGKILL"
    assert observation["tree_dead_seconds_after_deadline"] is not None


def test_metrics_logged_before_a_timeout_are_kept(project: ShortsProject) -> None:
    run = run_fault(
        project,
        "log_then_timeout",
        QUICK_TIMEOUT,
        exit_status=1,
        outcome="timeout",
        status="FAILED",
    )

    history = project.client().get_metric_history(run.info.run_id, "loss")
    steps = sorted(m.step for m in history)
    assert len(steps) >= 5, steps
    assert steps == list(range(len(steps))), "logged steps were lost or duplicated"
    assert run.data.metrics["loss"] == pytest.approx(1.0 / len(steps))


# -- memory --------------------------------------------------------------------------------------


def test_short_growing_past_memory_cap_is_killed_and_recorded_as_memout(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(
        project,
        "grow_memory",
        {"memory": "400MiB"},
        exit_status=1,
        outcome="memout",
        status="FAILED",
    )

    assert "400.0 MiB cap" in run.data.tags["shorts.reason"]
    assert run.data.metrics["shorts.peak_rss_mib"] > 400
    assert run.data.metrics["shorts.cap_used.memory"] > 1.0
    # The growth it logged on the way up is kept.
    assert run.data.metrics["held_mb"] >= 100
    folder = evidence(project, run, tmp_path)
    check_evidence_files(folder, "memout")
    observation = json.loads((folder / "observation.json").read_text())
    assert observation["exit_signal"] == "SIGKILL"
    # No wall-time deadline passed, so there is no overshoot past it to report.
    assert observation["tree_dead_seconds_after_deadline"] is None


def test_children_each_under_the_cap_but_over_it_together_are_recorded_as_memout(
    project: ShortsProject,
) -> None:
    run = run_fault(
        project,
        "children_memory",
        {"memory": "700MiB"},
        exit_status=1,
        outcome="memout",
        status="FAILED",
    )

    reason = run.data.tags["shorts.reason"]
    match = re.search(r"\((\d+) processes\)", reason)
    assert match, reason
    assert int(match.group(1)) >= 4, "the worker and its three children are summed"
    assert run.data.metrics["shorts.peak_rss_mib"] > 700
    assert len(project.recorded_pids()) == 4


# -- processes left behind -----------------------------------------------------------------------


def test_leftover_child_and_setsid_grandchild_are_killed_and_counted(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(
        project,
        "leave_grandchild",
        exit_status=0,
        outcome="completed",
        status="FINISHED",
    )

    assert "2 leftover process(es)" in run.data.tags["shorts.reason"]
    assert run.data.metrics["score"] == 1.0
    assert len(project.recorded_pids()) == 3
    observation = json.loads((evidence(project, run, tmp_path) / "observation.json").read_text())
    assert observation["leftover_processes_killed"] == 2


# -- crashes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "reason_part", "tags"),
    [
        pytest.param(
            "segfault",
            "SIGSEGV",
            {"shorts.exit_signal": "SIGSEGV"},
            id="segfault-names-the-signal",
        ),
        pytest.param(
            "exit_without_result",
            "without returning a result",
            {"shorts.exit_code": "0"},
            id="os-exit-without-result",
        ),
        pytest.param(
            "return_nan",
            "non-finite value(s) for score",
            {"shorts.exit_code": "0"},
            id="nan-result",
        ),
    ],
)
def test_short_ending_without_a_usable_result_is_recorded_as_crashed(
    project: ShortsProject, tmp_path: Path, fn: str, reason_part: str, tags: dict[str, str]
) -> None:
    run = run_fault(project, fn, exit_status=1, outcome="crashed", status="FAILED")

    assert reason_part in run.data.tags["shorts.reason"]
    for key, value in tags.items():
        assert run.data.tags.get(key) == value, key
    if fn != "return_nan":
        assert "score" not in run.data.metrics, "no result was returned, so no score"
    check_evidence_files(evidence(project, run, tmp_path), "crashed")


def test_raised_exception_is_recorded_as_crashed_with_traceback_and_location(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(project, "raise_error", exit_status=1, outcome="crashed", status="FAILED")

    tags = run.data.tags
    assert tags["shorts.error.type"] == "ValueError"
    assert re.fullmatch(r"experiments/faults\.py:\d+ in raise_error", tags["shorts.error.where"])
    assert "ValueError" in tags["shorts.reason"] and "no rows" in tags["shorts.reason"]
    assert run.data.metrics["progress"] == 0.5
    folder = evidence(project, run, tmp_path)
    traceback = (folder / "traceback.txt").read_text()
    assert "Traceback" in traceback
    assert "ValueError: fault injected: the data has no rows" in traceback
    check_evidence_files(folder, "crashed")


# -- output --------------------------------------------------------------------------------------


def test_flooded_output_is_kept_as_bounded_head_and_tail(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(project, "flood_stdout", exit_status=0, outcome="completed", status="FINISHED")

    assert run.data.metrics["score"] == 1.0
    log = (evidence(project, run, tmp_path) / "output.log").read_bytes()
    assert len(log) < 2 * 2**20
    assert log.startswith(b"FLOOD-START\n")
    assert log.endswith(b"FLOOD-END\n")
    match = re.search(rb"\n\[\.\.\. (\d+) bytes omitted by shorts \.\.\.\]\n", log)
    assert match, log[:200]
    omitted = int(match.group(1))
    assert 28 * 10**6 < omitted < 30 * 10**6
    assert len(log) - len(match.group(0)) + omitted >= 30 * 10**6


# -- signals to the supervisor -------------------------------------------------------------------


def start_sleeping_short(project: ShortsProject) -> subprocess.Popen[str]:
    """Start ``shorts run`` on a short that sleeps with a child and a grandchild; wait for them."""
    project.add_short("fault_sleep", "sleep_with_children", caps={"wall_time": "60s"})
    proc = project.start("run", "+experiment=fault_sleep")
    started = wait_until(
        lambda: len(project.recorded_pids()) == 3 or proc.poll() is not None, timeout=60
    )
    assert started and proc.poll() is None, proc.communicate(timeout=10)[1][-3000:]
    return proc


def test_sigint_to_shorts_interrupts_the_short_and_stops_its_tree(
    project: ShortsProject, tmp_path: Path
) -> None:
    proc = start_sleeping_short(project)

    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr[-3000:]
    run = project.only_run("fault_sleep")
    assert run.data.tags["shorts.outcome"] == "interrupted"
    assert run.info.status == "KILLED"
    assert "interrupted" in run.data.tags["shorts.reason"]
    assert live(project.recorded_pids()) == []
    assert run.data.tags["shorts.exit_code"] == "143", "the short stopped on its SIGTERM"
    folder = evidence(project, run, tmp_path)
    check_evidence_files(folder, "interrupted")
    assert b"Traceback" not in (folder / "output.log").read_bytes()
    assert not list((project.root / ".shorts" / "pending").glob("*.json")), "all delivered"


@pytest.mark.parametrize(
    ("command", "half_written"), [("repair", False), ("list", False), ("sync", True)]
)
def test_sigkilled_supervisor_takes_its_tree_down_and_a_later_command_closes_the_run_as_lost(
    project: ShortsProject, command: str, half_written: bool
) -> None:
    proc = start_sleeping_short(project)
    pending = project.root / ".shorts" / "pending"
    assert wait_until(lambda: any(pending.glob("*.json")), timeout=60), "nothing registered"
    assert wait_until(lambda: len(project.runs("fault_sleep")) == 1, timeout=60)
    tree = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert set(project.recorded_pids()) <= set(tree)

    proc.kill()
    proc.communicate(timeout=30)

    # The guardian sees its control pipe close and kills the whole tree, itself included.
    assert wait_until(lambda: live(tree) == [], timeout=5), live(tree)
    assert live(project.recorded_pids()) == []
    run = project.only_run("fault_sleep")
    assert run.info.status == "RUNNING"
    (journal,) = (project.root / ".shorts" / "outputs").rglob("journal.jsonl")
    if half_written:  # the kill landed in the middle of writing an event
        with open(journal, "ab") as handle:
            handle.write(b'{"t":"metric","k":"loss","v":0.5,"s":9,"ts":17')

    done = project.run(command)

    assert done.returncode == 0, done.stderr[-3000:]
    run = project.only_run("fault_sleep")
    assert run.info.status == "KILLED"
    assert run.data.tags["shorts.outcome"] == "lost"
    assert "supervisor" in run.data.tags["shorts.reason"]
    assert not list(pending.glob("*.json"))
    if half_written:
        assert "cut: a partial last line of 46 bytes" in done.stdout, done.stdout
        assert "loss" not in run.data.metrics, "a cut event is not delivered"
