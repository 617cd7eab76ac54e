"""End to end: a quarter where nothing real changed teaches nothing.

Through the real CLI and store: a random forest against itself grown with another seed, four
seeds on each of two data sets (``shorts run -m``), then ``shorts retro``. Single runs may come
out "hit" by chance (the verdict's error rate is per run); the retrospective pools each group's
replicates and selects claims under one error budget, so it must not tell anyone to carry a
change of seed into a feature.
"""

from __future__ import annotations

import json

import pytest
from conftest import ShortsProject

pytestmark = pytest.mark.slow


def test_a_quarter_of_reseeded_shorts_gives_no_hit_or_slice_lesson(
    project: ShortsProject,
) -> None:
    done = project.run(
        "run", "-m", "+experiment=baseline_regression",
        "model=random_forest", "model@baseline=random_forest",
        "model.n_estimators=30", "baseline.n_estimators=30", "baseline.random_state=0",
        "model.random_state=1,2,3,4", "dataset=diabetes,friedman1",
        "caps.wall_time=5m", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    completed = [r for r in project.runs("baseline_regression") if "shorts.evidence" in r.data.tags]
    assert len(completed) == 8

    retro = project.run("retro", "--out", str(project.root / "reports"), timeout=300)
    assert retro.returncode == 0, retro.stderr[-2000:]
    report = json.loads(next((project.root / "reports").glob("retro-*/report.json")).read_text())

    kinds = [lesson["kind"] for lesson in report["lessons"]]
    assert "hit" not in kinds and "slice win" not in kinds, report["lessons"]
    assert report["slice_wins"] == []
    tested = report["claims"]
    assert len(tested) >= 2 * (1 + 4)  # two groups, each overall and on its slices
    assert {len(c["runs"]) for c in tested} == {4}  # every claim pools its group's 4 runs
    assert not any(c["selected"] for c in tested)
    assert "0 selected with the false discovery rate held at 5%" in retro.stdout
