"""The CPU-time cap (``caps.cpu_time``): CPU seconds of the whole worker tree, as BenchExec's.

Enforced on real processes that cannot finish (an endless CPU loop, in the worker or in a
child), so only the cap can stop them; a malformed value is refused before any run; the record
carries the cap and the use as numbers; the retrospective's cap lessons and ``shorts caps
suggest`` advise it from the runs, as they do wall time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ShortsProject
from rich.console import Console
from test_cap_configuration import SHIPPED, _records, _run
from test_runner_faults import (  # noqa: F401  (migrated_store: a fixture)
    check_evidence_files,
    evidence,
    migrated_store,
    run_fault,
)

from shorts import record
from shorts.caps import CpuTime, Usage, parse_caps
from shorts.console import status_line
from shorts.errors import UsageError
from shorts.outcome import CAPPED, Outcome

CPU_CAP = {"cpu_time": "3s", "wall_time": "120s"}  # the wall time is never the one to fire


@pytest.fixture
def store(project: ShortsProject, migrated_store: Path) -> None:  # noqa: F811
    """The project's store, migrated once for the module (as in ``test_runner_faults``)."""
    shutil.copy(migrated_store, project.root / "mlflow.db")


# -- enforced on real processes ----------------------------------------------------------------


@pytest.mark.usefixtures("store")
def test_a_short_spinning_on_the_cpu_is_stopped_by_the_cpu_time_cap_and_recorded_as_cputime(
    project: ShortsProject, tmp_path: Path
) -> None:
    run = run_fault(project, "burn_cpu", CPU_CAP, exit_status=1, outcome="cputime", status="FAILED")

    reason = run.data.tags["shorts.reason"]
    assert "CPU seconds, over the 3.0s CPU-time cap" in reason and "SIGTERM" in reason
    assert run.data.tags["shorts.caps.cpu_time"] == "3.0s"
    metrics = run.data.metrics
    assert metrics["shorts.caps.cpu_time_seconds"] == 3.0
    assert metrics["shorts.cpu_seconds"] >= 3.0
    assert metrics["shorts.cap_used.cpu_time"] >= 1.0
    assert metrics["shorts.wall_seconds"] < 120.0  # the wall-time cap did not stop it
    folder = evidence(project, run, tmp_path)
    check_evidence_files(folder, "cputime")
    breach = json.loads((folder / "observation.json").read_text())["breach"]
    assert breach["cap"] == "cpu_time" and breach["limit"] == 3.0 and breach["used"] > 3.0


@pytest.mark.usefixtures("store")
def test_the_cpu_time_of_a_child_counts_against_the_cap_of_the_tree(
    project: ShortsProject,
) -> None:
    run = run_fault(
        project, "burn_cpu_in_child", CPU_CAP, exit_status=1, outcome="cputime", status="FAILED"
    )

    assert run.data.metrics["shorts.cpu_seconds"] >= 3.0


@pytest.mark.usefixtures("store")
def test_a_malformed_cpu_time_cap_is_refused_in_one_line_before_any_run(
    project: ShortsProject,
) -> None:
    project.add_short("fault_quick", "quick")

    done = project.run("run", "+experiment=fault_quick", "caps.cpu_time=fast")

    assert done.returncode == 2
    message = done.stderr.strip()
    assert "caps.cpu_time='fast' is not a duration" in message and "\n" not in message
    assert "Traceback" not in done.stderr
    assert project.runs("fault_quick") == []


# -- the cap as an object ------------------------------------------------------------------------


GOOD = {"wall_time": "20s", "memory": "768MiB"}


@pytest.mark.parametrize("config", [GOOD, {**GOOD, "cpu_time": None}])
def test_no_cpu_time_cap_unless_one_is_given(config: dict[str, Any]) -> None:
    caps = parse_caps(config)

    assert caps.get("cpu_time") is None
    assert record.caps_metric("cpu_time", "seconds") not in caps.as_metrics()


@pytest.mark.parametrize(("value", "seconds"), [("90s", 90.0), ("2m", 120.0), (30, 30.0)])
def test_a_cpu_time_cap_is_parsed_as_a_duration(value: Any, seconds: float) -> None:
    caps = parse_caps({**GOOD, "cpu_time": value})

    assert caps.get("cpu_time") == CpuTime(seconds)
    assert caps.as_metrics()["shorts.caps.cpu_time_seconds"] == seconds
    assert caps.as_tags()["shorts.caps.cpu_time"]


@pytest.mark.parametrize("value", ["fast", "-3s", 0, True, "3 parsecs"])
def test_a_bad_cpu_time_cap_names_the_key_and_the_forms(value: Any) -> None:
    with pytest.raises(UsageError, match=r"caps\.cpu_time=.*duration"):
        parse_caps({**GOOD, "cpu_time": value})


def test_the_cap_is_breached_by_the_tree_cpu_seconds_and_says_so_from_the_numbers() -> None:
    cap = CpuTime(60.0)

    assert not cap.breached(Usage(elapsed=100.0, cpu_seconds=59.9, rss=0))
    over = Usage(elapsed=31.0, cpu_seconds=61.2, rss=0)
    assert cap.breached(over)
    assert cap.reason(over) == (
        "the worker tree used 61.20 CPU seconds, over the 1m00s CPU-time cap, after 31.0s"
    )
    assert cap.outcome is Outcome.CPUTIME and Outcome.CPUTIME in CAPPED
    assert Outcome.CPUTIME.mlflow_status == "FAILED" and Outcome.CPUTIME.exit_status == 1
    assert parse_caps({**GOOD, "cpu_time": "60s"}).usage_metrics(over)[
        "shorts.cap_used.cpu_time"
    ] == pytest.approx(61.2 / 60)


def test_the_live_status_line_shows_each_cap_against_its_limit() -> None:
    usage = Usage(elapsed=31.0, cpu_seconds=45.0, rss=80 * 2**20)

    with_cpu = status_line("spin", parse_caps({**GOOD, "cpu_time": "60s"}), usage).plain
    without = status_line("spin", parse_caps(GOOD), usage).plain

    assert with_cpu.startswith("▶ spin  31.0s / 20.0s  ████████████")
    assert "  mem 80.0 MiB / 768.0 MiB  █░░░░░░░░░░░" in with_cpu
    assert with_cpu.endswith("  cpu 45.0s / 1m00s  █████████░░░")
    assert without == with_cpu.split("  cpu ")[0]


# -- advised from the record: the retrospective and ``shorts caps suggest`` ---------------------


def _cpu_runs() -> list[Any]:
    """A run stopped by its 3 s CPU-time cap after 3.1 CPU seconds, and one that completed
    under a 10 s cap using 2 s."""
    return _records(
        _run(
            "stopped",
            0,
            "cputime",
            4.0,
            SHIPPED,
            metrics={"shorts.caps.cpu_time_seconds": 3.0, "shorts.cpu_seconds": 3.1},
        ),
        _run(
            "fitted",
            1,
            "completed",
            5.0,
            SHIPPED,
            metrics={"shorts.caps.cpu_time_seconds": 10.0, "shorts.cpu_seconds": 2.0},
        ),
    )


def test_the_cap_lesson_advises_a_cpu_time_cap_from_what_the_runs_used() -> None:
    from shorts.retro.cap_lessons import cap_lessons

    [lesson] = cap_lessons(_cpu_runs(), {}, 1.5)

    [need] = lesson.others
    assert (need.key, need.stopped, need.caps) == ("cpu_time", ["stopped"], [3.0, 10.0])
    assert need.needed == pytest.approx(3.1) and need.guess  # it needed more than it got
    assert need.recommended == 7.0 and need.override == "caps.cpu_time=7s"  # 2 x 3.1, up
    assert "1 cputime at 3.0s, 10.0s; try 7.0s" in lesson.note


def test_the_retrospective_lesson_reruns_the_short_with_the_cpu_time_it_needed() -> None:
    from shorts.retro.cap_lessons import cap_lessons
    from shorts.retro.lessons import _cap_lessons

    records = _cpu_runs()
    by_id = {r.run_id: r for r in records}

    [lesson] = _cap_lessons(cap_lessons(records, {}, 1.5), by_id, lambda runs: 0.0)

    assert "1 of 2 hit the CPU-time cap and needed more than 3.1s" in lesson.text
    assert lesson.command.endswith("caps.cpu_time=7s") and lesson.runs == ["stopped"]


def test_the_retrospective_table_has_a_cpu_time_column() -> None:
    from shorts.reports.document import Table
    from shorts.retro.cap_lessons import cap_lessons
    from shorts.retro.render import _cap_lessons as render_cap_lessons

    blocks = render_cap_lessons(cap_lessons(_cpu_runs(), {}, 1.5))

    [table] = [b for b in blocks if isinstance(b, Table)]
    assert "CPU-time (stopped)" in table.headers
    cell = table.rows[0][table.headers.index("CPU-time (stopped)")]
    assert cell[0] == "1 · " and "7.0s" in str(cell)  # stopped once; the cap to use


def test_caps_suggest_shows_a_cpu_time_line_and_proposes_the_cap() -> None:
    from shorts.headroom.advice import advise
    from shorts.headroom.command import _print_advice

    [advice] = advise(_cpu_runs(), {}, 1.5)

    assert "caps.cpu_time=7s" in advice.overrides and "caps.cpu_time=7s" in advice.command
    console = Console(record=True, width=120)
    _print_advice(console, advice, parse_caps({**GOOD, "cpu_time": "3s"}), configured=True)
    shown = console.export_text()
    line = next(x for x in shown.splitlines() if x.startswith("CPU time") and "7s" in x)
    assert "3.0s" in line  # the cap it runs under now, beside the proposal
    assert "a guess" in shown
