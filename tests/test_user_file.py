"""``dataset=file``: a user's CSV runs a short; a bad one is refused before any run exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ShortsProject


@pytest.fixture
def user_csv(tmp_path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    path = tmp_path / "mine.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_a_users_csv_runs_a_short(project: ShortsProject, user_csv: Path) -> None:
    done = project.run(
        "run", "+experiment=baseline_regression", "dataset=file",
        f"dataset.path={user_csv}", "dataset.target=target", "cv.folds=3",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    run = project.only_run("baseline_regression")
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.inputs.dataset_inputs[0].dataset.profile.find('"num_rows": 442') >= 0


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        (None, "target", "does not exist"),
        ("a,b,t\n1,2,x\n3,4,y\n", "t", "not numeric"),
        ("a,b,t\n1,2,3\n3,4,5\n", "nope", "has no column 'nope'"),
    ],
)
def test_a_bad_user_file_is_a_usage_error_with_no_run(
    project: ShortsProject, tmp_path: Path, content: str | None, target: str, message: str
) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)

    done = project.run(
        "run", "+experiment=baseline_regression", "dataset=file",
        f"dataset.path={path}", f"dataset.target={target}",
    )  # fmt: skip

    assert done.returncode == 2
    assert done.stderr.startswith("shorts: error:") and done.stderr.count("\n") == 1
    assert message in done.stderr
    assert project.runs("baseline_regression") == []
