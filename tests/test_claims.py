"""The quarter's claims on constructed evidence, where the truth is known.

Each group is a configuration run with several seeds; each run's ``shorts.evidence`` holds fold
gains drawn as the runner would summarise them. Null groups gain nothing (their runs differ by
noise, with the between-run spread a reseeded learner shows); planted groups gain for real,
overall or on one feature's upper half only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shorts.retro.analysis import harvest
from shorts.retro.claims import select_claims
from shorts.retro.period import period_from
from shorts.retro.records import run_records
from shorts.verdict import Evidence

FOLDS = 5
RATIO = 1 / (FOLDS - 1)
SLICES = {
    "baseline prediction q4": {"by": "prediction", "quartile": 4, "low": 180.0, "high": None},
    "x0 below its median": {"by": "feature", "column": 0, "high": 0.5},
    "x0 at or above its median": {"by": "feature", "column": 0, "low": 0.5},
    "x1 at or above its median": {"by": "feature", "column": 1, "low": 0.5},
}


def _gains(rng: np.random.Generator, effect: float, spread: float) -> list[float]:
    shared = rng.normal(0.0, spread / 2)  # the folds of one run share training rows
    return list(effect + shared + rng.normal(0.0, spread, FOLDS))


def _evidence(
    rng: np.random.Generator, overall: float, on_slice: Mapping[str, float], spread: float
) -> str:
    slices: dict[str, Any] = {}
    for name, definition in SLICES.items():
        effect = on_slice.get(name, 0.0)
        gains = _gains(rng, effect, spread * 2)  # fewer rows: noisier
        slices[name] = {**definition, "model": Evidence.of(gains, RATIO).compact()}
    record = {
        "test": "corrected resampled t-test (Nadeau & Bengio 2003)",
        "metric": "rmse",
        "direction": "minimize",
        "margin": 0.01,
        "alpha": 0.05,
        "test_train": RATIO,
        "model": Evidence.of(_gains(rng, overall, spread), RATIO).compact(),
        "variants": {},
        "slices": slices,
    }
    return json.dumps(record)


def _quarter(groups: Sequence[tuple[str, float, Mapping[str, float]]], seed: int) -> pd.DataFrame:
    """Four seeded runs per group: ``(name, overall gain, gains on slices)``."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-10-02", tz="UTC")
    for g, (name, overall, on_slice) in enumerate(groups):
        for replicate in range(4):
            verdict = "hit" if overall > 0.03 else "inconclusive"
            rows.append(
                {
                    "run_id": f"{name}-{replicate}",
                    "experiment_id": "1",
                    "short": name,
                    "outcome": "completed",
                    "verdict": verdict,
                    "start_time": start + pd.Timedelta(hours=g * 4 + replicate),
                    "dataset": "diabetes",
                    "techniques": [f"technique-of-{name}"],
                    "params": {"model.random_state": str(replicate), "cv.seed": str(replicate)},
                    "tags": {
                        "shorts.evidence": _evidence(rng, overall, on_slice, spread=0.03),
                        "shorts.overrides": f"+experiment={name} model.random_state={replicate}",
                    },
                    "metrics": {},
                }
            )
    return pd.DataFrame(rows)


def _retro(frame: pd.DataFrame) -> Any:
    return harvest(
        frame, period_from("2026Q4"), "sqlite:////unused.db", histories={}, tracebacks={}
    )


NULLS = [(f"null_{i}", 0.0, {}) for i in range(8)]


@pytest.mark.parametrize("seed", range(5))
def test_a_null_quarter_teaches_nothing(seed: int) -> None:
    retro = _retro(_quarter(NULLS, seed))

    assert [lesson for lesson in retro.lessons if lesson.kind in ("hit", "slice win")] == []
    assert retro.slice_wins == []
    assert len(retro.claims) == 8 * (1 + len(SLICES))  # every claim is counted, none selected


def test_null_quarters_rarely_select_any_claim() -> None:
    with_any = sum(
        any(c.selected for c in select_claims(run_records(_quarter(NULLS, seed))).claims)
        for seed in range(100, 160)
    )

    assert with_any <= 6  # FDR 5% among only nulls is the chance of any false claim


def test_replicates_are_pooled_into_one_claim_not_the_best_run() -> None:
    records = run_records(_quarter([("planted", 0.08, {})], seed=3))
    claims = select_claims(records)
    overall = next(c for c in claims.claims if c.slice == "")

    assert overall.runs == [f"planted-{i}" for i in range(4)]
    assert overall.folds == 4 * FOLDS
    mean_of_runs = np.mean([json.loads(r.tags["shorts.evidence"])["model"][1] for r in records])
    assert overall.uplift == pytest.approx(mean_of_runs)  # the group, not its luckiest run


def test_a_planted_gain_is_a_hit_lesson_with_its_pooled_figure() -> None:
    retro = _retro(_quarter([*NULLS, ("planted", 0.08, {})], seed=4))
    hits = [lesson for lesson in retro.lessons if lesson.kind == "hit"]

    assert [h.text.split(" ", 1)[0] for h in hits] == ["planted"]
    assert "pooled over 4 runs and 20 folds" in hits[0].text
    assert f"one of {len(retro.claims)} claims at FDR 5%" in hits[0].text
    assert hits[0].command.startswith("shorts run +experiment=planted ")
    assert "random_state" not in hits[0].command  # the pooled configuration, not one seed
    assert "cv.repeats=4 cv.seed=4" in hits[0].command  # as many folds, fresh ones


def test_a_gain_confined_to_a_feature_slice_is_a_slice_win_with_its_hybrid() -> None:
    planted = ("sliced", 0.0, {"x0 at or above its median": 0.15})
    retro = _retro(_quarter([*NULLS, planted], seed=5))

    assert [(w.short, w.slice) for w in retro.slice_wins] == [
        ("sliced", "x0 at or above its median")
    ]
    lesson = next(lesson for lesson in retro.lessons if lesson.kind == "slice win")
    assert "on rows with x0 at or above its median" in lesson.text
    assert "+experiment=slice_hybrid" in lesson.command
    assert "model.by=feature model.column=0 model.low=0.5" in lesson.command


def test_a_small_inconclusive_gain_is_a_near_miss_only_when_folds_can_settle_it() -> None:
    frame = _quarter([("close", 0.0, {}), ("hopeless", 0.0, {})], seed=6)
    frame = frame[frame["run_id"].isin(["close-0", "hopeless-0"])].copy()
    exact = {  # [folds, mean gain, variance]: one run each
        "close-0": [5, 0.03, 0.0002],  # 2% over the margin, tight folds: more folds settle it
        "hopeless-0": [5, 0.012, 0.001],  # 0.2% over the margin against a 3% spread
    }
    frame["tags"] = [
        {**tags, "shorts.evidence": json.dumps({**json.loads(tags["shorts.evidence"]),
                                                "model": exact[run], "slices": {}})}
        for run, tags in zip(frame["run_id"], frame["tags"], strict=True)
    ]  # fmt: skip
    retro = _retro(frame)
    near = {m.short: m for m in retro.near_misses if m.kind == "within-noise"}

    assert "hopeless" not in near  # out of reach of more folds: it needs more data
    assert "folds in all" in near["close"].detail
    assert not any(c["selected"] for c in retro.claims)


def test_the_report_says_how_many_claims_it_tested_and_at_what_level() -> None:
    retro = _retro(_quarter(NULLS[:2], seed=7))

    assert retro.claims_summary.startswith("10 claims tested")
    assert "; 0 selected with" in retro.claims_summary
    assert "false discovery rate held at 5%" in retro.claims_summary
    assert retro.claims_summary in retro.notes


def test_a_slice_lessons_command_composes_the_hybrid_with_the_runs_own_settings(
    project: Any,
) -> None:
    frame = _quarter([*NULLS, ("sliced", 0.0, {"x0 at or above its median": 0.15})], seed=5)
    choices = {"model": "binned_hist_gbm", "model@baseline": "hist_gbm", "dataset": "diabetes"}
    frame["short"] = ["reframe_classification" if s == "sliced" else s for s in frame["short"]]
    frame["tags"] = [
        {**tags, "shorts.choices": json.dumps(choices),
         "shorts.overrides": "+experiment=reframe_classification model.n_bins=8 "
                             "baseline.max_iter=50 model.random_state=3 caps.wall_time=2m"}
        if run.startswith("sliced") else tags
        for run, tags in zip(frame["run_id"], frame["tags"], strict=True)
    ]  # fmt: skip
    command = _retro(frame).slice_wins[0].command

    assert "model@model.estimator=binned_hist_gbm" in command
    assert "model.estimator.n_bins=8" in command  # the settings it won with, moved to the router
    assert "model.baseline.max_iter=50 baseline.max_iter=50" in command
    assert "random_state" not in command and "caps." not in command
    args = command.removeprefix("shorts ").split()
    done = project.run(*args, "--cfg", "job")
    assert done.returncode == 0, done.stderr
    assert "shorts.routing.SliceRouter" in done.stdout
    assert "n_bins: 8" in done.stdout
