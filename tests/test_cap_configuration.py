"""Cap advice groups runs the way replicates are: same short, data set and configuration.

Issue 18: a ``reframe_classification`` run timed out under a 5 s cap, and its lesson said "needed
about 14.6s -> caps.wall_time=25.0s", a need taken from sweep trials run with ``~variants``
(which drops two extra models). The short as shipped needs about 31 s. These tests build the
runs as the frame ``load_runs`` returns (no MLflow), with the params ``shorts run`` logs (the
flattened config: ``variants.*``, ``cv.*``, ``caps.*``) and its ``shorts.overrides`` tag, and check
that a need measured on one configuration is never advised for another, while seeds and caps
alone never split a group.
"""

from __future__ import annotations

import math
import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from shorts import record
from shorts.headroom.advice import CapAdvice, advise
from shorts.retro.cap_lessons import cap_lessons, configuration_differences
from shorts.retro.lessons import _cap_lessons
from shorts.retro.load import COLUMNS
from shorts.retro.model import CapLesson, Lesson
from shorts.retro.records import RunRecord, run_records

SHORT = "reframe_classification"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# What ``shorts run +experiment=reframe_classification`` logs as params (a shortened config).
SHIPPED = {
    "dataset.name": "diabetes",
    "dataset.source": "sklearn",
    "cv.folds": "5",
    "cv.seed": "0",
    "model._target_": "shorts.reframe.BinnedRegressor",
    "model.n_bins": "16",
    "model.random_state": "0",
    "baseline._target_": "sklearn.ensemble.HistGradientBoostingRegressor",
    "variants.soft._target_": "shorts.reframe.SoftBinnedRegressor",
    "variants.soft.n_bins": "16",
    "variants.stacked._target_": "shorts.reframe.StackedBinnedRegressor",
    "caps.wall_time": "1m",
    "caps.memory": "1GiB",
    "caps.cpus": "1",
    "tracking.uri": "null",
}
NO_VARIANTS = {k: v for k, v in SHIPPED.items() if not k.startswith("variants.")}


def _params(base: dict[str, str], **changed: str) -> dict[str, str]:
    return {**base, **{k.replace("__", "."): v for k, v in changed.items()}}


def _run(
    run_id: str,
    hour: float,
    outcome: str,
    wall: float,
    params: dict[str, str],
    *,
    wall_cap: float = 60.0,
    overrides: str = f"+experiment={SHORT}",
    metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One row of the frame ``load_runs`` returns, as ``shorts run`` records a run."""
    return {
        "run_id": run_id,
        "experiment_id": "1",
        "experiment": SHORT,
        "short": SHORT,
        "run_name": run_id,
        "status": "FINISHED" if outcome == "completed" else "FAILED",
        "outcome": outcome,
        "verdict": "miss" if outcome == "completed" else None,
        "start_time": START + timedelta(hours=hour),
        "end_time": START + timedelta(hours=hour, seconds=wall),
        "wall_seconds": wall,
        "cpu_seconds": wall * 0.9,
        "peak_rss_mib": 300.0,
        "caps_wall_seconds": wall_cap,
        "caps_memory_mib": 1024.0,
        "caps_cpus": 1.0,
        "uplift": math.nan,
        "p_value": math.nan,
        "techniques": ["reframing"],
        "dataset": "diabetes",
        "model": "binned_hist_gbm",
        "hypothesis": "",
        "reason": f"ended as {outcome}",
        "error_type": None,
        "error_where": None,
        "harvest": {},
        "metrics": dict(metrics or {}),
        "params": dict(params),
        "tags": {
            record.SHORT: SHORT,
            record.DATASET: "diabetes",
            record.OVERRIDES: overrides,
        },
    }


def _records(*rows: dict[str, Any]) -> list[RunRecord]:
    return run_records(pd.DataFrame(list(rows), columns=list(COLUMNS)))


def _lesson_of(lessons: list[CapLesson], run_id: str) -> CapLesson:
    [found] = [c for c in lessons if run_id in c.runs]
    return found


def _cap_lesson_texts(found: list[CapLesson], records: list[RunRecord]) -> list[Lesson]:
    by_id = {r.run_id: r for r in records}
    return _cap_lessons(found, by_id, lambda runs: 0.0)


SWEEP = f"+experiment={SHORT} ~variants"


def _issue_runs(*, timeout_metrics: dict[str, float] | None = None) -> list[RunRecord]:
    """The issue's record: three ``~variants`` sweep trials (seeds differ) that completed in
    9.7 s to 14.6 s under 1 min, and one run of the short as shipped that timed out at 5 s."""
    return _records(
        _run("trial_a", 0, "completed", 9.7, _params(NO_VARIANTS, cv__seed="1"), overrides=SWEEP),
        _run("trial_b", 1, "completed", 14.6, _params(NO_VARIANTS, cv__seed="2"), overrides=SWEEP),
        _run("trial_c", 2, "completed", 12.0, _params(NO_VARIANTS, cv__seed="3"), overrides=SWEEP),
        _run(
            "shipped_timeout",
            3,
            "timeout",
            5.02,
            _params(SHIPPED, caps__wall_time="5s"),
            wall_cap=5.0,
            overrides=f"+experiment={SHORT} caps.wall_time=5s",
            metrics=timeout_metrics,
        ),
    )


# -- the issue's case ------------------------------------------------------------------------


def test_a_timeout_of_the_shipped_short_takes_no_need_from_variantless_trials() -> None:
    records = _issue_runs()

    found = cap_lessons(records, {}, 1.5)

    shipped = _lesson_of(found, "shipped_timeout")
    assert shipped.runs == ["shipped_timeout"]
    # No progress logged: a guess from its own 5 s, never the trials' 14.6 s (-> 25 s).
    assert shipped.wall_guess
    assert shipped.needed_wall_seconds == pytest.approx(5.02)
    assert shipped.recommended_wall_seconds == math.ceil(5.02 + 10.0)
    assert shipped.recommended_wall_seconds != 25.0
    assert "a guess (no progress logged)" in shipped.note
    assert "other configurations do not count" in shipped.wall_basis
    assert "14.6" not in shipped.note and "14.6" not in shipped.wall_basis
    assert shipped.configuration_note == "variants.* present"
    trials = _lesson_of(found, "trial_b")
    assert trials.runs == ["trial_a", "trial_b", "trial_c"]
    assert trials.configuration_note == "variants.* absent"


def test_the_lesson_says_which_configuration_needed_what_and_that_it_is_a_guess() -> None:
    records = _issue_runs()

    [lesson] = _cap_lesson_texts(cap_lessons(records, {}, 1.5), records)

    assert lesson.text.startswith(f"{SHORT} on diabetes (variants.* present): 1 of 1 runs hit")
    assert "needed more than 5.0s" in lesson.text
    assert "14.6" not in lesson.text
    assert "a guess" in lesson.next_step
    assert lesson.command == f"shorts run +experiment={SHORT} dataset=diabetes caps.wall_time=16.0s"
    assert lesson.runs == ["shipped_timeout"]


def test_a_timeout_that_logged_its_folds_is_advised_from_its_own_pace() -> None:
    # 1 of 5 folds done, no fold times: 5.02 s for a fifth -> about 25.1 s in all.
    records = _issue_runs(timeout_metrics={"folds_completed": 1, "folds_planned": 5})

    shipped = _lesson_of(cap_lessons(records, {}, 1.5), "shipped_timeout")

    assert not shipped.wall_guess
    assert shipped.needed_wall_seconds == pytest.approx(5.02 * 5)
    assert shipped.recommended_wall_seconds == math.ceil(1.5 * 5.02 * 5)
    assert "1 of 5 folds" in shipped.note


def test_completed_runs_of_the_same_configuration_give_the_advice() -> None:
    records = [
        *_issue_runs(),
        *_records(
            _run(
                "shipped_done",
                4,
                "completed",
                31.0,
                _params(SHIPPED, caps__wall_time="1m"),
                overrides=f"+experiment={SHORT} caps.wall_time=1m",
            )
        ),
    ]

    found = cap_lessons(records, {}, 1.5)

    shipped = _lesson_of(found, "shipped_timeout")
    assert shipped.runs == ["shipped_timeout", "shipped_done"]
    assert not shipped.wall_guess
    assert shipped.needed_wall_seconds == pytest.approx(31.0)
    assert shipped.recommended_wall_seconds == math.ceil(1.5 * 31.0)
    [lesson] = _cap_lesson_texts(found, records)
    assert "needed about 31.0s" in lesson.text
    assert lesson.command.endswith("caps.wall_time=47.0s")
    assert lesson.command.count("caps.wall_time=") == 1  # the runs' own cap is replaced


def test_the_command_reruns_the_configuration_that_needed_it() -> None:
    # The trials' configuration timed out once as well: its command drops the variants again.
    records = [
        *_issue_runs(),
        *_records(
            _run(
                "trial_timeout",
                5,
                "timeout",
                8.0,
                _params(NO_VARIANTS, cv__seed="4", caps__wall_time="8s"),
                wall_cap=8.0,
                overrides=f"{SWEEP} cv.seed=4 caps.wall_time=8s",
            )
        ),
    ]

    found = _cap_lesson_texts(cap_lessons(records, {}, 1.5), records)

    [variantless] = [x for x in found if "variants.* absent" in x.text]
    assert "needed about 14.6s" in variantless.text
    argv = variantless.command.split()
    assert argv[:3] == ["shorts", "run", f"+experiment={SHORT}"]
    assert "~variants" in argv and "dataset=diabetes" in argv
    assert [a for a in argv if a.startswith("caps.")] == ["caps.wall_time=25.0s"]
    [shipped] = [x for x in found if "variants.* present" in x.text]
    assert "~variants" not in shipped.command


# -- what does and does not split a group ------------------------------------------------------


def test_runs_that_differ_only_in_seeds_are_one_group() -> None:
    records = _records(
        _run("seed0", 0, "completed", 20.0, SHIPPED),
        _run("seed1", 1, "completed", 30.0, _params(SHIPPED, cv__seed="1")),
        _run("seed2", 2, "timeout", 60.2, _params(SHIPPED, model__random_state="7", cv__seed="2")),
    )

    [lesson] = cap_lessons(records, {}, 1.5)

    assert lesson.runs == ["seed0", "seed1", "seed2"]
    assert lesson.configuration_note == ""
    assert "cv.seed" not in lesson.configuration and "random_state" not in lesson.configuration


def test_runs_that_differ_only_in_caps_are_one_group() -> None:
    records = _records(
        _run("tight", 0, "timeout", 5.0, _params(SHIPPED, caps__wall_time="5s"), wall_cap=5.0),
        _run(
            "roomy",
            1,
            "completed",
            31.0,
            _params(SHIPPED, caps__wall_time="2m", caps__memory="4GiB"),
            wall_cap=120.0,
        ),
        _run("elsewhere", 2, "completed", 29.0, _params(SHIPPED, tracking__uri="sqlite:///x.db")),
    )

    [lesson] = cap_lessons(records, {}, 1.5)

    assert lesson.runs == ["tight", "roomy", "elsewhere"]
    assert lesson.wall_caps_seconds == [5.0, 60.0, 120.0]
    assert lesson.needed_wall_seconds == pytest.approx(31.0)


def test_fewer_folds_or_a_sample_of_the_data_is_another_configuration() -> None:
    records = _records(
        _run("shipped", 0, "completed", 31.0, SHIPPED),
        _run("three_folds", 1, "completed", 18.0, _params(SHIPPED, cv__folds="3")),
        _run("sampled", 2, "completed", 6.0, _params(SHIPPED, dataset__sample="0.1")),
    )

    found = cap_lessons(records, {}, 1.5)

    assert len(found) == 3
    notes = {c.runs[0]: c.configuration_note for c in found}
    assert notes["three_folds"].startswith("cv.folds=3")
    assert notes["sampled"].startswith("dataset.sample=0.1")
    assert _lesson_of(found, "shipped").needed_wall_seconds == pytest.approx(31.0)


# -- shorts caps suggest -------------------------------------------------------------------------


def test_caps_suggest_proposes_per_configuration_and_says_which() -> None:
    records = _issue_runs()

    advice = advise(records, {}, 1.5)

    by_note: dict[str, CapAdvice] = {a.configuration_note: a for a in advice}
    assert set(by_note) == {"variants.* present", "variants.* absent"}
    shipped, trials = by_note["variants.* present"], by_note["variants.* absent"]
    assert shipped.runs == 1 and trials.runs == 3
    assert shipped.wall_guess and shipped.wall_time_seconds == 16
    assert "no progress logged" in shipped.wall_basis
    assert trials.wall_time_seconds == 25 and not trials.wall_guess
    assert "~variants" in shlex.split(trials.command)  # quoted: no tilde expansion in a shell
    assert "~variants" not in shlex.split(shipped.command)
    assert shipped.command.endswith("caps.memory=450MiB caps.wall_time=16s")


# -- the note ------------------------------------------------------------------------------------


def test_one_configuration_has_no_note() -> None:
    assert configuration_differences(["a=1; b=2", "a=1; b=2"]) == {"a=1; b=2": ""}
    assert configuration_differences([]) == {}


def test_the_note_names_values_and_missing_subtrees_rarest_first() -> None:
    shipped = "cv.folds=5; model.n=16; variants.soft._target_=S; variants.soft.n=16"
    variantless = "cv.folds=5; model.n=16"
    fewer_folds = "cv.folds=3; model.n=16"
    repeated = "cv.folds=5; cv.repeats=2; model.n=16"

    notes = configuration_differences([shipped, variantless, fewer_folds, repeated])

    assert notes[shipped].startswith("variants.* present")
    assert notes[fewer_folds].startswith("cv.folds=3")
    assert notes[repeated].startswith("cv.repeats=2")
    # Every difference of the plain one is shared by two of the three others: all are named.
    assert notes[variantless] == "cv.repeats absent, variants.* absent, cv.folds=5"


def test_the_note_keeps_to_three_differences_and_counts_the_rest() -> None:
    one = "a=1; b=1; c=1; d=1; e=1"
    other = "a=2; b=2; c=2; d=2; e=2"

    notes = configuration_differences([one, other])

    assert notes[one] == "a=1, b=1, c=1 and 2 more"
    assert notes[other] == "a=2, b=2, c=2 and 2 more"
