"""The retrospective's loading and analysis, on a real (temporary) sqlite MLflow store.

Cap lessons, suggestions and fingerprints on runs recorded the way ``shorts run`` records them
(params, fold times) are in ``test_retro_lessons.py``.

The store holds one quarter of runs shaped like what ``shorts run`` records (every outcome and
verdict, fold evidence in ``shorts.evidence``, target-quartile metrics, harvest tags, histories of
capped runs), runs from another tool with no shorts tags at all, and runs the retrospective must
leave out: a deleted run, a run of a deleted experiment, a run from the quarter before, and the
``retrospectives`` experiment's own runs.

Hits, slice wins, within-noise near misses and suggestions come only from claims: evidence pooled
over replicate runs (same short, data set and configuration, seeds apart) and selected under
Benjamini-Hochberg FDR control across the quarter (``shorts.retro.claims``). The frame-built tests
at the end check that a run without evidence, the luckiest of some replicates, or a claim that
only looks significant alone never becomes a lesson.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shorts import record
from shorts.caps import Caps
from shorts.errors import UsageError
from shorts.retro.analysis import harvest, metric_direction
from shorts.retro.load import COLUMNS, _client_histories, load_histories, load_runs
from shorts.retro.model import Period, Retrospective
from shorts.retro.period import period_from, week_start, weeks_of
from shorts.verdict import TEST_NAME

Q4 = datetime(2026, 10, 1, tzinfo=UTC)
# The caps' display tags, as the runner opens a run with them; the numbers are written at the
# run's close (``_resources``), and only those are read.
SHORT_CAPS = Caps(60.0, 512 * record.MIB, 1, 2.0).as_tags()
BIG_CAPS = Caps(600.0, 4096 * record.MIB, 1, 2.0).as_tags()
# Slices known at prediction time, defined as the runner records them in ``shorts.evidence``.
PREDICTION_Q1 = {"by": "prediction", "quartile": 1, "low": None, "high": 95.5}
PREDICTION_Q4 = {"by": "prediction", "quartile": 4, "low": 180.2, "high": None}
BMI_HIGH = {"by": "feature", "column": 2, "low": 0.0051}
X3_LOW = {"by": "feature", "column": 3, "high": 0.51}
X3_HIGH = {"by": "feature", "column": 3, "low": 0.51}
Gains = tuple[int, float, float]  # [folds, mean, variance] of relative per-fold gains


def _evidence(
    model: Gains,
    slices: dict[str, tuple[dict[str, Any], dict[str, Gains]]] | None = None,
    variants: dict[str, Gains] | None = None,
    metric: str = "rmse",
    direction: str = "minimize",
    margin: float = 0.01,
) -> str:
    """The ``shorts.evidence`` tag the runner records on a completed run.

    ``slices`` maps a slice's name to its definition and each learner's gains on it.
    """
    record = {
        "test": TEST_NAME,
        "metric": metric,
        "direction": direction,
        "margin": margin,
        "alpha": 0.05,
        "test_train": 0.25,
        "model": list(model),
        "variants": {name: list(gains) for name, gains in (variants or {}).items()},
        "slices": {
            name: {**definition, **{learner: list(g) for learner, g in gains.items()}}
            for name, (definition, gains) in (slices or {}).items()
        },
    }
    return json.dumps(record, separators=(",", ":"))


@dataclass
class Store:
    """The temporary store and the ids of the runs the tests talk about."""

    uri: str
    ids: dict[str, str] = field(default_factory=dict)
    experiments: dict[str, str] = field(default_factory=dict)


def _log(
    client: Any,
    experiment_id: str,
    day: float,
    *,
    tags: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    history: dict[str, list[float]] | None = None,
    params: dict[str, str] | None = None,
    status: str | None = "FINISHED",
    wall: float = 30.0,
) -> str:
    """One run started ``day`` days into Q4 2026; ``status=None`` leaves it RUNNING."""
    from mlflow.entities import Metric, Param

    start_ms = int((Q4 + timedelta(days=day)).timestamp() * 1000)
    run = client.create_run(experiment_id, start_time=start_ms, tags=tags or {})
    run_id: str = run.info.run_id
    batch = [Metric(k, v, start_ms, 0) for k, v in (metrics or {}).items()]
    for key, values in (history or {}).items():
        batch += [Metric(key, v, start_ms + step, step) for step, v in enumerate(values)]
    if batch or params:
        client.log_batch(
            run_id, metrics=batch, params=[Param(k, v) for k, v in (params or {}).items()]
        )
    if status is not None:
        client.set_terminated(run_id, status, end_time=start_ms + int(wall * 1000))
    return run_id


def _shorts_tags(
    short: str, outcome: str, techniques: str, dataset: str, **extra: str
) -> dict[str, str]:
    tags = {
        record.SHORT: short,
        record.OUTCOME: outcome,
        record.TECHNIQUES: techniques,
        record.DATASET: dataset,
        record.MODEL: "hist_gbm",
        record.HYPOTHESIS: f"{short} beats its baseline",
        record.CAPS_CPUS: "1",
        record.REASON: f"ended as {outcome}",
        record.CHOICES: json.dumps(
            {"dataset": dataset, "model": "hist_gbm", "model@baseline": "ridge"}
        ),
    }
    tags.update(extra)
    return tags


def _resources(wall: float, rss: float, wall_cap: float, memory_cap: float) -> dict[str, float]:
    """What the runner closes a run with: usage (``rss`` in MiB) and caps (MiB) as numbers."""
    memory = int(memory_cap * record.MIB)
    return {
        **record.usage_metrics(wall, wall * 0.9, int(rss * record.MIB), wall_cap, memory, 1),
        **record.cap_metrics(wall_cap, memory, 1),
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("retro")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    s = Store(uri)
    for name in ("reframe", "fraction", "tiny", "other_tool", "retrospectives", "abandoned"):
        s.experiments[name] = client.create_experiment(
            name, artifact_location=(root / "artifacts" / name).as_uri()
        )
    reframe, fraction, tiny = (s.experiments[k] for k in ("reframe", "fraction", "tiny"))
    binning = "reframing, target-binning"
    harvested = json.dumps(
        {
            "kind": "component",
            "type": "dict",
            "path": "harvest/binning_scheme.joblib",
            "evidence": {"rmse": 51.2, "baseline_rmse": 53.0},
        }
    )

    # reframe: a hit replicated three times (seeds apart), a configuration with 20 bins that
    # missed three times but won on the top quartile of the baseline's prediction, a memout, a
    # timeout still improving, 2 crashes
    hit_slices = {"baseline prediction q4": (PREDICTION_Q4, {"model": (5, 0.1, 0.0009)})}
    for n, (day, gain) in enumerate(((3, 0.08), (4, 0.07), (5, 0.09))):
        s.ids["hit" if n == 0 else f"hit_{n}"] = _log(
            client,
            reframe,
            day,
            tags=_shorts_tags(
                "reframe",
                "completed",
                binning,
                "diabetes",
                **SHORT_CAPS,
                **{
                    "shorts.verdict": "hit",
                    "shorts.overrides": f"+experiment=reframe cv.seed={n}",
                    "shorts.harvest.binning_scheme": harvested,
                    "shorts.evidence": _evidence(
                        (5, gain, 0.0004),
                        slices=hit_slices,
                        variants={"soft": (5, 0.005, 0.0025)},  # a variant with no effect
                    ),
                },
            ),
            metrics={
                **_resources(40, 300, 60, 512),
                "shorts.uplift": gain,
                "shorts.p_value": 0.01,
            },
            params={"cv.seed": str(n)},
            wall=40,
        )
    # The first replicate looks better on bmi's upper half; pooled with the others it is noise.
    lucky_bmi = [(5, 0.09, 0.0004), (5, -0.05, 0.0004), (5, -0.04, 0.0004)]
    for n, (day, gain) in enumerate(((10, -0.03), (13, -0.02), (14, -0.04))):
        s.ids["miss" if n == 0 else f"miss_{n}"] = _log(
            client,
            reframe,
            day,
            tags=_shorts_tags(
                "reframe",
                "completed",
                binning,
                "diabetes",
                **SHORT_CAPS,
                **{
                    "shorts.verdict": "miss",
                    "shorts.overrides": f"+experiment=reframe model.bins=20 cv.seed={n}",
                    "shorts.harvest.binning_scheme": harvested,
                    "shorts.evidence": _evidence(
                        (5, gain, 0.0004),
                        slices={
                            "baseline prediction q1": (
                                PREDICTION_Q1,
                                {"model": (5, -0.1, 0.0009)},
                            ),
                            "baseline prediction q4": (
                                PREDICTION_Q4,
                                {"model": (5, 0.15, 0.0009)},
                            ),
                            "bmi at or above its median": (BMI_HIGH, {"model": lucky_bmi[n]}),
                        },
                    ),
                },
            ),
            metrics={
                **_resources(20, 200, 60, 512),
                "shorts.uplift": gain,
                "shorts.p_value": 0.02,
                # quartiles of the true target: described, never a claim
                "slice_q1_rmse": 60.0,
                "baseline_slice_q1_rmse": 50.0,
                "slice_q4_rmse": 40.0,
                "baseline_slice_q4_rmse": 50.0,
            },
            params={"model.bins": "20", "cv.seed": str(n)},
            wall=20,
        )
    s.ids["memout"] = _log(
        client,
        reframe,
        11,
        tags=_shorts_tags("reframe", "memout", binning, "diabetes", **SHORT_CAPS),
        metrics=_resources(15, 500, 60, 512),
        status="FAILED",
        wall=15,
    )
    s.ids["timeout_improving"] = _log(
        client,
        reframe,
        12,
        tags=_shorts_tags("reframe", "timeout", binning, "diabetes", **SHORT_CAPS),
        metrics=_resources(61, 250, 60, 512),
        history={"best_rmse": [10.0, 9.0, 8.0, 7.5], "baseline_best_rmse": [10, 10, 10, 10]},
        status="FAILED",
        wall=61,
    )
    crash = {"shorts.error.type": "ValueError", "shorts.error.where": "experiments/r.py:41 in run"}
    for n, day in enumerate((20, 21)):
        s.ids[f"crash_value_{n}"] = _log(
            client,
            reframe,
            day,
            tags=_shorts_tags("reframe", "crashed", binning, "diabetes", **SHORT_CAPS, **crash),
            metrics=_resources(2, 90, 60, 512),
            status="FAILED",
            wall=2,
        )
    deleted = _log(client, reframe, 22, tags=_shorts_tags("reframe", "completed", binning, "x"))
    client.delete_run(deleted)
    s.ids["deleted"] = deleted
    s.ids["last_quarter"] = _log(
        client, reframe, -20, tags=_shorts_tags("reframe", "completed", binning, "diabetes")
    )

    # fraction: inconclusive but ahead (more folds would settle it) and a slice win on accuracy,
    # a plateaued timeout, a bare crash, a miss recorded without fold evidence (an older shorts)
    # whose uplift is NaN, whose harvest tag is not JSON and whose target quartile looks better
    s.ids["inconclusive"] = _log(
        client,
        fraction,
        5,
        tags=_shorts_tags(
            "fraction",
            "completed",
            "data-subsampling",
            "friedman1",
            **BIG_CAPS,
            **{
                "shorts.verdict": "inconclusive",
                "shorts.evidence": _evidence(
                    (5, 0.05, 0.0009),
                    slices={
                        "x3 below its median": (X3_LOW, {"model": (5, -0.02, 0.0004)}),
                        "x3 at or above its median": (X3_HIGH, {"model": (5, 0.12, 0.0004)}),
                    },
                    metric="accuracy",
                    direction="maximize",
                ),
            },
        ),
        metrics={
            **_resources(100, 800, 600, 4096),
            "shorts.uplift": 0.05,
            "shorts.p_value": 0.06,
            "slice_q2_accuracy": 0.8,
            "baseline_slice_q2_accuracy": 0.7,
        },
        wall=100,
    )
    s.ids["timeout_plateau"] = _log(
        client,
        fraction,
        30,
        tags=_shorts_tags("fraction", "timeout", "data-subsampling", "friedman1", **BIG_CAPS),
        metrics=_resources(600, 900, 600, 4096),
        history={"best_rmse": [10.0, 9.0, 9.0, 9.0]},
        status="FAILED",
        wall=600,
    )
    s.ids["crash_bare"] = _log(
        client,
        fraction,
        31,
        tags=_shorts_tags(
            "fraction",
            "crashed",
            "data-subsampling",
            "friedman1",
            **BIG_CAPS,
            **{"shorts.reason": "the worker was killed by SIGKILL\nsecond line"},
        ),
        status="FAILED",
    )
    s.ids["nan_miss"] = _log(
        client,
        fraction,
        32,
        tags=_shorts_tags(
            "fraction",
            "completed",
            "data-subsampling",
            "friedman1",
            **BIG_CAPS,
            **{"shorts.verdict": "miss", "shorts.harvest.broken": "{not json"},
        ),
        metrics={
            **_resources(50, 400, 600, 4096),
            "shorts.uplift": math.nan,
            "slice_q4_accuracy": 0.9,
            "baseline_slice_q4_accuracy": 0.6,
        },
        wall=50,
    )

    # tiny: two runs that used a sliver of their caps, no verdict
    for n, day in enumerate((40, 41)):
        s.ids[f"tiny_{n}"] = _log(
            client,
            tiny,
            day,
            tags=_shorts_tags(
                "tiny",
                "completed",
                "linear-baseline",
                "wine",
                **BIG_CAPS,
                **{"shorts.verdict": "none"},
            ),
            metrics=_resources(5, 100, 600, 4096),
            wall=5,
        )

    # another tool: no shorts tags; finished, failed, and still running (no end time)
    other = s.experiments["other_tool"]
    s.ids["other_finished"] = _log(client, other, 50, metrics={"loss": 0.3}, wall=120)
    s.ids["other_failed"] = _log(client, other, 51, status="FAILED", wall=10)
    s.ids["other_running"] = _log(client, other, 52, status=None)

    # left out: the retrospectives' own runs and a deleted experiment's runs
    s.ids["retro_own"] = _log(client, s.experiments["retrospectives"], 60)
    s.ids["abandoned"] = _log(client, s.experiments["abandoned"], 60)
    client.delete_experiment(s.experiments["abandoned"])
    yield s


@pytest.fixture(scope="module")
def runs(store: Store) -> pd.DataFrame:
    return load_runs(store.uri, period_from("2026Q4"))


@pytest.fixture(scope="module")
def retro(store: Store, runs: pd.DataFrame) -> Retrospective:
    return harvest(runs, period_from("2026Q4"), store.uri)


def _row(runs: pd.DataFrame, run_id: str) -> pd.Series:
    return runs.set_index("run_id").loc[run_id]


# -- period ------------------------------------------------------------------------------------


def test_quarter_is_a_half_open_utc_window() -> None:
    period = period_from("2026Q4")

    assert period == Period(
        datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "2026Q4"
    )
    assert period_from("2026-q1").start == datetime(2026, 1, 1, tzinfo=UTC)


def test_default_period_is_the_current_quarter() -> None:
    period = period_from(now=datetime(2026, 8, 15, 12, tzinfo=UTC))

    assert period.label == "2026Q3"
    assert period.start == datetime(2026, 7, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 10, 1, tzinfo=UTC)


def test_until_date_includes_that_whole_day() -> None:
    period = period_from(since="2026-10-01", until="2026-10-31")

    assert period.start == datetime(2026, 10, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 1, tzinfo=UTC)
    assert period.label == "2026-10-01 to 2026-10-31"


def test_since_alone_runs_until_now() -> None:
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

    assert period_from(since="2026-11-01", now=now).end == now


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quarter": "2026Q5"},
        {"quarter": "Q4"},
        {"quarter": "last quarter"},
        {"quarter": "2026"},  # pandas would read these two as quarters: not accepted forms
        {"quarter": "2026-12"},
        {"since": "2026-13-01"},
        {"since": "01/10/2026"},
        {"until": "yesterday"},
        {"quarter": "2026Q4", "since": "2026-10-01"},
        {"since": "2026-12-01", "until": "2026-11-01"},
    ],
)
def test_malformed_period_is_a_usage_error_naming_the_forms(kwargs: dict[str, str]) -> None:
    with pytest.raises(UsageError) as caught:
        period_from(**kwargs, now=datetime(2026, 11, 26, tzinfo=UTC))

    message = str(caught.value)
    assert "\n" not in message
    assert "YYYYQn" in message or "--since must come before --until" in message


def test_weeks_start_on_monday_and_cover_the_period() -> None:
    weeks = weeks_of(period_from("2026Q4"))

    assert weeks[0] == datetime(2026, 9, 28, tzinfo=UTC)  # the Monday before 1 October
    assert weeks[-1] == datetime(2026, 12, 28, tzinfo=UTC)
    assert all(w.weekday() == 0 for w in weeks)
    assert week_start(datetime(2026, 10, 4, 23, 59, tzinfo=UTC)) == weeks[0]


# -- loading -----------------------------------------------------------------------------------


def test_load_runs_keeps_live_runs_of_the_period_only(store: Store, runs: pd.DataFrame) -> None:
    left_out = {store.ids[k] for k in ("deleted", "last_quarter", "retro_own", "abandoned")}

    assert list(runs.columns) == list(COLUMNS)
    assert set(runs["run_id"]) == {v for v in store.ids.values() if v not in left_out}
    assert runs["run_id"].is_unique
    assert runs["start_time"].is_monotonic_increasing
    assert str(runs["start_time"].dt.tz) == "UTC"


def test_load_runs_reads_shorts_tags_and_metrics(store: Store, runs: pd.DataFrame) -> None:
    hit = _row(runs, store.ids["hit"])

    assert (hit["short"], hit["outcome"], hit["verdict"]) == ("reframe", "completed", "hit")
    assert hit["techniques"] == ["reframing", "target-binning"]
    assert hit["caps_wall_seconds"] == 60.0
    assert hit["caps_memory_mib"] == 512.0
    assert hit["caps_cpus"] == 1.0
    assert hit["uplift"] == pytest.approx(0.08)
    assert hit["params"] == {"cv.seed": "0"}
    assert json.loads(hit["tags"]["shorts.evidence"])["model"] == [5, 0.08, 0.0004]
    assert hit["harvest"]["binning_scheme"]["evidence"] == {"rmse": 51.2, "baseline_rmse": 53.0}
    assert hit["metrics"]["shorts.peak_rss_mib"] == 300.0


def test_caps_are_read_from_the_numeric_metrics_never_from_display_tags(
    store: Store, runs: pd.DataFrame
) -> None:
    bare = _row(runs, store.ids["crash_bare"])  # display tags only, as runs recorded before

    assert bare["tags"][record.CAPS_WALL_TIME] == "10m00s"
    assert math.isnan(bare["caps_wall_seconds"]) and math.isnan(bare["caps_memory_mib"])
    assert math.isnan(bare["caps_cpus"])
    timeout = _row(runs, store.ids["timeout_plateau"])
    assert (timeout["caps_wall_seconds"], timeout["caps_memory_mib"]) == (600.0, 4096.0)


def test_runs_of_other_tools_get_outcomes_from_their_status(
    store: Store, runs: pd.DataFrame
) -> None:
    finished = _row(runs, store.ids["other_finished"])
    running = _row(runs, store.ids["other_running"])

    assert (finished["short"], finished["outcome"], finished["verdict"]) == (
        "other_tool",
        "completed",
        "none",
    )
    assert finished["wall_seconds"] == pytest.approx(120.0)  # end - start, no shorts metric
    assert finished["techniques"] == [] and finished["harvest"] == {}
    assert math.isnan(finished["cpu_seconds"]) and math.isnan(finished["caps_wall_seconds"])
    assert _row(runs, store.ids["other_failed"])["outcome"] == "crashed"
    assert running["outcome"] == "running"
    assert pd.isna(running["end_time"]) and math.isnan(running["wall_seconds"])


def test_nan_metrics_and_malformed_harvest_tags_do_not_break_loading(
    store: Store, runs: pd.DataFrame
) -> None:
    row = _row(runs, store.ids["nan_miss"])

    assert math.isnan(row["uplift"])
    assert row["harvest"]["broken"]["raw"] == "{not json"
    assert row["harvest"]["broken"]["evidence"] == {}


def test_histories_come_from_the_sqlite_metrics_table_in_step_order(
    store: Store, runs: pd.DataFrame
) -> None:
    ids = [store.ids["timeout_improving"], store.ids["timeout_plateau"]]

    histories = load_histories(store.uri, ids, keys=["best_rmse"])

    started = int(_row(runs, ids[0])["start_time"].timestamp() * 1000)
    assert histories[ids[0]] == {
        "best_rmse": [(0, 10.0, started), (1, 9.0, started + 1), (2, 8.0, started + 2),
                      (3, 7.5, started + 3)]
    }  # fmt: skip
    assert [p[1] for p in histories[ids[1]]["best_rmse"]] == [10.0, 9.0, 9.0, 9.0]
    assert load_histories(store.uri, ids) == _client_histories(store.uri, ids, None)


# -- analysis: portfolio and ledger ------------------------------------------------------------


def test_portfolio_counts_runs_by_short_outcome_and_verdict(
    store: Store, runs: pd.DataFrame, retro: Retrospective
) -> None:
    counts = {(c.short, c.outcome, c.verdict): c.runs for c in retro.portfolio.counts}

    assert retro.portfolio.total_runs == len(runs) == 19
    assert counts[("reframe", "crashed", "")] == [
        store.ids["crash_value_0"],
        store.ids["crash_value_1"],
    ]
    assert counts[("reframe", "completed", "hit")] == [
        store.ids[k] for k in ("hit", "hit_1", "hit_2")
    ]
    assert counts[("reframe", "completed", "miss")] == [
        store.ids[k] for k in ("miss", "miss_1", "miss_2")
    ]
    assert counts[("tiny", "completed", "none")] == [store.ids["tiny_0"], store.ids["tiny_1"]]
    assert counts[("other_tool", "running", "")] == [store.ids["other_running"]]
    assert sum(len(c.runs) for c in retro.portfolio.counts) == 19


def test_failed_share_prices_exploration_in_cpu_hours(retro: Retrospective) -> None:
    p = retro.portfolio
    # failed: 3 misses(3x20) memout(15) timeout(61) 2 crashes(2+2) inconclusive(100)
    # plateau(600) nan_miss(50) seconds; the bare crash and the other tool's failure recorded no
    # CPU time
    failed_cpu_hours = 0.9 * (3 * 20 + 15 + 61 + 2 + 2 + 100 + 600 + 50) / 3600

    assert p.failed_cpu_hours == pytest.approx(failed_cpu_hours)
    assert p.failed_share == pytest.approx(p.failed_cpu_hours / p.cpu_hours)
    assert 0 < p.failed_share < 1
    assert sum(w.runs for w in p.weeks) == p.total_runs
    assert sum(w.failed for w in p.weeks) == 12
    assert [w.week_start for w in p.weeks] == sorted(w.week_start for w in p.weeks)


def test_one_definition_of_failed_counts_the_same_runs_everywhere(
    store: Store, retro: Retrospective
) -> None:
    from shorts.retro.model import is_failed

    failed = {
        run for c in retro.portfolio.counts if is_failed(c.outcome, c.verdict) for run in c.runs
    }
    expected = {
        store.ids[k]
        for k in (
            "miss",
            "miss_1",
            "miss_2",
            "memout",
            "timeout_improving",
            "crash_value_0",
            "crash_value_1",
            "inconclusive",
            "timeout_plateau",
            "crash_bare",
            "nan_miss",
            "other_failed",
        )
    }

    assert failed == expected  # a hit, runs without a verdict and running runs are not failed
    assert sum(w.failed for w in retro.portfolio.weeks) == len(failed)
    assert {i.run for i in retro.harvested} <= failed
    assert {run for w in retro.slice_wins for run in w.runs} <= failed
    assert {m.run for m in retro.near_misses} <= failed


def test_ledger_counts_each_technique_across_runs(store: Store, retro: Retrospective) -> None:
    rows = {row.technique: row for row in retro.ledger}
    reframing = rows["reframing"]

    assert reframing.hits == [store.ids[k] for k in ("hit", "hit_1", "hit_2")]
    assert reframing.misses == [store.ids[k] for k in ("miss", "miss_1", "miss_2")]
    assert reframing.capped == [store.ids["memout"], store.ids["timeout_improving"]]
    assert len(reframing.crashed) == 2
    assert reframing.best_uplift == pytest.approx(0.09)  # the ledger's best run, not a claim
    assert reframing.best_run == store.ids["hit_2"]
    assert reframing.datasets == ["diabetes"] and reframing.shorts == ["reframe"]
    subsampling = rows["data-subsampling"]
    assert subsampling.inconclusive == [store.ids["inconclusive"]]
    assert subsampling.misses == [store.ids["nan_miss"]]
    assert subsampling.best_uplift == pytest.approx(0.05)  # the NaN uplift is ignored
    assert rows["linear-baseline"].best_uplift is None


# -- analysis: harvest -------------------------------------------------------------------------


def test_harvested_items_of_failed_shorts_carry_their_evidence(
    store: Store, retro: Retrospective
) -> None:
    items = {(i.run, i.name): i for i in retro.harvested}
    scheme = items[(store.ids["miss"], "binning_scheme")]

    assert scheme.kind == "component"
    assert scheme.artifact_path == "harvest/binning_scheme.joblib"
    assert scheme.evidence["rmse"] == 51.2
    assert (scheme.outcome, scheme.verdict) == ("completed", "miss")
    assert (store.ids["nan_miss"], "broken") in items
    assert (store.ids["hit"], "binning_scheme") not in items  # a hit is not a failed short


def test_slice_wins_are_selected_slice_claims_pooled_over_replicates(
    store: Store, retro: Retrospective
) -> None:
    wins = {(w.short, w.learner, w.slice): w for w in retro.slice_wins}
    misses = [store.ids[k] for k in ("miss", "miss_1", "miss_2")]

    # Not the target quartiles the runs logged (slice_q4_rmse 40 < 50), not the bmi half one
    # replicate won, not the hit's own top quartile (a learner that hit overall needs no hybrid).
    assert set(wins) == {
        ("reframe", "model", "baseline prediction q4"),
        ("fraction", "model", "x3 at or above its median"),
    }
    top = wins[("reframe", "model", "baseline prediction q4")]
    assert (top.run, top.runs, top.folds) == (misses[0], misses, 15)
    assert (top.metric, top.dataset, top.verdict) == ("rmse", "diabetes", "miss")
    assert top.techniques == ["reframing", "target-binning"]
    assert top.uplift == pytest.approx(0.15)
    assert 0.01 < top.interval[0] < top.uplift < top.interval[1]  # beyond the margin
    assert top.p_value <= top.adjusted_p <= retro.fdr_level
    assert top.command == (
        "shorts run +experiment=slice_hybrid dataset=diabetes model@model.estimator=hist_gbm "
        "model@model.baseline=ridge model@baseline=ridge model.estimator.bins=20 "  # its config
        "model.by=prediction model.low=180.2 "
        "cv.repeats=3 cv.seed=3"  # as many repeats as runs, on folds none of them used
    )
    # Gains are relative and positive = better whatever the metric's direction: accuracy too.
    feature = wins[("fraction", "model", "x3 at or above its median")]
    assert (feature.runs, feature.folds, feature.metric) == (
        [store.ids["inconclusive"]],
        5,
        "accuracy",
    )
    assert feature.verdict == "inconclusive" and feature.techniques == ["data-subsampling"]
    assert "model.by=feature model.column=3 model.low=0.51" in feature.command
    assert [w.uplift for w in retro.slice_wins] == [pytest.approx(0.15), pytest.approx(0.12)]
    assert not any(re.fullmatch(r"q[1-4]", w.slice) for w in retro.slice_wins)


def test_every_claim_of_the_quarter_is_tested_once_and_selected_under_fdr(
    store: Store, retro: Retrospective
) -> None:
    claims = {(c["short"], tuple(c["runs"]), c["learner"], c["slice"]): c for c in retro.claims}
    hits = tuple(store.ids[k] for k in ("hit", "hit_1", "hit_2"))
    misses = tuple(store.ids[k] for k in ("miss", "miss_1", "miss_2"))

    # hit group: model, its variant, its top quartile; miss group: model and three slices;
    # fraction: model and two halves of x3. The nan miss recorded no evidence: no claim.
    assert len(retro.claims) == len(claims) == 10
    assert {runs for _, runs, _, _ in claims} == {hits, misses, (store.ids["inconclusive"],)}
    selected = {key for key, c in claims.items() if c["selected"]}
    assert selected == {
        ("reframe", hits, "model", ""),
        ("reframe", hits, "model", "baseline prediction q4"),
        ("reframe", misses, "model", "baseline prediction q4"),
        ("fraction", (store.ids["inconclusive"],), "model", "x3 at or above its median"),
    }
    for c in retro.claims:
        assert c["selected"] == (c["bh_adjusted_p"] <= 0.05 and c["uplift"] > c["margin"])
        assert c["bh_adjusted_p"] >= c["p_value"]
    hit = claims[("reframe", hits, "model", "")]
    assert (hit["folds"], hit["uplift"]) == (15, pytest.approx(0.08))  # pooled, not the best run
    lucky = claims[("reframe", misses, "model", "bmi at or above its median")]
    assert lucky["uplift"] == pytest.approx(0.0, abs=1e-12) and lucky["p_value"] > 0.5
    assert lucky["definition"] == BMI_HIGH
    soft = claims[("reframe", hits, "soft", "")]
    assert not soft["selected"] and soft["uplift"] == pytest.approx(0.005)
    assert retro.fdr_level == 0.05
    assert retro.claims_summary in retro.notes
    assert (
        retro.claims_summary.startswith("10 claims tested")
        and "; 4 selected" in retro.claims_summary
    )
    assert TEST_NAME in retro.claims_summary
    assert "false discovery rate held at 5% (Benjamini-Hochberg)" in retro.claims_summary


def test_lessons_rest_on_selected_claims_never_on_one_run(
    store: Store, retro: Retrospective
) -> None:
    by_kind: dict[str, list[Any]] = {}
    for lesson in retro.lessons:
        by_kind.setdefault(lesson.kind, []).append(lesson)
    hits = [store.ids[k] for k in ("hit", "hit_1", "hit_2")]

    (hit,) = by_kind["hit"]
    assert hit.runs == hits
    assert "reframe hit on diabetes" in hit.text
    assert "by 8.0%" in hit.text and "pooled over 3 runs and 15 folds" in hit.text
    assert "one of 10 claims at FDR 5%" in hit.text
    assert hit.command == "shorts run +experiment=reframe dataset=diabetes cv.repeats=3 cv.seed=3"
    assert hit.evidence["runs"] == 3 and hit.evidence["folds"] == 15
    # At most five lessons: the fraction's slice win outweighs the reframe one, which stays a
    # slice win in the harvest; a lesson is only ever made of one.
    wins = {(w.short, w.slice): w for w in retro.slice_wins}
    (feature,) = by_kind["slice win"]
    assert feature.evidence["slice"] == "x3 at or above its median"
    assert (
        feature.runs
        == wins[("fraction", "x3 at or above its median")].runs
        == [store.ids["inconclusive"]]
    )
    assert feature.text.startswith(
        "fraction was inconclusive overall on friedman1 but beat its baseline by 12.0% on rows "
        "with x3 at or above its median (95% interval +8.3% to +15.7%), pooled over 1 run"
    )
    assert feature.command == wins[("fraction", "x3 at or above its median")].command
    assert not any("bmi" in lesson.text or "soft" in lesson.text for lesson in retro.lessons)


def test_near_misses_are_within_noise_or_improving_at_the_cap(
    store: Store, retro: Retrospective
) -> None:
    found = {(m.run, m.kind): m for m in retro.near_misses}

    # The miss group lost (below the margin) and the hit's variant gained less than the margin:
    # no near miss; the plateaued timeout is not one either.
    assert set(found) == {
        (store.ids["inconclusive"], "within-noise"),
        (store.ids["timeout_improving"], "improving-at-cap"),
    }
    noise = found[(store.ids["inconclusive"], "within-noise")]
    assert noise.short == "fraction" and noise.last_values == [pytest.approx(0.05)]
    assert "better than the baseline by +5.0%" in noise.detail
    assert "over 1 run(s) and 5 folds on friedman1" in noise.detail
    needed = int(re.search(r"about (\d+) folds in all", noise.detail)[1])
    assert 5 < needed <= 100  # within reach of more folds
    improving = found[(store.ids["timeout_improving"], "improving-at-cap")]
    assert improving.metric == "best_rmse"
    assert improving.last_values == [10.0, 9.0, 8.0, 7.5]


def test_given_histories_are_used_instead_of_reading_the_store(
    store: Store, runs: pd.DataFrame
) -> None:
    plateau = {store.ids["timeout_plateau"]: {"val_accuracy": [(0, 0.5), (1, 0.6), (2, 0.7)]}}

    retro = harvest(
        runs, period_from("2026Q4"), "sqlite:////nonexistent.db", histories=plateau, tracebacks={}
    )

    capped = [m for m in retro.near_misses if m.kind == "improving-at-cap"]
    assert [(m.run, m.metric) for m in capped] == [(store.ids["timeout_plateau"], "val_accuracy")]


def test_crashes_group_into_fingerprints(store: Store, retro: Retrospective) -> None:
    prints = {(f.error_type, f.where): f for f in retro.fingerprints}
    value_error = prints[("ValueError", "experiments/r.py:41 in run")]

    assert value_error.count == 2
    assert value_error.shorts == ["reframe"]
    assert value_error.example_run in value_error.runs
    bare = prints[("", "the worker was killed by SIGKILL")]  # first line of the reason
    assert bare.runs == [store.ids["crash_bare"]]
    assert sum(f.count for f in retro.fingerprints) == 4  # + the other tool's FAILED run


def test_cap_lessons_recommend_headroom_over_what_the_runs_needed(retro: Retrospective) -> None:
    lessons = {(c.short, c.configuration): c for c in retro.cap_lessons}
    reframe, fraction = lessons[("reframe", "")], lessons[("fraction", "")]

    assert {short for short, _ in lessons} == {"reframe", "fraction", "tiny"}  # not other_tool
    bins = lessons[("reframe", "model.bins=20")]  # its own configuration: a lesson of its own
    assert not bins.timeouts and not bins.memouts and len(bins.runs) == 3
    assert (reframe.dataset, fraction.dataset) == ("diabetes", "friedman1")
    assert len(reframe.memouts) == 1 and len(reframe.timeouts) == 1
    assert reframe.memory_caps_mib == [512.0]
    assert reframe.observed_peak_memory_mib == 512.0  # a memout peaked at least at its cap
    assert reframe.recommended_memory_mib == 768.0
    # The timeouts logged no folds: a guess of 2x what they ran, and the note says so.
    assert reframe.recommended_wall_seconds == 122.0  # 2 x 61 s
    assert "no progress logged" in reframe.note and "guess" in reframe.note
    assert "1 memout at 512.0 MiB" in reframe.note and "1 timeout at 1m00s" in reframe.note
    assert fraction.recommended_wall_seconds == 1200.0
    assert not reframe.underused and not fraction.underused


def test_shorts_using_under_a_tenth_of_their_caps_are_underused(retro: Retrospective) -> None:
    tiny = next(c for c in retro.cap_lessons if c.short == "tiny")

    assert tiny.underused
    assert tiny.recommended_wall_seconds == 15.0  # 5 s + 10 s to spare (1.5 x 5 s is too tight)
    assert "10.0s over that rather than 1.5x" in tiny.wall_basis
    assert tiny.recommended_memory_mib == 150.0
    assert tiny.peak_wall_share == pytest.approx(5 / 600)
    assert "under 10%" in tiny.note


def test_suggestions_come_from_selected_claims_for_untried_datasets(
    store: Store, retro: Retrospective
) -> None:
    suggestions = {s.technique: s for s in retro.suggestions}
    hits = [store.ids[k] for k in ("hit", "hit_1", "hit_2")]
    misses = [store.ids[k] for k in ("miss", "miss_1", "miss_2")]

    assert set(suggestions) == {"reframing", "target-binning", "data-subsampling"}
    reframing = suggestions["reframing"]
    assert reframing.untried_datasets == ["friedman1", "wine"]
    assert reframing.tried_on == ["diabetes"]
    assert reframing.runs == hits + misses  # the pooled hit, then the slice win
    assert reframing.evidence == (
        "a hit pooled over 3 runs on diabetes, "
        "slice wins over the baseline pooled over 3 runs on diabetes"
    )
    subsampling = suggestions["data-subsampling"]
    assert subsampling.untried_datasets == ["diabetes", "wine"]
    assert subsampling.runs == [store.ids["inconclusive"]]
    assert subsampling.evidence == "slice wins over the baseline pooled over 1 run on friedman1"
    assert "linear-baseline" not in suggestions  # a baseline tag, and no evidence either


def test_run_links_point_at_the_ui_given_else_at_shorts_ui(
    store: Store, runs: pd.DataFrame
) -> None:
    hit = store.ids["hit"]
    embedded = harvest(runs, period_from("2026Q4"), store.uri, histories={})
    linked = harvest(
        runs, period_from("2026Q4"), store.uri, histories={}, ui_url="http://ui.example:8080/"
    )
    page = f"/#/experiments/{store.experiments['reframe']}/runs/{hit}"

    assert embedded.ui_url == "http://127.0.0.1:5000"  # where `shorts ui` serves this store
    assert embedded.run_links[hit] == "http://127.0.0.1:5000" + page
    assert linked.run_links[hit] == "http://ui.example:8080" + page
    assert set(linked.run_links) == set(runs["run_id"])
    assert embedded.run_names[hit]  # runs appear by name
    assert embedded.run_experiments[hit] == store.experiments["reframe"]


def test_notes_mention_other_tools_and_running_runs(retro: Retrospective) -> None:
    assert any("3 runs from other tools" in note for note in retro.notes)
    assert any("still marked running" in note for note in retro.notes)


def test_an_empty_period_gives_empty_sections_and_a_note(store: Store) -> None:
    period = period_from("2025Q1")

    retro = harvest(load_runs(store.uri, period), period, store.uri)

    assert retro.notes == ["No runs in 2025Q1."]
    assert retro.portfolio.total_runs == 0 and retro.portfolio.failed_share == 0.0
    assert retro.portfolio.counts == [] and retro.portfolio.weeks == []
    sections = [
        retro.ledger,
        retro.harvested,
        retro.slice_wins,
        retro.near_misses,
        retro.fingerprints,
        retro.cap_lessons,
        retro.suggestions,
    ]
    assert all(section == [] for section in sections)


def test_a_missing_sqlite_store_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no MLflow store"):
        load_runs(f"sqlite:///{tmp_path / 'absent.db'}", period_from("2026Q4"))


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("rmse", "minimize"),
        ("fold_mae", "minimize"),
        ("val_loss", "minimize"),
        ("accuracy", "maximize"),
        ("r2", "maximize"),
        ("rmse_uplift", "maximize"),
        ("rmse_std", None),
        ("n_bins", None),
    ],
)
def test_metric_direction_follows_the_name(name: str, direction: str | None) -> None:
    assert metric_direction(name) == direction


def test_ten_thousand_runs_are_analysed_from_a_partial_frame() -> None:
    n = 10_000
    top: Gains = (5, 0.06, 0.0004)
    base = pd.Timestamp("2026-10-01", tz="UTC")
    outcomes = ["completed", "timeout", "memout", "crashed"]
    frame = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(n)],
            "experiment_id": "1",
            "experiment": "s",
            "short": [f"short_{i % 7}" for i in range(n)],
            "outcome": [outcomes[i % 4] for i in range(n)],
            "verdict": [
                ("hit", "miss", "inconclusive")[i % 3] if i % 4 == 0 else "" for i in range(n)
            ],
            "start_time": [base + pd.Timedelta(minutes=13 * i) for i in range(n)],
            "wall_seconds": 30.0,
            "cpu_seconds": 25.0,
            "peak_rss_mib": 100.0,
            "caps_wall_seconds": 60.0,
            "caps_memory_mib": 512.0,
            "uplift": [(i % 11 - 5) / 100 for i in range(n)],
            "techniques": [[f"t{i % 5}", f"t{i % 3 + 5}"] for i in range(n)],
            "dataset": [f"d{i % 4}" for i in range(n)],
            "error_type": "ValueError",
            "metrics": [{"slice_q1_rmse": 1.0, "baseline_slice_q1_rmse": 2.0} for _ in range(n)],
            # completed runs record fold evidence: no effect overall, a real one on a slice
            "tags": [
                {
                    "shorts.evidence": _evidence(
                        (5, (i % 11 - 5) / 100, 0.0004),
                        slices={"baseline prediction q4": (PREDICTION_Q4, {"model": top})},
                    )
                }
                if i % 4 == 0
                else {}
                for i in range(n)
            ],
        }
    )  # missing columns (harvest, params, ...) are tolerated

    retro = harvest(
        frame, period_from("2026Q4"), "sqlite:////unused.db", histories={}, tracebacks={}
    )

    assert retro.portfolio.total_runs == n
    assert sum(len(row.hits) for row in retro.ledger if row.technique.startswith("t")) > 0
    assert sum(len(c.runs) for c in retro.cap_lessons) == n
    # The completed runs of each short are replicates: 7 groups, each claim pooled once.
    assert len(retro.claims) == 14
    assert not any(c["selected"] for c in retro.claims if not c["slice"])
    assert len(retro.slice_wins) == 7
    assert sum(len(w.runs) for w in retro.slice_wins) == n // 4
    assert all(w.folds == 5 * len(w.runs) for w in retro.slice_wins)
    assert all(w.verdict == "inconclusive" for w in retro.slice_wins)
    assert not any(lesson.kind == "hit" for lesson in retro.lessons)


# -- claims: the retrospective never teaches noise ---------------------------------------------


def _claim_run(
    short: str,
    verdict: str,
    uplift: float,
    evidence: str | None = None,
    *,
    dataset: str = "diabetes",
    technique: str = "boosting",
    seed: int = 0,
) -> dict[str, Any]:
    """A completed run as ``load_runs`` gives it; ``evidence`` is its ``shorts.evidence``."""
    tags = {"shorts.short": short, "shorts.verdict": verdict}
    if evidence is not None:
        tags["shorts.evidence"] = evidence
    return {
        "short": short,
        "outcome": "completed",
        "verdict": verdict,
        "uplift": uplift,
        "techniques": [technique],
        "dataset": dataset,
        "params": {"cv.seed": str(seed)},
        "tags": tags,
    }


def _claims_retro(*rows: dict[str, Any]) -> Retrospective:
    """The retrospective of ``rows``, with a run on another data set for suggestions to name."""
    other = _claim_run("ridge", "miss", -0.1, dataset="wine", technique="ridge-tuning")
    base = pd.Timestamp("2026-10-01", tz="UTC")
    frame = pd.DataFrame(
        [
            {
                "run_id": f"run{i}",
                "experiment_id": "1",
                "start_time": base + pd.Timedelta(hours=i),
                "wall_seconds": 60.0,
                "cpu_seconds": 60.0,
                **row,
            }
            for i, row in enumerate([*rows, other])
        ]
    )
    return harvest(
        frame, period_from("2026Q4"), "sqlite:////unused.db", histories={}, tracebacks={}
    )


def _taught(retro: Retrospective) -> set[str]:
    """The kinds of lessons, suggestions and near misses a retrospective drew from claims."""
    kinds = {lesson.kind for lesson in retro.lessons}
    kinds |= {"suggestion"} if retro.suggestions else set()
    kinds |= {"slice win"} if retro.slice_wins else set()
    kinds |= {m.kind for m in retro.near_misses}
    return kinds


def test_runs_without_fold_evidence_make_no_claim() -> None:
    hit = _claim_run("boost", "hit", 0.3)
    ahead = _claim_run("boost_lr", "inconclusive", 0.05, seed=1)

    retro = _claims_retro(hit, ahead)

    assert retro.claims == [] and _taught(retro) == set()  # no hit, no near miss, no suggestion
    assert retro.claims_summary == (
        "No claim was tested: no completed run recorded fold evidence "
        "(3 completed runs without it)."
    )
    assert retro.claims_summary in retro.notes
    boosting = next(row for row in retro.ledger if row.technique == "boosting")
    assert boosting.hits == ["run0"] and boosting.best_uplift == pytest.approx(0.3)  # reported
    # The same run with its folds recorded is a claim, and strong enough to teach.
    hit["tags"]["shorts.evidence"] = _evidence((5, 0.3, 0.0025))
    assert {"hit", "suggestion"} <= _taught(_claims_retro(hit, ahead))


def test_the_luckiest_replicate_is_never_the_evidence() -> None:
    q4 = {"baseline prediction q4": (PREDICTION_Q4, {"model": (5, 0.2, 0.0004)})}
    lucky = _claim_run("boost", "hit", 0.09, _evidence((5, 0.09, 0.0004), slices=q4))
    others = [
        _claim_run(
            "boost",
            "miss",
            gain,
            _evidence(
                (5, gain, 0.0004),
                slices={"baseline prediction q4": (PREDICTION_Q4, {"model": (5, -0.1, 0.0004)})},
            ),
            seed=seed,
        )
        for seed, gain in ((1, -0.05), (2, -0.04))
    ]

    alone = _claims_retro(lucky)
    together = _claims_retro(lucky, *others)

    assert {"hit", "suggestion"} <= _taught(alone)  # one run alone would have taught it
    assert _taught(together) == set()  # no hit, no slice win, no near miss, no suggestion
    assert [(c["slice"], c["runs"], c["folds"]) for c in together.claims] == [
        ("", ["run0", "run1", "run2"], 15),
        ("baseline prediction q4", ["run0", "run1", "run2"], 15),
    ]
    assert all(c["uplift"] == pytest.approx(0.0, abs=1e-12) for c in together.claims)
    assert not any(c["selected"] for c in together.claims)


def test_a_claim_significant_alone_is_not_selected_among_many() -> None:
    candidate = _claim_run("boost", "hit", 0.06, _evidence((5, 0.06, 0.0004)))
    nulls = [
        _claim_run(f"null_{k}", "miss", 0.0, _evidence((5, 0.0, 0.0004)), technique=f"t{k}")
        for k in range(30)
    ]

    alone = _claims_retro(candidate)
    among = _claims_retro(candidate, *nulls)

    (claim,) = alone.claims
    assert claim["p_value"] == pytest.approx(0.0102, abs=1e-4)
    assert claim["selected"] and "hit" in _taught(alone)
    tested = {c["short"]: c for c in among.claims}
    assert len(tested) == 31
    assert tested["boost"]["p_value"] == pytest.approx(claim["p_value"])
    assert tested["boost"]["bh_adjusted_p"] == pytest.approx(31 * claim["p_value"])
    assert not any(c["selected"] for c in among.claims)
    # Not taught, but not lost: more folds would settle it, so it is a near miss.
    assert _taught(among) == {"within-noise"}
    (miss,) = among.near_misses
    assert miss.short == "boost" and miss.run == "run0"
    assert (
        among.claims_summary.startswith("31 claims tested")
        and "; 0 selected" in among.claims_summary
    )
