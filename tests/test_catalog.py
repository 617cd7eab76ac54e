"""Every shipped short runs under the smallest caps and records an outcome and a verdict."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import REPO, ShortsProject

SHIPPED = sorted(p.stem for p in (REPO / "configs" / "experiment").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("experiment", SHIPPED)
def test_every_shipped_short_completes_under_tiny_caps(
    project: ShortsProject, experiment: str
) -> None:
    # Tiny memory and one core, but room on the clock: a busy machine must not decide the test.
    # An anytime search runs until its soft deadline by design, so it keeps the tiny clock.
    clock = [] if experiment == "one_hour_build" else ["caps.wall_time=5m"]
    done = project.run(
        "run", f"+experiment={experiment}", "caps=tiny", *clock, "cv.folds=3", timeout=400
    )

    assert done.returncode == 0, done.stderr
    run = project.only_run(experiment)
    assert run.data.tags["shorts.outcome"] == "completed"
    assert run.data.tags["shorts.verdict"] in {"hit", "miss", "inconclusive"}
    assert run.data.tags["shorts.hypothesis"]
    assert run.inputs.dataset_inputs, "the short should declare its data set"
    slices = [k for k in run.data.metrics if k.startswith("slice_q")]
    assert slices and all(f"baseline_{k}" in run.data.metrics for k in slices)


@pytest.mark.slow
def test_one_hour_build_stops_within_its_cap_with_a_usable_best_model(
    project: ShortsProject, tmp_path: Path
) -> None:
    # 30 s and one core: imports, the data, the baseline and one probe per family on a shared,
    # busy machine, where two OpenMP threads of boosting contend with other work for two cores
    done = project.run("run", "+experiment=one_hour_build", "caps.wall_time=30s", "caps.cpus=1")

    assert done.returncode == 0, done.stderr
    run = project.only_run("one_hour_build")
    metrics = run.data.metrics
    # completed, not timeout: the supervisor saw it return before the hard deadline, which is
    # the cap held (how far before is the machine's business, not this test's).
    assert run.data.tags["shorts.outcome"] == "completed"
    assert metrics["candidates_completed"] >= 5  # one probe per family at least
    # the search starts from the baseline, so its best is never worse on the search's folds
    assert metrics["search_cv_rmse"] <= metrics["baseline_cv_rmse"]
    curve = project.client().get_metric_history(run.info.run_id, "anytime_best_rmse")
    values = [m.value for m in sorted(curve, key=lambda m: m.step)]
    assert values == sorted(values, reverse=True), "the best score can only improve"
    path = project.client().download_artifacts(
        run.info.run_id, "harvest/best_model.joblib", str(tmp_path)
    )
    model = joblib.load(path)
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    prediction = model.predict(X)
    assert np.isfinite(prediction).all() and prediction.shape == y.shape
