"""``shorts new``: the scaffolded short runs end to end and records a verdict on its first run."""

from __future__ import annotations

from conftest import ShortsProject


def test_new_short_runs_end_to_end_with_a_verdict(project: ShortsProject) -> None:
    created = project.run("new", "my_idea")

    assert created.returncode == 0, created.stderr
    assert (project.root / "configs" / "experiment" / "my_idea.yaml").is_file()
    done = project.run("run", "+experiment=my_idea", "cv.folds=3")
    assert done.returncode == 0, done.stderr
    run = project.only_run("my_idea")
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.data.tags["shorts.verdict"] in {"hit", "miss", "inconclusive"}
    assert "slice_q1_rmse" in run.data.metrics
    assert "my_idea" in project.run("list").stdout


def test_new_refuses_to_overwrite_and_bad_names(project: ShortsProject) -> None:
    assert project.run("new", "my_idea").returncode == 0

    again = project.run("new", "my_idea")
    bad = project.run("new", "My-Idea")

    for done in (again, bad):
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("shorts: error:")
    assert "already exists" in again.stderr
    assert "identifier" in bad.stderr
