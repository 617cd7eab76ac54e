"""What a short reports through its context reaches the run: verdict, dataset input, harvest."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
from conftest import ShortsProject


def _add(project: ShortsProject, name: str, fn: str) -> None:
    project.add_short(name, fn)
    path = project.root / "configs" / "experiment" / f"{name}.yaml"
    path.write_text(path.read_text().replace("experiments.faults:", "experiments.contract_shorts:"))


def test_a_short_that_loses_is_recorded_as_a_completed_miss_with_its_harvest(
    project: ShortsProject, tmp_path: Path
) -> None:
    _add(project, "contract_losing", "losing")

    done = project.run("run", "+experiment=contract_losing")

    assert done.returncode == 0, done.stderr
    run = project.only_run("contract_losing")
    tags = run.data.tags
    assert tags["shorts.outcome"] == "completed"
    assert tags["shorts.verdict"] == "miss"
    assert "worse than the baseline" in tags["shorts.verdict.reason"]
    assert run.data.metrics["shorts.uplift"] < 0
    assert run.data.metrics["shorts.p_value"] < 0.05
    assert "verdict  miss" in done.stderr

    dataset = run.inputs.dataset_inputs[0].dataset
    assert (dataset.name, dataset.digest) == ("toy", "abc123")

    lesson = json.loads(tags["shorts.harvest.lesson"])
    assert lesson["kind"] == "note" and lesson["evidence"] == {"slice": "q4", "delta": -3.2}
    edges = json.loads(tags["shorts.harvest.edges"])
    assert edges["kind"] == "component" and edges["type"] == "dict"
    client = project.client()
    note = client.download_artifacts(run.info.run_id, "harvest/lesson.md", str(tmp_path))
    assert Path(note).read_text() == "Binning hurt the top decile."
    component = client.download_artifacts(run.info.run_id, edges["path"], str(tmp_path))
    assert joblib.load(component) == {"edges": [0.0, 1.0, 2.0]}


def test_a_short_without_fold_scores_gets_no_verdict(project: ShortsProject) -> None:
    _add(project, "contract_silent", "silent")

    done = project.run("run", "+experiment=contract_silent")

    assert done.returncode == 0, done.stderr
    tags = project.only_run("contract_silent").data.tags
    assert tags["shorts.verdict"] == "none"
    assert "no fold scores" in tags["shorts.verdict.reason"]
