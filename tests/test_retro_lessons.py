"""Cap lessons, suggestions and failure fingerprints, on runs recorded the way ``shorts run`` does.

The temporary sqlite store holds what a new user's first quarter left: the catalog's shorts run
with tight caps, with the params a run logs (the flattened config: ``dataset.*``, ``cv.folds``,
``baseline._target_``), per-fold scores logged as each fold finished, slices, harvest tags, and a
crash whose traceback was saved as the run's artifact. The figures of the two timeouts are those
of the trial that found the bug: ``reframe_classification dataset=friedman1
dataset.n_samples=20000 caps.wall_time=10s`` finished 1 of 5 folds 9.25 s in, and needs ~29 s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shorts import record
from shorts.caps import Caps
from shorts.retro.analysis import harvest, history_runs, own_frame
from shorts.retro.load import TRACEBACK_ARTIFACT, load_runs
from shorts.retro.model import CapLesson, Retrospective
from shorts.retro.period import period_from
from shorts.retro.records import dataset_label
from shorts.retro.synthetic import DATASET_PARAMS

Q4 = datetime(2026, 10, 1, tzinfo=UTC)
REFRAME = "reframing, target-binning, expected-value-decoding"
ORDINAL = "reframing, ordinal-as-regression, fitted-thresholds"
BOOSTING = "gradient-boosting, linear-baseline"
ANYTIME = "anytime-search, optuna-tpe, budget-aware-fitting, model-family-search"
REGRESSOR = "sklearn.ensemble.HistGradientBoostingRegressor"
LIBRARY_WHERE = ".venv/lib/python3.11/site-packages/sklearn/utils/multiclass.py:222 in check"
TRACEBACK = """\
Traceback (most recent call last):
  File "/home/ada/shorts-project/shorts/runner/worker.py", line 118, in main
    result = fn(cfg, ctx)
             ^^^^^^^^^^^^
  File "/home/ada/shorts-project/experiments/reframe_ordinal.py", line 19, in run
    result = run_folds(cfg, ctx)
             ^^^^^^^^^^^^^^^^^^^
  File "/home/ada/shorts-project/shorts/evaluate.py", line 151, in run_folds
    fitted_baseline = clone(baseline).fit(data.X[train], data.y[train])
  File "/home/ada/shorts-project/.venv/lib/python3.11/site-packages/sklearn/base.py", line 1389, in wrapper
    return fit_method(estimator, *args, **kwargs)
  File "/home/ada/shorts-project/.venv/lib/python3.11/site-packages/sklearn/utils/multiclass.py", line 222, in check
    raise ValueError(
ValueError: Unknown label type: continuous.
"""  # noqa: E501


@dataclass
class Store:
    uri: str
    ids: dict[str, str] = field(default_factory=dict)


def _evidence(mean: float, variance: float = 0.0004, folds: int = 5) -> dict[str, str]:
    """The ``shorts.evidence`` tag of a run whose folds gained ``mean`` over the baseline."""
    record = {
        "metric": "rmse",
        "margin": 0.01,
        "test_train": 0.25,
        "model": [folds, mean, variance],
    }
    return {"shorts.evidence": json.dumps(record)}


def _caps(wall_seconds: float, memory_mib: int = 1024) -> Caps:
    return Caps(wall_seconds, memory_mib * record.MIB, cpus=1, grace=2.0)


def _run(
    client: Any,
    experiments: dict[str, str],
    short: str,
    day: float,
    *,
    outcome: str,
    techniques: str,
    dataset: str,
    caps: Caps,
    wall: float,
    rss: float = 200.0,
    verdict: str | None = None,
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    folds_at: list[float] | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """One run as ``shorts run`` records it; ``folds_at`` are seconds after start of each fold."""
    from mlflow.entities import Metric, Param

    if short not in experiments:
        # Artifacts beside the store: a bare create_experiment would put them under ./mlruns.
        root = Path(client.tracking_uri.removeprefix("sqlite:///")).parent
        experiments[short] = client.create_experiment(
            short, artifact_location=(root / "artifacts" / short).as_uri()
        )
    start_ms = int((Q4 + timedelta(days=day)).timestamp() * 1000)
    end_ms = start_ms + int(wall * 1000)
    all_tags = {
        record.SHORT: short,
        record.OUTCOME: outcome,
        record.TECHNIQUES: techniques,
        record.DATASET: dataset,
        record.REASON: f"ended as {outcome}",
        **caps.as_tags(),
        **(tags or {}),
    }
    if verdict is not None:
        all_tags[record.VERDICT] = verdict
    run = client.create_run(experiments[short], start_time=start_ms, tags=all_tags)
    run_id: str = run.info.run_id
    peak = int(rss * record.MIB)
    closing = {
        **record.usage_metrics(wall, wall * 0.9, peak, caps.wall_time, caps.memory, caps.cpus),
        **caps.as_metrics(),
        **(metrics or {}),
    }
    batch = [Metric(k, v, end_ms, 0) for k, v in closing.items()]
    for step, seconds in enumerate(folds_at or []):
        stamp = start_ms + int(seconds * 1000)
        batch += [
            Metric("fold_rmse", 1.4, stamp, step),
            Metric("baseline_fold_rmse", 1.1, stamp, step),
        ]
    all_params = {**DATASET_PARAMS.get(dataset, {}), "cv.folds": "5", **(params or {})}
    client.log_batch(run_id, metrics=batch, params=[Param(k, v) for k, v in all_params.items()])
    client.set_terminated(run_id, "FINISHED" if outcome == "completed" else "FAILED", end_ms)
    return run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("lessons")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    s = Store(uri)
    exps: dict[str, str] = {}
    big = {"dataset.n_samples": "20000", "baseline._target_": REGRESSOR}
    slices = {"slice_q2_rmse": 1.0, "baseline_slice_q2_rmse": 1.2}  # q2 beat the baseline
    binning = json.dumps(
        {"kind": "component", "type": "dict", "path": "harvest/binning_scheme.joblib",
         "evidence": {"rmse": 1.38, "baseline_rmse": 1.12}}
    )  # fmt: skip

    # The trial's repro: 10 s, then the 21 s the old advice gave; both time out.
    s.ids["repro_10s"] = _run(
        client, exps, "reframe_classification", 1, outcome="timeout", techniques=REFRAME,
        dataset="friedman1", caps=_caps(10.0), wall=10.04, params=big, metrics=slices,
        folds_at=[9.252], tags={"shorts.harvest.binning_scheme": binning},
    )  # fmt: skip
    s.ids["repro_21s"] = _run(
        client, exps, "reframe_classification", 2, outcome="timeout", techniques=REFRAME,
        dataset="friedman1", caps=_caps(21.0), wall=21.0, params=big, folds_at=[9.0, 15.0],
    )  # fmt: skip
    # The same short on the default size of the same data set is another lesson.
    s.ids["small_hit"] = _run(
        client, exps, "reframe_classification", 3, outcome="completed", verdict="hit",
        techniques=REFRAME, dataset="friedman1", caps=_caps(60.0), wall=6.0,
        params={"dataset.n_samples": "2000", "baseline._target_": REGRESSOR},
        metrics={"shorts.uplift": 0.02, "folds_completed": 5, "folds_planned": 5},
        folds_at=[2, 3, 4, 5, 5.8],
    )  # fmt: skip
    # A completion the soft deadline cut short (2 of 5 folds), and a clean one.
    s.ids["cut_short"] = _run(
        client, exps, "reframe_classification", 4, outcome="completed", verdict="inconclusive",
        techniques=REFRAME, dataset="diabetes", caps=_caps(60.0), wall=55.0,
        metrics={"shorts.uplift": -0.01, "folds_completed": 2, "folds_planned": 5},
        folds_at=[20.0, 45.0],
    )  # fmt: skip
    s.ids["clean"] = _run(
        client, exps, "reframe_classification", 5, outcome="completed", verdict="miss",
        techniques=REFRAME, dataset="diabetes", caps=_caps(60.0), wall=30.0,
        metrics={"shorts.uplift": -0.05, "folds_completed": 5, "folds_planned": 5},
    )  # fmt: skip
    # Different caps over time: 2 min, then 1 min, which timed out without logging a fold.
    s.ids["roomy"] = _run(
        client, exps, "data_fraction", 6, outcome="completed", verdict="hit",
        techniques="learning-curve, data-subsampling", dataset="randhie", caps=_caps(120.0),
        wall=70.0, metrics={"shorts.uplift": 0.01, "folds_completed": 5, "folds_planned": 5},
    )  # fmt: skip
    s.ids["no_progress"] = _run(
        client, exps, "data_fraction", 7, outcome="timeout",
        techniques="learning-curve, data-subsampling", dataset="randhie", caps=_caps(60.0),
        wall=60.5,
    )  # fmt: skip
    # An anytime search uses its whole budget by design.
    s.ids["anytime_done"] = _run(
        client, exps, "one_hour_build", 8, outcome="completed", verdict="hit", techniques=ANYTIME,
        dataset="diabetes", caps=_caps(3600.0, 4096), wall=3420.0,
        metrics={"shorts.uplift": 0.03},
    )  # fmt: skip
    s.ids["anytime_timeout"] = _run(
        client, exps, "one_hour_build", 9, outcome="timeout", techniques=ANYTIME,
        dataset="diabetes", caps=_caps(3600.0, 4096), wall=3601.0,
    )  # fmt: skip
    # The ordinal reframing: a hit on ordered classes, a crash on a continuous target.
    logistic = {"baseline._target_": "sklearn.linear_model.LogisticRegression"}
    s.ids["ordinal_hit"] = _run(
        client, exps, "reframe_ordinal", 10, outcome="completed", verdict="hit",
        techniques=ORDINAL, dataset="diabetes_ordinal", caps=_caps(60.0), wall=3.0,
        params=logistic, metrics={"shorts.uplift": 0.41}, tags=_evidence(0.41),
    )  # fmt: skip
    error = {"shorts.error.type": "ValueError", "shorts.error.where": LIBRARY_WHERE}
    s.ids["crash_library"] = _run(
        client, exps, "reframe_ordinal", 11, outcome="crashed", techniques=ORDINAL,
        dataset="friedman1", caps=_caps(60.0), wall=1.8, params=logistic, tags=error,
    )  # fmt: skip
    folder = root / "evidence"
    folder.mkdir()
    (folder / "traceback.txt").write_text(TRACEBACK)
    client.log_artifact(s.ids["crash_library"], str(folder / "traceback.txt"), "shorts")
    own = {**error, "shorts.error.where": "experiments/reframe_ordinal.py:19 in run"}
    s.ids["crash_own"] = _run(
        client, exps, "reframe_ordinal", 12, outcome="crashed", techniques=ORDINAL,
        dataset="friedman1", caps=_caps(60.0), wall=1.9, params=logistic, tags=own,
    )  # fmt: skip
    s.ids["crash_no_traceback"] = _run(
        client, exps, "reframe_ordinal", 13, outcome="crashed", techniques=ORDINAL,
        dataset="friedman1", caps=_caps(60.0), wall=1.7, params=logistic,
        tags={"shorts.error.type": "TypeError", "shorts.error.where": LIBRARY_WHERE},
    )  # fmt: skip
    # Gradient boosting against its linear baseline: a hit on diabetes, a miss on randhie.
    s.ids["boosting_hit"] = _run(
        client, exps, "baseline_regression", 14, outcome="completed", verdict="hit",
        techniques=BOOSTING, dataset="diabetes", caps=_caps(60.0), wall=4.0,
        metrics={"shorts.uplift": 0.10}, tags=_evidence(0.10),
    )  # fmt: skip
    s.ids["boosting_miss"] = _run(
        client, exps, "baseline_regression", 15, outcome="completed", verdict="miss",
        techniques=BOOSTING, dataset="randhie", caps=_caps(60.0), wall=4.0,
        metrics={"shorts.uplift": -0.02},
    )  # fmt: skip
    # Another classification data set someone loaded.
    s.ids["rating"] = _run(
        client, exps, "classes", 16, outcome="completed", verdict="none",
        techniques="class-weights", dataset="fair_rating", caps=_caps(60.0), wall=2.0,
    )  # fmt: skip
    yield s


@pytest.fixture(scope="module")
def runs(store: Store) -> pd.DataFrame:
    return load_runs(store.uri, period_from("2026Q4"))


@pytest.fixture(scope="module")
def retro(store: Store, runs: pd.DataFrame) -> Retrospective:
    return harvest(runs, period_from("2026Q4"), store.uri)  # reads histories and tracebacks


def _lesson(retro: Retrospective, short: str, dataset: str) -> CapLesson:
    found = [c for c in retro.cap_lessons if (c.short, c.dataset) == (short, dataset)]
    assert len(found) == 1, [(c.short, c.dataset) for c in retro.cap_lessons]
    return found[0]


# -- wall time from progress -------------------------------------------------------------------


def test_lessons_are_grouped_by_short_and_data_set_with_its_size(retro: Retrospective) -> None:
    keys = {(c.short, c.dataset) for c in retro.cap_lessons}

    assert ("reframe_classification", "friedman1 (n_samples=20000)") in keys
    assert ("reframe_classification", "friedman1 (n_samples=2000)") in keys
    assert ("reframe_classification", "diabetes") in keys


def test_a_timeout_needs_its_elapsed_time_plus_its_remaining_folds_at_its_pace(
    store: Store, retro: Retrospective
) -> None:
    big = _lesson(retro, "reframe_classification", "friedman1 (n_samples=20000)")
    # 10 s cap: 1 of 5 folds at 9.252 s -> 10.04 + 4 x 9.252 = 47.05 s; 21 s cap: folds at 9 s
    # and 15 s -> 21 + 3 x 6 = 39 s. The cap that fits both: 1.5 x 47.05, rounded up.
    assert big.needed_wall_seconds == pytest.approx(10.04 + 4 * 9.252)
    assert big.recommended_wall_seconds == math.ceil(1.5 * (10.04 + 4 * 9.252)) == 71
    assert big.recommended_wall_seconds >= 29  # what the repro needs
    assert big.timeouts == [store.ids["repro_10s"], store.ids["repro_21s"]]
    assert "1 of 5 folds in 10.0s" in big.note and "4 more at 9.3s each" in big.note
    assert "1.5x the time needed" in big.note


def test_without_fold_times_the_need_is_elapsed_over_the_share_of_folds_done(
    store: Store, runs: pd.DataFrame
) -> None:
    folds_only = {
        store.ids["repro_10s"]: {"fold_rmse": [(0, 1.4)]},  # steps and values, no timestamps
        store.ids["repro_21s"]: {"fold_rmse": [(0, 1.4), (1, 1.4)]},
    }

    retro = harvest(runs, period_from("2026Q4"), store.uri, histories=folds_only, tracebacks={})

    big = _lesson(retro, "reframe_classification", "friedman1 (n_samples=20000)")
    # max(10.04 / (1/5), 21 / (2/5)) = 52.5 s
    assert big.needed_wall_seconds == pytest.approx(52.5)
    assert big.recommended_wall_seconds == math.ceil(1.5 * 52.5)


def test_the_note_names_each_cap_a_run_timed_out_at(retro: Retrospective) -> None:
    big = _lesson(retro, "reframe_classification", "friedman1 (n_samples=20000)")

    assert big.note.startswith("2 timeouts at 10.0s, 21.0s;")
    assert big.wall_caps_seconds == [10.0, 21.0]


def test_a_completion_the_soft_deadline_cut_short_counts_as_capped(
    store: Store, retro: Retrospective
) -> None:
    diabetes = _lesson(retro, "reframe_classification", "diabetes")

    assert diabetes.stopped_early == [store.ids["cut_short"]]
    # 55 s for 2 of 5 folds logged at 20 s and 45 s: 55 + 3 x 25 = 130 s, not the 55 s it ran.
    assert diabetes.needed_wall_seconds == pytest.approx(130.0)
    assert diabetes.recommended_wall_seconds == 195.0
    assert "stopped at the soft deadline" in diabetes.note


def test_history_runs_names_the_runs_a_cap_stopped(store: Store, runs: pd.DataFrame) -> None:
    wanted = {"repro_10s", "repro_21s", "cut_short", "no_progress", "anytime_timeout"}

    assert set(history_runs(runs)) == {store.ids[k] for k in wanted}


def test_a_timeout_with_no_progress_logged_gets_a_guess_of_twice_its_time(
    retro: Retrospective,
) -> None:
    randhie = _lesson(retro, "data_fraction", "randhie")

    assert randhie.recommended_wall_seconds == math.ceil(2 * 60.5)
    assert "a guess (no progress logged)" in randhie.note


def test_each_run_is_measured_against_its_own_cap(retro: Retrospective) -> None:
    randhie = _lesson(retro, "data_fraction", "randhie")

    # 70 s of a 2 min cap and 60.5 s of a 1 min cap: the highest share is the timeout's, and
    # no run is reported as over a cap it never had.
    assert randhie.wall_caps_seconds == [60.0, 120.0]
    assert randhie.observed_peak_wall_seconds == 70.0
    assert randhie.peak_wall_share == pytest.approx(60.5 / 60.0)


def test_an_anytime_short_gets_no_wall_time_advice(store: Store, retro: Retrospective) -> None:
    anytime = _lesson(retro, "one_hour_build", "diabetes")

    assert anytime.anytime
    assert anytime.recommended_wall_seconds is None
    assert anytime.timeouts == [store.ids["anytime_timeout"]]
    assert "no wall-time advice" in anytime.note and "by design" in anytime.note
    assert anytime.recommended_memory_mib is not None  # memory advice still applies


# -- fingerprints ------------------------------------------------------------------------------


def test_a_fingerprint_points_at_the_shorts_own_frame_not_the_library(
    store: Store, retro: Retrospective
) -> None:
    prints = {(f.error_type, f.where): f for f in retro.fingerprints}

    own = prints[("ValueError", "experiments/reframe_ordinal.py:19 in run")]
    assert own.runs == [store.ids["crash_library"], store.ids["crash_own"]]
    # No traceback saved, no own frame to find: the recorded innermost frame stands.
    assert prints[("TypeError", LIBRARY_WHERE)].runs == [store.ids["crash_no_traceback"]]


def test_own_frame_reads_the_innermost_frame_of_the_shorts_code() -> None:
    assert own_frame(TRACEBACK, LIBRARY_WHERE) == "experiments/reframe_ordinal.py:19 in run"
    assert own_frame(TRACEBACK) == "experiments/reframe_ordinal.py:19 in run"
    assert own_frame(TRACEBACK.replace("experiments/", "sklearn_only/"), "") is None


def test_the_traceback_is_read_from_the_runs_artifacts(store: Store) -> None:
    from shorts.retro.load import load_tracebacks

    found = load_tracebacks(store.uri, [store.ids["crash_library"], store.ids["crash_own"]])

    assert found == {store.ids["crash_library"]: TRACEBACK}
    assert TRACEBACK_ARTIFACT == "shorts/traceback.txt"


# -- suggestions -------------------------------------------------------------------------------


def test_a_technique_is_suggested_only_for_data_of_the_kind_it_helped_on(
    store: Store, retro: Retrospective
) -> None:
    suggestions = {s.technique: s for s in retro.suggestions}

    # A hit on ordered classes: the classification data set nobody tried it on, not the
    # continuous targets (where it crashes).
    ordinal = suggestions["ordinal-as-regression"]
    assert ordinal.untried_datasets == ["fair_rating"]
    assert ordinal.tasks == ["classification"]
    assert "fitted-thresholds" in suggestions


def test_an_uplift_is_credited_only_to_the_data_set_it_was_measured_on(
    retro: Retrospective,
) -> None:
    boosting = next(s for s in retro.suggestions if s.technique == "gradient-boosting")

    assert boosting.tried_on == ["diabetes", "randhie"]
    assert "a hit pooled over 1 run on diabetes" in boosting.evidence
    assert "randhie" not in boosting.evidence
    assert boosting.untried_datasets == ["friedman1"]  # regression, like diabetes


def test_a_baseline_tag_is_never_suggested_and_gets_no_uplift(retro: Retrospective) -> None:
    ledger = {row.technique: row for row in retro.ledger}

    assert ledger["linear-baseline"].baseline_tag
    assert ledger["linear-baseline"].best_uplift is None
    assert not ledger["gradient-boosting"].baseline_tag
    assert "linear-baseline" not in {s.technique for s in retro.suggestions}


# -- harvest -----------------------------------------------------------------------------------


def test_a_timeouts_components_are_harvested_but_its_target_quartiles_are_no_slice_win(
    store: Store, retro: Retrospective
) -> None:
    # Its slice_q2 metric beat the baseline's, but the true target's quartiles are not known at
    # prediction time and the run made no claim: nothing for a hybrid.
    assert retro.slice_wins == []
    assert [(i.run, i.name) for i in retro.harvested] == [
        (store.ids["repro_10s"], "binning_scheme")
    ]


@pytest.mark.parametrize(
    ("tag", "params", "label"),
    [
        ("friedman1", {"dataset.name": "friedman1", "dataset.n_samples": "20000"},
         "friedman1 (n_samples=20000)"),
        ("diabetes_ordinal", {"dataset.name": "diabetes", "dataset.bins": "5"}, "diabetes_ordinal"),
        ("statsmodels", {"dataset.name": "longley"}, "statsmodels:longley"),
        ("file", {"dataset.name": "null", "dataset.path": "data/houses.csv"},
         "file:data/houses.csv"),
        ("", {}, ""),
    ],
)  # fmt: skip
def test_dataset_label_names_the_data_and_its_size(
    tag: str, params: dict[str, str], label: str
) -> None:
    assert dataset_label(tag, params) == label


def test_without_histories_a_timeouts_need_is_a_guess(store: Store, runs: pd.DataFrame) -> None:
    given = harvest(runs, period_from("2026Q4"), store.uri, histories={}, tracebacks={})

    big = next(c for c in given.cap_lessons if c.dataset == "friedman1 (n_samples=20000)")
    assert "no progress logged" in big.note  # with no histories, a timeout's need is a guess


# -- the first screen: what the quarter taught ---------------------------------------------------


def test_at_most_five_lessons_ranked_by_weight_at_most_two_of_a_kind(
    retro: Retrospective,
) -> None:
    weights = [lesson.weight for lesson in retro.lessons]
    kinds = [lesson.kind for lesson in retro.lessons]

    assert 1 <= len(retro.lessons) <= 5
    assert weights == sorted(weights, reverse=True)
    assert all(kinds.count(kind) <= 2 for kind in kinds)
    assert all(lesson.runs and lesson.text and lesson.next_step for lesson in retro.lessons)


def test_a_cap_lesson_gives_the_cap_to_use_as_a_command(retro: Retrospective) -> None:
    from shorts.retro.claims import Claims
    from shorts.retro.lessons import lessons

    found = lessons([], Claims(), [], retro.cap_lessons, [])
    timeouts = [lesson for lesson in found if "wall-time cap" in lesson.text]
    repro = next(t for t in timeouts if t.text.startswith("reframe_classification"))

    assert repro.kind == "cap"
    assert repro.command.startswith("shorts run +experiment=reframe_classification ")
    assert "caps.wall_time=" in repro.command
    assert all(" " not in part for part in repro.command.split()[2:])  # pastes as it reads


def test_a_hit_lesson_carries_its_uplift_and_p_value(store: Store, retro: Retrospective) -> None:
    hits = [lesson for lesson in retro.lessons if lesson.kind == "hit"]

    assert hits, [lesson.text for lesson in retro.lessons]
    assert all("beat the baseline by" in h.text and "adjusted p " in h.text for h in hits)
    assert all("pooled over 1 run and 5 folds" in h.text for h in hits)
    # the single-run hits without evidence (data_fraction, one_hour_build) make no claim
    assert {h.text.split(" ", 1)[0] for h in hits} == {"reframe_ordinal", "baseline_regression"}
    assert all(h.command.startswith("shorts run +experiment=") for h in hits)


def test_crashes_become_one_lesson_per_fingerprint(retro: Retrospective) -> None:
    from shorts.retro.claims import Claims
    from shorts.retro.lessons import lessons

    found = lessons([], Claims(), [], [], retro.fingerprints)

    assert len(found) == len(retro.fingerprints)
    assert sum(len(lesson.runs) for lesson in found) == sum(f.count for f in retro.fingerprints)
