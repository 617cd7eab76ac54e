"""The regression shorts, run in-process on the real configs: verdict, fold logging, stopping."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from experiments import baseline_regression, reframe_classification
from shorts.context import Context
from shorts.verdict import judge_folds, parse_rule

pytestmark = pytest.mark.usefixtures("one_thread", "clean_hydra")

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")
SHORTS = {
    "baseline_regression": baseline_regression.run,
    "reframe_classification": reframe_classification.run,
}
SUMMARY_KEYS = {
    "rmse",
    "rmse_std",
    "baseline_rmse",
    "baseline_rmse_std",
    "rmse_uplift",
    "folds_completed",
}


def _compose(experiment: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(
            "shorts",
            overrides=[f"+experiment={experiment}", "cv.folds=3", *overrides],
            return_hydra_config=False,
        )


def _context(tmp_path: Path, soft_time: float = 3600.0) -> Context:
    """A context whose soft deadline never comes by default: these tests are not about time
    (a loaded shared machine must not stop a short after one fold)."""
    return Context(
        artifact_dir=tmp_path / "a",
        started_at=time.time(),
        wall_time=soft_time + 60,
        soft_time=soft_time,
    )


def _fold_steps(ctx: Context, name: str) -> list[int]:
    return [e["s"] for e in ctx.events if e["t"] == "metric" and e["k"] == name]


@pytest.mark.parametrize("experiment", sorted(SHORTS))
def test_short_returns_a_finite_verdict_over_all_folds(experiment: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    result = SHORTS[experiment](_compose(experiment), ctx)

    assert result.keys() >= SUMMARY_KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    assert result["folds_completed"] == 3.0
    assert _fold_steps(ctx, "fold_rmse") == [0, 1, 2]
    assert _fold_steps(ctx, "baseline_fold_rmse") == [0, 1, 2]
    expected_uplift = (result["baseline_rmse"] - result["rmse"]) / result["baseline_rmse"]
    assert result["rmse_uplift"] == pytest.approx(expected_uplift)


def test_reframe_saves_bins_slices_and_a_verdict_per_variant(tmp_path: Path) -> None:
    """The soft-bin and stacked variants run on the model's folds; each is judged by the run's
    rule against the same baseline fold scores, with the quartiles where it had the lower RMSE."""
    ctx = _context(tmp_path)
    cfg = _compose("reframe_classification")
    reframe_classification.run(cfg, ctx)

    bins = json.loads((tmp_path / "a" / "bins.json").read_text())
    assert len(bins["bin_edges"]) == len(bins["bin_means"]) + 1 == bins["n_bins"] + 1
    metrics = {e["k"]: e["v"] for e in ctx.events if e["t"] == "metric" and e["s"] is None}
    for q in range(1, 5):
        assert {f"slice_q{q}_rmse", f"baseline_slice_q{q}_rmse"} <= metrics.keys()

    variants = json.loads((tmp_path / "a" / "variants.json").read_text())
    assert variants.keys() == {"soft", "stacked"}
    assert variants["stacked"]["model"] == "shorts.reframe.BinnedStackRegressor"
    (folds,) = [e for e in ctx.events if e["t"] == "folds"]
    harvested = {e["name"]: e["evidence"] for e in ctx.events if e["t"] == "harvest"}
    for name, variant in variants.items():
        steps = [e["v"] for e in ctx.events if e.get("k") == f"variant.{name}.fold_rmse"]
        assert variant["scores"] == steps and len(steps) == 3
        expected = judge_folds(parse_rule(cfg.verdict), folds).variants[name]  # the runner's
        assert variant["verdict"] == expected.verdict
        assert variant["uplift"] == pytest.approx(expected.uplift)
        assert metrics[f"variant.{name}.rmse_uplift"] == pytest.approx(expected.uplift)
        assert harvested[f"variant_{name}"]["verdict"] == expected.verdict
        for q in range(1, 5):
            mine = metrics[f"variant.{name}.slice_q{q}_rmse"]
            theirs = metrics[f"baseline_slice_q{q}_rmse"]
            assert (f"q{q}" in variant["helped"]) == (mine < theirs)
            if mine < theirs:
                assert variant["helped"][f"q{q}"] == pytest.approx(mine / theirs - 1)


def test_reframe_without_variants_runs_the_model_alone(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    reframe_classification.run(_compose("reframe_classification", "~variants"), ctx)

    assert not (tmp_path / "a" / "variants.json").exists()
    assert not [e for e in ctx.events if e["t"] == "metric" and "variant" in e["k"]]


@pytest.mark.parametrize("experiment", sorted(SHORTS))
def test_past_the_soft_deadline_a_short_stops_after_one_fold(
    experiment: str, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, soft_time=0)
    result = SHORTS[experiment](_compose(experiment), ctx)

    assert result["folds_completed"] == 1.0
    assert _fold_steps(ctx, "fold_rmse") == [0]
    assert math.isfinite(result["rmse"]) and result["rmse_std"] == 0.0


class _CountingContext(Context):
    """A sweep trial's context whose pruner is asked and never says prune."""

    asked = 0

    def should_prune(self) -> bool:
        self.asked += 1
        return False


def test_the_pruner_is_not_asked_after_the_last_fold(tmp_path: Path) -> None:
    """A trial that finished every fold completes and is judged; pruning it then saves nothing."""
    from shorts.evaluate import run_folds

    ctx = _CountingContext(
        artifact_dir=tmp_path / "a", started_at=time.time(), wall_time=3660, soft_time=3600
    )
    result = run_folds(_compose("baseline_regression", "cv.folds=3", "model=ridge"), ctx)

    assert len(result.scores) == result.folds_planned == 3
    assert ctx.asked == 2
