"""``shorts run -m``: jobs side by side (joblib), nested under a parent run, one exit status.

Every test drives the real command in a throwaway project: real worker processes under their
caps, a real MLflow store, real signals. The parent run is one per short; its children carry
``mlflow.parentRunId``; its ``shorts.outcomes`` tag counts the jobs' outcomes.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import textwrap
from typing import Any

import pytest
from conftest import ShortsProject, descendants, live, parent_and_children, wait_until

NAP_SHORTS = textwrap.dedent(
    """\
    import time

    from experiments.faults import _record


    def nap(cfg, ctx):
        _record(__import__("os").getpid())
        time.sleep(float(cfg.nap))
        return {"score": 1.0}
    """
)


def add_nap_short(project: ShortsProject) -> None:
    """``mr_nap``: sleeps ``+nap=SECONDS`` then completes (a timeout when the cap is shorter)."""
    (project.root / "experiments" / "multirun_shorts.py").write_text(NAP_SHORTS)
    text = textwrap.dedent(
        """\
        # @package _global_
        defaults:
          - override /caps: tiny
        short:
          fn: experiments.multirun_shorts:nap
          hypothesis: a nap of +nap seconds fits the wall-time cap
          techniques: [fault-injection]
        """
    )
    (project.root / "configs" / "experiment" / "mr_nap.yaml").write_text(text)


def split(project: ShortsProject, experiment: str) -> tuple[Any, list[Any]]:
    """The one multirun parent of ``experiment`` and its jobs' runs (oldest first)."""
    return parent_and_children(project, experiment, "multirun")


def overlapping(runs: list[Any]) -> bool:
    """True if two runs were running at the same moment (MLflow start/end times)."""
    spans = sorted((r.info.start_time, r.info.end_time) for r in runs)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


def test_parallel_jobs_land_under_one_parent_in_a_fresh_store(project: ShortsProject) -> None:
    # Six jobs start at once on a store that does not exist yet: the launching process creates
    # its schema and the experiment before any job races for them.
    assert not (project.root / "mlflow.db").exists()

    done = project.run(
        "run",
        "-m",
        "+experiment=baseline_regression",
        "model=ridge,hist_gbm,knn",
        "dataset=diabetes,friedman1",
        "cv.folds=2",
        # six jobs on two busy cores: neither the clock nor a slow store decides the test
        "caps.wall_time=3m",
        "tracking.deliver_wait=5m",
        "hydra.launcher.n_jobs=6",
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    parent, children = split(project, "baseline_regression")
    assert len(children) == 6, done.stderr[-3000:]
    pairs = {(c.data.tags["shorts.model"], c.data.tags["shorts.dataset"]) for c in children}
    models, datasets = ("ridge", "hist_gbm", "knn"), ("diabetes", "friedman1")
    assert pairs == {(m, d) for m in models for d in datasets}
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["shorts.outcome"] for c in children} == {"completed"}
    assert overlapping(children), "the joblib launcher ran the jobs side by side"
    tags = parent.data.tags
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name.startswith("baseline_regression-multirun-")
    assert tags["shorts.short"] == "baseline_regression"
    assert tags["shorts.launcher"] == "joblib"
    assert tags["shorts.outcomes"] == "completed:6"
    assert "model=ridge,hist_gbm,knn" in tags["shorts.overrides"]
    assert parent.info.start_time <= min(c.info.start_time for c in children)
    assert parent.info.end_time >= max(c.info.end_time for c in children)
    assert f"parent run {parent.info.run_id}" in done.stderr
    for child in children:
        assert child.info.run_id in done.stderr, "one line per job, and the table at the end"


def test_exit_status_and_parent_status_follow_the_worst_job(project: ShortsProject) -> None:
    add_nap_short(project)

    done = project.run("run", "-m", "+experiment=mr_nap", "+nap=0,30", "caps.wall_time=3s")

    assert done.returncode == 1, done.stderr[-3000:]
    parent, children = split(project, "mr_nap")
    outcomes = {c.data.params["nap"]: c.data.tags["shorts.outcome"] for c in children}
    assert outcomes == {"0": "completed", "30": "timeout"}
    assert parent.info.status == "FAILED"
    assert parent.data.tags["shorts.outcomes"] == "completed:1, timeout:1"
    assert live(project.recorded_pids()) == []


def test_one_refused_job_stops_the_multirun_before_any_run(project: ShortsProject) -> None:
    add_nap_short(project)

    done = project.run("run", "-m", "+experiment=mr_nap", "+nap=0", "caps.cpus=1,64")

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("shorts: error: ")
    assert "caps.cpus=64" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert project.runs("mr_nap") == [], "no child and no parent run"
    assert project.recorded_pids() == [], "no job started"


def test_basic_launcher_runs_the_jobs_one_after_another(project: ShortsProject) -> None:
    project.add_short("fault_quick", "quick")

    done = project.run(
        "run", "-m", "+experiment=fault_quick", "cv.folds=2,3", "hydra/launcher=basic"
    )

    assert done.returncode == 0, done.stderr[-3000:]
    parent, children = split(project, "fault_quick")
    assert sorted(c.data.params["cv.folds"] for c in children) == ["2", "3"]
    assert {c.info.status for c in children} == {"FINISHED"}
    assert not overlapping(children)
    assert parent.data.tags["shorts.launcher"] == "basic"
    assert parent.data.tags["shorts.outcomes"] == "completed:2"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_closes_every_run_and_leaves_no_process(project: ShortsProject, how: str) -> None:
    project.add_short("fault_sleep", "sleep_past_cap", caps={"wall_time": "60s"})
    proc = subprocess.Popen(
        project.command("run", "-m", "+experiment=fault_sleep", "cv.folds=2,3", "cv.seed=0,1"),
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        assert wait_until(lambda: len(project.recorded_pids()) == 2, timeout=120), (
            "two jobs should be running"
        )
        assert wait_until(
            lambda: (
                len([r for r in project.runs("fault_sleep") if r.info.status == "RUNNING"]) == 3
            ),
            timeout=60,
        ), "the parent and two children are open"
        processes = descendants(proc.pid)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole group
        else:
            proc.send_signal(signal.SIGTERM)  # shorts alone
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert proc.returncode == 130, err[-3000:]
    parent, children = split(project, "fault_sleep")
    assert [r for r in project.runs("fault_sleep") if r.info.status == "RUNNING"] == []
    assert parent.info.status == "KILLED"
    assert parent.data.tags["shorts.outcomes"] == "interrupted:2, not started:2"
    assert len(children) == 2
    assert {c.data.tags["shorts.outcome"] for c in children} == {"interrupted"}
    assert {c.info.status for c in children} == {"KILLED"}
    assert wait_until(lambda: live(processes + project.recorded_pids()) == [], timeout=30), live(
        processes + project.recorded_pids()
    )
