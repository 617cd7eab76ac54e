"""The runner end to end on one quick short: the shape every other runner test builds on."""

from __future__ import annotations

from conftest import ShortsProject, live


def test_quick_short_completes_and_is_recorded_finished(project: ShortsProject) -> None:
    project.add_short("fault_quick", "quick")

    done = project.run("run", "+experiment=fault_quick")

    assert done.returncode == 0, done.stderr
    run = project.only_run("fault_quick")
    assert run.info.status == "FINISHED"
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.data.metrics["score"] == 0.5
    assert run.data.metrics["progress"] == 1.0
    assert live(project.recorded_pids()) == []
