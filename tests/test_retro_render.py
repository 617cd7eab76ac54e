"""The retrospective's report: HTML, Markdown and JSON of one ``Retrospective``, in a browser.

A hand-built retrospective (every section filled, hostile text included) and an empty one are
rendered; the HTML is checked for its sections, embedded plots, escaping and run links, then opened
in headless Chromium. The end-to-end test runs real shorts and ``shorts retro`` in a fresh project.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ShortsProject

from shorts.retro.model import (
    CapLesson,
    Fingerprint,
    HarvestedItem,
    LedgerRow,
    NearMiss,
    OutcomeCount,
    Period,
    Portfolio,
    Retrospective,
    SliceWin,
    Suggestion,
    WeekPoint,
)
from shorts.retro.render import render

SECTION_IDS = [
    "portfolio",
    "ledger",
    "harvest",
    "slice-wins",
    "near-misses",
    "fingerprints",
    "cap-lessons",
    "next",
]
HOSTILE = '<script>alert("x")</script> & "quotes"'
UI = "http://mlflow.example:5000/#/experiments/1/runs/"
CHROMIUM = Path("/usr/bin/chromium")


def _run_id(n: int) -> str:
    return hashlib.md5(f"run {n}".encode()).hexdigest()  # 32 hex digits, like MLflow's


HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2, NO_URL = (_run_id(n) for n in range(1, 9))


def _filled() -> Retrospective:
    """A quarter with a little of everything; one run has no UI link."""
    period = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "2026Q4")
    counts = [
        OutcomeCount("reframe_classification", "completed", "hit", [HIT], 0.5, 0.5),
        OutcomeCount("reframe_classification", "completed", "miss", [MISS], 0.4, 0.4),
        OutcomeCount("baseline_regression", "completed", "inconclusive", [INCONCLUSIVE], 0.2, 0.2),
        OutcomeCount("one_hour_build", "timeout", "", [TIMEOUT], 2.0, 1.0),
        OutcomeCount("one_hour_build", "memout", "", [MEMOUT], 0.3, 0.3),
        OutcomeCount("data_fraction", "crashed", "", [CRASH, CRASH2, NO_URL], 0.1, 0.1),
    ]
    weeks = [
        WeekPoint(datetime(2026, 9, 28, tzinfo=UTC), 4, 2, 2.6, 2.1),
        WeekPoint(datetime(2026, 10, 5, tzinfo=UTC), 0, 0, 0.0, 0.0),
        WeekPoint(datetime(2026, 10, 12, tzinfo=UTC), 4, 4, 0.9, 0.8),
    ]
    portfolio = Portfolio(8, counts, weeks, 3.5, 2.5, 2.9, 2.9 / 3.5)
    ledger = [
        LedgerRow(
            "reframing",
            ["reframe_classification"],
            [HIT, MISS],
            [HIT],
            [MISS],
            [],
            [],
            [],
            0.12,
            HIT,
            ["diabetes"],
        ),
        LedgerRow(
            "anytime-search",
            ["one_hour_build"],
            [TIMEOUT, MEMOUT],
            [],
            [],
            [],
            [TIMEOUT, MEMOUT],
            [],
            None,
            None,
            ["friedman1"],
        ),
    ]
    harvested = [
        HarvestedItem(
            "reframe_classification",
            MISS,
            "binning_scheme",
            "component",
            "dict",
            "harvest/binning_scheme.joblib",
            {"rmse": 52.123456, "note": HOSTILE},
            "completed",
            "miss",
        )
    ]
    slice_wins = [
        SliceWin(
            "reframe_classification",
            MISS,
            "q4",
            "rmse",
            61.5,
            70.25,
            0.1246,
            ["reframing", "target-binning"],
            "diabetes",
        )
    ]
    near_misses = [
        NearMiss("baseline_regression", INCONCLUSIVE, "within-noise", "p = 0.21 on 5 folds"),
        NearMiss(
            "one_hour_build",
            TIMEOUT,
            "improving-at-cap",
            "fold_rmse still falling when the wall cap fired",
            "fold_rmse",
            [61.0, 60.2, 59.7],
        ),
    ]
    fingerprints = [
        Fingerprint(
            "ValueError",
            "experiments/data_fraction.py:30 in run",
            3,
            ["data_fraction"],
            CRASH,
            f"the short raised ValueError: {HOSTILE}",
            [CRASH, CRASH2, NO_URL],
        )
    ]
    cap_lessons = [
        CapLesson(
            "one_hour_build",
            [TIMEOUT, MEMOUT],
            [TIMEOUT],
            [MEMOUT],
            3600.0,
            1024.0,
            3600.0,
            1030.0,
            5400.0,
            1545.0,
            False,
            "raise both caps",
        ),
        CapLesson(
            "reframe_classification",
            [HIT, MISS],
            [],
            [],
            600.0,
            4096.0,
            6.0,
            150.0,
            9.0,
            225.0,
            True,
            "used under 10% of its caps",
        ),
    ]
    suggestions = [
        Suggestion(
            "reframing",
            "hit on diabetes (+12.0%)",
            [HIT],
            ["diabetes"],
            ["friedman1", "randhie"],
        )
    ]
    links = {run: UI + run for run in (HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2)}
    links[NO_URL] = NO_URL
    return Retrospective(
        period,
        "http://user:s3cret@mlflow.example:5000",
        datetime(2027, 1, 2, 9, 30, tzinfo=UTC),
        portfolio,
        ledger,
        harvested,
        slice_wins,
        near_misses,
        fingerprints,
        cap_lessons,
        suggestions,
        links,
    )


def _empty() -> Retrospective:
    period = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC), "2026Q3")
    return Retrospective(
        period,
        "sqlite:////tmp/mlflow.db",
        datetime(2026, 10, 2, tzinfo=UTC),
        Portfolio(0, [], [], 0.0, 0.0, 0.0, 0.0),
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        {},
        notes=["No runs of shorts between 2026-07-01 and 2026-09-30."],
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render(_filled(), tmp_path_factory.mktemp("filled") / "retro-2026Q4")


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render(_empty(), tmp_path_factory.mktemp("empty") / "retro-2026Q3")


def _section_order(text: str) -> list[str]:
    return [i for i in re.findall(r'<section id="([^"]+)"', text) if i in SECTION_IDS]


# -- files ----------------------------------------------------------------------------------------


def test_render_writes_the_three_reports(filled: dict[str, Path]) -> None:
    assert {p.name for p in filled.values()} == {"report.html", "report.md", "report.json"}
    assert all(p.stat().st_size > 0 for p in filled.values())
    assert not list(filled["html"].parent.glob(".*partial"))


# -- HTML -----------------------------------------------------------------------------------------


def test_html_has_every_section_in_order(filled: dict[str, Path]) -> None:
    assert _section_order(filled["html"].read_text()) == SECTION_IDS


def test_html_embeds_its_plots_and_loads_nothing_from_outside(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    assert text.count('src="data:image/png;base64,') == 3  # outcomes, weekly, caps
    assert "<script" not in text
    assert not re.search(r'(?:src|href)="(?!data:|#|http://mlflow\.example)', text)
    assert "@import" not in text and "url(" not in text


def test_html_escapes_text_from_runs(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in text


def test_html_links_numbers_to_their_runs(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    for run in (HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2):
        assert f'href="{UI}{run}"' in text
    assert f"<code>{NO_URL}</code>" in text  # no UI URL: the run id itself
    assert f'href="{UI}{NO_URL}"' not in text
    # a one-run figure is itself the link; a many-run figure folds its runs under it
    assert f'<a href="{UI}{HIT}" title="run {HIT}">+12.0%</a>' in text
    assert '<details class="runs"><summary>3</summary>' in text


def test_html_says_what_the_quarter_cost(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    summary = text[text.index('class="para summary"') :].split("</div>")[0]
    for figure in ("8 runs", "1 hit", "1 miss", "1 inconclusive", "5 failures"):
        assert f"<summary>{figure}</summary>" in summary or f">{figure}</a>" in summary, figure
    assert "(1 timeout, 1 memout, 3 crashed)" in summary
    assert "Share of compute spent on failures" in text and "the price of exploration" in text
    assert "83%" in text  # 2.9 of 3.5 CPU-hours
    assert "s3cret" not in text


def test_empty_period_says_so_with_every_section(empty: dict[str, Path]) -> None:
    text = empty["html"].read_text()
    assert _section_order(text) == SECTION_IDS
    assert "No runs in this period." in text
    assert "No runs of shorts between 2026-07-01 and 2026-09-30." in text
    assert "data:image/png" not in text


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_has_the_same_sections_and_runs(filled: dict[str, Path]) -> None:
    text = filled["md"].read_text()
    headings = [
        "## Portfolio",
        "## Technique ledger",
        "## Harvest from failed shorts",
        "### Slices where a missed short beat its baseline",
        "### Near misses",
        "### Failure fingerprints",
        "### Cap lessons",
        "## What to try next",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    for run in (HIT, MISS, TIMEOUT, CRASH):
        assert f"]({UI}{run})" in text
    assert f"`{NO_URL}`" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "| short | outcome | verdict | runs | CPU-h | wall-h |" in text


def test_markdown_of_an_empty_period_says_so(empty: dict[str, Path]) -> None:
    text = empty["md"].read_text()
    assert "No runs in this period." in text
    assert "## What to try next" in text


# -- JSON -----------------------------------------------------------------------------------------


def test_json_round_trips_with_the_same_counts(filled: dict[str, Path]) -> None:
    data = json.loads(filled["json"].read_text())
    retro = _filled()
    assert data["period"] == {
        "start": "2026-10-01T00:00:00+00:00",
        "end": "2027-01-01T00:00:00+00:00",
        "label": "2026Q4",
    }
    assert data["portfolio"]["total_runs"] == 8
    assert len(data["portfolio"]["counts"]) == len(retro.portfolio.counts)
    assert sum(len(c["runs"]) for c in data["portfolio"]["counts"]) == 8
    assert data["portfolio"]["weeks"][0]["week_start"] == "2026-09-28T00:00:00+00:00"
    for key in ("ledger", "harvested", "slice_wins", "near_misses", "fingerprints"):
        assert len(data[key]) == len(getattr(retro, key))
    assert data["fingerprints"][0]["example_reason"].endswith(HOSTILE)  # data, not markup
    assert data["run_links"][HIT] == UI + HIT
    assert "s3cret" not in data["tracking_uri"]


def test_json_of_an_empty_period(empty: dict[str, Path]) -> None:
    data = json.loads(empty["json"].read_text())
    assert data["portfolio"]["total_runs"] == 0
    assert data["notes"] == ["No runs of shorts between 2026-07-01 and 2026-09-30."]


# -- a real browser -------------------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _page_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or "Failed to load" in line]


@pytest.mark.parametrize("which", ["filled", "empty"])
def test_browser_builds_the_page_without_errors(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    paths: dict[str, Path] = request.getfixturevalue(which)
    done = _chromium(tmp_path, "--dump-dom", paths["html"].as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for section in SECTION_IDS:
        assert f'id="{section}"' in dom
    assert "<script" not in dom  # the hostile reason stayed text in the browser's DOM too
    assert _page_errors(done.stderr) == []


def test_browser_draws_the_plots(
    filled: dict[str, Path], empty: dict[str, Path], tmp_path: Path
) -> None:
    from matplotlib.image import imread

    shots = {}
    for name, paths in (("filled", filled), ("empty", empty)):
        shot = tmp_path / f"{name}.png"
        done = _chromium(
            tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", paths["html"].as_uri()
        )
        assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
        assert _page_errors(done.stderr) == []
        shots[name] = imread(shot)
    # Decoded plots paint their colours: the hit green and crash red bars cover many pixels.
    filled_shot, empty_shot = shots["filled"], shots["empty"]
    assert filled_shot.shape[:2] == (4000, 1280)
    for colour in ("#2e7d32", "#b71c1c"):
        assert _pixels_near(filled_shot, colour) > 2000
    assert _pixels_near(empty_shot, "#2e7d32") < 200


def _pixels_near(image: object, colour: str) -> int:
    import numpy as np

    rgb = np.asarray(image)[..., :3]
    if rgb.dtype != np.uint8:
        rgb = (rgb * 255).round()
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb.astype(int) - target).max(axis=-1) <= 12).sum())


# -- end to end -----------------------------------------------------------------------------------

needs_analysis = pytest.mark.skipif(
    importlib.util.find_spec("shorts.retro.analysis") is None,
    reason="shorts.retro.analysis is not written yet",
)


@needs_analysis
def test_retro_command_reports_real_runs_and_logs_the_report(project: ShortsProject) -> None:
    project.add_short("fault_quick", "quick")
    project.add_short("fault_raise", "raise_error")
    assert project.run("run", "+experiment=fault_quick").returncode == 0
    assert project.run("run", "+experiment=fault_raise").returncode == 1

    done = project.run("retro")

    assert done.returncode == 0, done.stderr
    folders = list((project.root / "reports").glob("retro-*"))
    assert len(folders) == 1, folders
    folder = folders[0]
    for name in ("report.html", "report.md", "report.json"):
        assert (folder / name).is_file()
        assert str(folder / name) in done.stdout
    data = json.loads((folder / "report.json").read_text())
    assert folder.name == f"retro-{data['period']['label']}"
    assert data["portfolio"]["total_runs"] == 2
    crashed = [c for c in data["portfolio"]["counts"] if c["outcome"] == "crashed"]
    assert sum(len(c["runs"]) for c in crashed if c["short"] != "*") == 1
    run = project.only_run("retrospectives")
    assert run.info.run_name == f"retro-{data['period']['label']}"
    assert run.info.status == "FINISHED"
    assert run.data.metrics["total_runs"] == 2
    artifacts = {a.path for a in project.client().list_artifacts(run.info.run_id)}
    assert artifacts >= {"report.html", "report.md", "report.json"}


def test_retro_command_refuses_a_bad_quarter_in_one_line(project: ShortsProject) -> None:
    if importlib.util.find_spec("shorts.retro.period") is None:
        pytest.skip("shorts.retro.period is not written yet")
    done = project.run("retro", "--quarter", "2026Q9")

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("shorts: error:")
    assert not (project.root / "reports").exists()
