"""The retrospective's report: HTML, Markdown and JSON of one ``Retrospective``, in a browser.

A hand-built retrospective (every section filled, hostile text included) and an empty one are
rendered; the HTML is checked for its sections, embedded plots, escaping and run links, then opened
in headless Chromium. The end-to-end test is a new user's trial: real shorts under tight caps in a
fresh project, ``shorts retro``, then the recommended cap put to the test.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ShortsProject, chromium, markdown_tokens, pixels_near, screenshot
from rich.console import Console

from shorts.retro.model import (
    CapLesson,
    Fingerprint,
    HarvestedItem,
    LedgerRow,
    Lesson,
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
from shorts.verdict import TEST_NAME

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


def _run_id(n: int) -> str:
    return hashlib.md5(f"run {n}".encode()).hexdigest()  # 32 hex digits, like MLflow's


HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2, NO_URL = (_run_id(n) for n in range(1, 9))
SLICE = "baseline prediction q4"  # a slice known at prediction time
HYBRID = (
    "shorts run +experiment=slice_hybrid dataset=diabetes "
    "model@model.estimator=binned_hist_gbm_soft model@model.baseline=hist_gbm "
    "model@baseline=hist_gbm model.by=prediction model.low=180.2 cv.repeats=2 cv.seed=1"
)
CLAIMS_SUMMARY = (
    "4 claims tested (each short's model and variants against their baselines, overall and on "
    "slices known at prediction time, pooled over replicate runs) by the "
    f"{TEST_NAME}; 2 selected with the false discovery rate held at 5% (Benjamini-Hochberg). "
    "Only selected claims become lessons and slice wins."
)


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
        WeekPoint(datetime(2026, 10, 12, tzinfo=UTC), 4, 4, 0.9, 0.9),
        WeekPoint(datetime(2026, 10, 19, tzinfo=UTC), 0, 0, 0.004, 0.0),  # "<0.01" CPU-hours
    ]
    # failed: miss 0.4 + inconclusive 0.2 + timeout 2.0 + memout 0.3 + crashed 0.1 CPU-hours
    portfolio = Portfolio(8, counts, weeks, 3.5, 2.5, 3.0, 3.0 / 3.5)
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
            short="reframe_classification",
            run=MISS,
            slice=SLICE,
            metric="rmse",
            uplift=0.1246,
            techniques=["reframing", "target-binning"],
            dataset="diabetes",
            outcome="completed",
            verdict="miss",
            learner="soft",
            runs=[MISS],
            folds=5,
            interval=(0.0871, 0.1621),
            p_value=0.0008,
            adjusted_p=0.0123,
            command=HYBRID,
        )
    ]
    near_misses = [
        NearMiss(
            "baseline_regression",
            INCONCLUSIVE,
            "within-noise",
            "better than the baseline by +4.0% (95% interval -1.5% to +9.5%) over 1 run(s) and "
            "5 folds on diabetes; about 27 folds in all (22 more, e.g. cv.repeats) would settle "
            "it at this effect",
            "shorts.uplift",
            [0.04],
        ),
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
            NO_URL,
            f"the short raised ValueError: {HOSTILE}",
            [CRASH, CRASH2, NO_URL],
        )
    ]
    cap_lessons = [
        CapLesson(
            "one_hour_build",
            "diabetes",
            [TIMEOUT, MEMOUT],
            [TIMEOUT],
            [MEMOUT],
            [],
            [3600.0],
            [1024.0],
            3600.0,
            1030.0,
            1.0,
            1030.0 / 1024.0,
            None,
            None,
            1545.0,
            "it runs until its wall-time cap by design",
            "a memout's peak is at least the 1.0 GiB cap it ran out at",
            True,
            False,
            "1 memout at 1.0 GiB; try 1.5 GiB; no wall-time advice: by design",
        ),
        CapLesson(
            "reframe_classification",
            "friedman1 (n_samples=20000)",
            [HIT, MISS],
            [MISS],
            [],
            [],
            [3.0, 10.0],
            [4096.0],
            10.0,
            150.0,
            1.0,
            150.0 / 4096.0,
            47.0,
            71.0,
            225.0,
            "a run timed out after 1 of 5 folds",
            "the highest peak was 150.0 MiB",
            False,
            False,
            "1 timeout at 10.0s; try 1m11s",
        ),
        CapLesson(
            "baseline_regression",
            "diabetes",
            [INCONCLUSIVE],
            [],
            [],
            [],
            [600.0],
            [4096.0],
            6.0,
            150.0,
            0.01,
            150.0 / 4096.0,
            6.0,
            9.0,
            225.0,
            "a completed run took 6.0s",
            "the highest peak was 150.0 MiB",
            False,
            True,
            "used under 10% of its caps",
        ),
    ]
    suggestions = [
        Suggestion(
            "reframing",
            "a hit pooled over 1 run on diabetes",
            [HIT],
            ["diabetes"],
            ["friedman1", "randhie"],
            ["regression"],
        )
    ]
    linked = (HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2)
    links = {run: UI + run for run in linked}
    links[NO_URL] = NO_URL
    lessons = [
        Lesson(
            "slice win",
            "reframe_classification's variant soft lost overall on diabetes but beat its "
            f"baseline by 12.5% on rows with {SLICE} (95% interval +8.7% to +16.2%), pooled over "
            f"1 run and 5 folds; adjusted p 0.012, one of 4 claims at FDR 5% {HOSTILE}.",
            "Worth a hybrid.",
            HYBRID,
            [MISS],
            0.4,
        ),
        Lesson(
            "recurring crash",
            "data_fraction crashed 3 times with ValueError.",
            "Fix it once where it breaks.",
            "shorts run +experiment=data_fraction",
            [CRASH, CRASH2, NO_URL],
            0.3,
        ),
    ]
    claims = [
        _claim(HIT, "model", "", 0.12, (0.05, 0.19), 0.002, 0.004, selected=True),
        _claim(MISS, "model", "", -0.02, (-0.06, 0.02), 0.91, 0.91),
        _claim(MISS, "soft", SLICE, 0.1246, (0.0871, 0.1621), 0.0008, 0.0123, selected=True),
        _claim(INCONCLUSIVE, "model", "", 0.04, (-0.015, 0.095), 0.059, 0.118),
    ]
    claims[-1]["short"] = "baseline_regression"
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
        headroom=1.5,
        lessons=lessons,
        run_names={HIT: "reframe-hit", MISS: "reframe-miss"},
        run_experiments=dict.fromkeys(linked, "1"),
        run_shorts={c_run: c.short for c in counts for c_run in c.runs},
        ui_url="http://mlflow.example:5000",
        notes=[CLAIMS_SUMMARY],
        claims=claims,
        claims_summary=CLAIMS_SUMMARY,
        fdr_level=0.05,
    )


def _claim(
    run: str,
    learner: str,
    slice_name: str,
    uplift: float,
    interval: tuple[float, float],
    p_value: float,
    adjusted: float,
    selected: bool = False,
) -> dict[str, object]:
    """One tested claim as ``Claim.as_dict`` gives it."""
    return {
        "short": "reframe_classification",
        "dataset": "diabetes",
        "learner": learner,
        "slice": slice_name,
        "definition": {"by": "prediction", "quartile": 4, "low": 180.2, "high": None}
        if slice_name
        else {},
        "runs": [run],
        "folds": 5,
        "uplift": uplift,
        "interval_95": list(interval),
        "margin": 0.01,
        "metric": "rmse",
        "p_value": p_value,
        "bh_adjusted_p": adjusted,
        "selected": selected,
    }


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


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, style or image data."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible_html(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text())
    return " ".join(parser.parts)


def _visible_markdown(path: Path) -> str:
    """The Markdown as a viewer shows it: rendered, then its visible text."""
    from markdown_it import MarkdownIt

    rendered = path.with_suffix(".rendered.html")
    rendered.write_text(
        MarkdownIt("gfm-like", {"html": False, "linkify": False}).render(path.read_text())
    )
    return _visible_html(rendered)


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
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in text


def test_html_links_numbers_to_their_runs_by_name(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    for run in (HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2):
        assert f'href="{UI}{run}"' in text
    assert f'href="{UI}{HIT}">reframe-hit</a>' in text  # by its run name
    # unnamed: the short and 8 characters of the id; no experiment known: no link
    assert f'href="{UI}{CRASH}">data_fraction\N{MIDDLE DOT}{CRASH[:8]}</a>' in text
    assert f"data_fraction\N{MIDDLE DOT}{NO_URL[:8]}" in text
    assert f'href="{UI}{NO_URL}"' not in text
    # a one-run figure is itself the link
    assert f'<a href="{UI}{HIT}" title="run reframe-hit">+12.0%</a>' in text


def test_more_than_three_runs_collapse_to_a_link_to_the_filtered_runs_table(
    filled: dict[str, Path],
) -> None:
    text = filled["html"].read_text()
    (href,) = re.findall(r'<a href="([^"]+)"[^>]*>8 runs</a>', text)
    query = parse_qs(urlsplit(href.replace("&amp;", "&")).fragment.split("?", 1)[1])
    assert href.startswith("http://mlflow.example:5000/#/experiments/1/runs?")
    ids = re.findall(r"'([0-9a-f]{32})'", query["searchFilter"][0])
    assert query["searchFilter"][0].startswith("attributes.run_id IN (")
    assert sorted(ids) == sorted([HIT, MISS, INCONCLUSIVE, TIMEOUT, MEMOUT, CRASH, CRASH2, NO_URL])
    # three runs are named one by one
    assert f">data_fraction\N{MIDDLE DOT}{CRASH2[:8]}</a>" in text


def test_no_run_id_in_the_text_people_read(filled: dict[str, Path]) -> None:
    for text in (_visible_html(filled["html"]), _visible_markdown(filled["md"])):
        assert not re.search(r"\b[0-9a-f]{32}\b", text)
        assert "reframe-hit" in text


def test_lessons_come_first_each_with_its_runs_and_next_step(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    main = text[text.index("<main>") :]
    assert main.index('id="lessons"') < main.index('class="summary"') < main.index('id="portfolio"')
    lessons = main[main.index('id="lessons"') : main.index("</section>")]
    items = re.findall(r"<li>(.*?)</li>", lessons, re.S)
    assert len(items) == 2
    assert f'href="{UI}{MISS}">reframe-miss</a>' in items[0] and "Worth a hybrid." in items[0]
    assert "<code>shorts run +experiment=data_fraction</code>" in items[1]
    assert "&lt;script&gt;" in items[0]
    md = filled["md"].read_text()
    assert md.index("## What this taught") < md.index("## Portfolio")
    assert "1. reframe\\_classification" not in md  # underscores stay as typed
    assert f"[reframe-miss]({UI}{MISS})" in md


def test_markdown_is_github_flavoured_without_raw_html(filled: dict[str, Path]) -> None:
    kinds = {t.type for t in markdown_tokens(filled["md"].read_text())}

    assert {"table_open", "ordered_list_open", "link_open"} <= kinds
    assert not kinds & {"html_block", "html_inline"}


def test_empty_weeks_collapse_in_the_table(filled: dict[str, Path]) -> None:
    md = filled["md"].read_text()
    assert "| 2026-10-05 |" not in md  # a week without runs
    assert "| 2026-09-28 |" in md and "| 2026-10-19 |" in md  # 0 runs but some CPU
    assert "1 week without runs left out" in md


def test_a_teams_templates_change_colours_and_section_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shorts.reports import rendering

    own = tmp_path / "templates"
    own.mkdir()
    theme = json.loads((Path(rendering.__file__).parent / "templates" / "theme.json").read_text())
    theme["outcomes"]["hit"] = "#123456"
    (own / "theme.json").write_text(json.dumps(theme))
    (own / "retro.html.j2").write_text(
        '{% set order = ["next", "portfolio"] %}\n{% extends "base.html.j2" %}\n'
    )
    monkeypatch.setenv("SHORTS_REPORT_TEMPLATES", str(own))

    text = render(_filled(), tmp_path / "out")["html"].read_text()

    assert _section_order(text) == ["next", "portfolio"]
    assert ".badge.b-hit { background: #123456; }" in text


def test_html_says_what_the_quarter_cost(filled: dict[str, Path]) -> None:
    text = filled["html"].read_text()
    summary = text[text.index('class="summary"') :].split("</p>")[0]
    for figure in ("8 runs", "1 hit", "1 miss", "1 inconclusive", "7 failed"):
        assert f">{figure}</a>" in summary, figure
    assert "(1 timeout, 1 memout, 3 crashed, 1 miss, 1 inconclusive)" in summary
    assert "Share of compute spent on failed shorts" in text
    assert "the price of exploration" in text
    assert "86%" in text  # 3.0 of 3.5 CPU-hours
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
        "### Components and notes saved by failed shorts",
        "### Slices where a failed short beat its baseline",
        "### Near misses",
        "### Failure fingerprints",
        "### Cap lessons",
        "## What to try next",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    for run in (HIT, MISS, TIMEOUT, CRASH):
        assert f"]({UI}{run})" in text
    assert f"data_fraction\N{MIDDLE DOT}{NO_URL[:8]}" in text
    assert "<script>" not in text and "\\<script\\>" in text  # escaped the Markdown way
    assert "| short | outcome | verdict | runs | CPU-h | wall-h |" in text


def test_markdown_escapes_for_markdown_not_html(filled: dict[str, Path]) -> None:
    text = filled["md"].read_text()

    assert "&lt;" not in text and "&amp;" not in text
    assert "| \\<0.01 |" in text  # a viewer shows "<0.01"


def test_markdown_names_up_to_three_runs_and_links_more_to_the_ui(
    filled: dict[str, Path],
) -> None:
    text = filled["md"].read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("**[8 runs]("))
    first = line.split(" · ")[0]
    assert "/#/experiments/1/runs?searchFilter=attributes.run_id%20IN%20" in first
    row = next(ln for ln in text.splitlines() if ln.startswith("| data_fraction | crashed"))
    assert row.count("](") == 2  # three runs, each by name; one has no experiment: no link
    assert f"data_fraction\N{MIDDLE DOT}{NO_URL[:8]}" in row


def test_slice_wins_show_the_slice_learner_uplift_interval_and_adjusted_p(
    filled: dict[str, Path],
) -> None:
    text = filled["md"].read_text()
    section = text[text.index("### Slices") : text.index("### Near misses")]
    row = next(ln for ln in section.splitlines() if ln.startswith("| reframe_classification"))
    cells = [cell.strip() for cell in row.strip().strip("|").split(" | ")]

    assert (
        "| short | model | slice | uplift | 95% interval | folds | adjusted p | dataset | overall "
        "| runs |" in section
    )
    assert cells[:9] == [
        "reframe_classification",
        "soft",  # the variant that won on the slice, not the short's own model
        f"**{SLICE}**",
        "+12.5%",
        "+8.7% to +16.2%",
        "5",
        "0.012",  # p worded as in the lesson above it
        "diabetes",
        "miss",
    ]
    assert row.count("](") == 1 and "[reframe-miss](" in row  # the uplift is not a run link
    html = filled["html"].read_text()
    part = html[html.index('id="slice-wins"') : html.index('id="near-misses"')]
    assert f"<td><strong>{SLICE}</strong></td>" in part
    assert '<td class="num">0.012</td>' in part and "<td>+8.7% to +16.2%</td>" in part


def test_nothing_teaches_quartiles_of_the_true_target(filled: dict[str, Path]) -> None:
    """Slices are known at prediction time; the report defines slice and claim once."""
    for kind, visible in (
        ("html", _visible_html(filled["html"])),
        ("md", _visible_markdown(filled["md"])),
    ):
        assert "true target" not in visible and "target values" not in visible, kind
        assert "slice q1 to q4" not in visible, kind
        # the only quartiles named are the baseline prediction's
        assert not re.search(r"(?<!baseline prediction )\bq[1-4]\b", visible), kind
        assert visible.count("Rows a model can pick out before it predicts") == 1, kind
        assert visible.count("selected together with the Benjamini-Hochberg procedure") == 1, kind
        assert visible.count(CLAIMS_SUMMARY) == 1, kind
        start = visible.index("What this taught")
        lessons = visible[start : visible.index("Portfolio", start)]
        assert f"on rows with {SLICE}" in lessons and "adjusted p 0.012" in lessons, kind


def test_the_failed_short_is_defined_once(filled: dict[str, Path]) -> None:
    from shorts.retro.model import FAILED_DEFINITION

    for kind in ("html", "md"):
        text = filled[kind].read_text()
        assert text.count("did not end as a hit") == 1, kind
    assert "did not end as a hit" in FAILED_DEFINITION


def test_cap_lessons_show_each_runs_own_cap_and_the_range_of_caps(
    filled: dict[str, Path],
) -> None:
    text = filled["md"].read_text()
    section = text[text.index("### Cap lessons") : text.index("## What to try next")]

    assert (
        "cap 3.0s\N{EN DASH}10.0s · peak 10.0s · at most 100% of its own cap → **1m11s**" in section
    )
    assert "no advice (anytime)" in section
    assert "friedman1 (n_samples=20000)" in section


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
    for key in ("ledger", "harvested", "slice_wins", "near_misses", "fingerprints", "claims"):
        assert len(data[key]) == len(getattr(retro, key))
    (win,) = data["slice_wins"]
    assert (win["slice"], win["learner"], win["runs"], win["folds"]) == (SLICE, "soft", [MISS], 5)
    assert win["interval"] == [0.0871, 0.1621]
    assert (win["p_value"], win["adjusted_p"], win["command"]) == (0.0008, 0.0123, HYBRID)
    assert "value" not in win and "baseline" not in win
    assert data["claims"] == retro.claims
    assert [c["selected"] for c in data["claims"]] == [True, False, True, False]
    assert data["claims_summary"] == CLAIMS_SUMMARY and data["notes"] == [CLAIMS_SUMMARY]
    assert data["fdr_level"] == 0.05
    assert data["fingerprints"][0]["example_reason"].endswith(HOSTILE)  # data, not markup
    assert data["run_links"][HIT] == UI + HIT
    assert data["run_names"][HIT] == "reframe-hit"
    assert [lesson["runs"] for lesson in data["lessons"]] == [[MISS], [CRASH, CRASH2, NO_URL]]
    assert "s3cret" not in data["tracking_uri"]


def test_json_of_an_empty_period(empty: dict[str, Path]) -> None:
    data = json.loads(empty["json"].read_text())
    assert data["portfolio"]["total_runs"] == 0
    assert data["notes"] == ["No runs of shorts between 2026-07-01 and 2026-09-30."]


# -- a real browser -------------------------------------------------------------------------------


def _page_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or "Failed to load" in line]


@pytest.mark.parametrize("which", ["filled", "empty"])
def test_browser_builds_the_page_without_errors(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    paths: dict[str, Path] = request.getfixturevalue(which)
    done = chromium(tmp_path, "--dump-dom", paths["html"].as_uri())
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

    shots = {
        name: screenshot(tmp_path, paths["html"], f"retro-{name}.png", height=4000)
        for name, paths in (("filled", filled), ("empty", empty))
    }
    # Decoded plots paint their colours: the hit green and crash red bars cover many pixels.
    assert imread(shots["filled"]).shape[:2] == (4000, 1280)
    for colour in ("#2e7d32", "#b71c1c"):
        assert pixels_near(shots["filled"], colour) > 2000
    assert pixels_near(shots["empty"], "#2e7d32") < 200


# -- end to end -----------------------------------------------------------------------------------

PACED_SHORT = '''"""A fixed time per fold: a stand-in for a model too slow for its cap."""

import time


def run(cfg, ctx):
    folds, scores, baseline = int(cfg.cv.folds), [], []
    for step in range(folds):  # never stops early: only the cap stops it
        time.sleep(float(cfg.pace))
        scores.append(1.0 + 0.01 * step)
        baseline.append(1.0)
        ctx.log_metrics({"fold_rmse": scores[-1], "baseline_fold_rmse": 1.0}, step=step)
    ctx.report_folds("rmse", scores, baseline)
    n = float(len(scores))
    return {"rmse": sum(scores) / n, "folds_completed": n, "folds_planned": float(folds)}
'''
PACED_CONFIG = """# @package _global_
defaults:
  - override /caps: tiny
short:
  fn: experiments.paced:run
  hypothesis: a fixed pace per fold
  techniques: [fixed-pace]
pace: 1.0
"""
PACED_DATA = ("dataset=friedman1", "dataset.n_samples=20000")


ROOM = "caps.wall_time=5m"


def test_a_new_users_trial_gives_lessons_that_let_capped_runs_finish(
    project: ShortsProject, tmp_path: Path
) -> None:
    """Catalog shorts and a too-slow short under tight caps, ``shorts retro``, then its advice.

    What a new user does: run shorts until some time out, run out of memory, crash or miss, then
    read the retrospective. The report must name the real techniques and slices, recommend a
    wall-time cap the timed-out short then finishes under, and open cleanly in a browser.
    """
    (project.root / "experiments" / "paced.py").write_text(PACED_SHORT)
    (project.root / "configs" / "experiment" / "paced.yaml").write_text(PACED_CONFIG)
    project.add_short("fault_memory", "grow_memory", caps={"memory": "300MiB"})
    project.add_short("fault_raise", "raise_error")
    runs = [
        # Room on the clock for the three that must complete: a busy machine must not decide.
        ("+experiment=reframe_classification", "cv.folds=3", ROOM),  # deterministic: inconclusive
        # boosting against ridge on two more data sets: a hit on friedman1's nonlinear signal
        ("+experiment=baseline_regression", "dataset=friedman1", "dataset.n_samples=1000", ROOM),
        ("+experiment=baseline_regression", "dataset=fair", "cv.folds=3", ROOM),
        ("+experiment=fault_raise",),
        ("+experiment=fault_memory",),
        ("+experiment=paced", *PACED_DATA, "caps.wall_time=4s"),
    ]
    for args in runs:
        done = project.run("run", *args)
        assert done.returncode in (0, 1), (args, done.stderr[-2000:])

    done = project.run("retro")

    assert done.returncode == 0, done.stderr
    (folder,) = (project.root / "reports").glob("retro-*")
    data = json.loads((folder / "report.json").read_text())
    outcomes = sorted(c["outcome"] for c in data["portfolio"]["counts"] for _ in c["runs"])
    assert outcomes == ["completed"] * 3 + ["crashed", "memout", "timeout"]
    verdicts = {c["verdict"] for c in data["portfolio"]["counts"]}
    assert "hit" in verdicts and verdicts & {"miss", "inconclusive"}
    # Lessons first: at most five, each backed by runs and a next step; the cap lesson's
    # command is the one the user can paste.
    assert 1 <= len(data["lessons"]) <= 5
    assert all(lesson["runs"] and lesson["next_step"] for lesson in data["lessons"])
    kinds = {lesson["kind"] for lesson in data["lessons"]}
    assert {"hit", "cap"} <= kinds, kinds
    weights = [lesson["weight"] for lesson in data["lessons"]]
    assert weights == sorted(weights, reverse=True)
    # Claims: every short's learners, overall and on slices, each tested once; what the report
    # teaches is what was selected under the false discovery rate.
    assert data["claims"] and data["claims_summary"] in data["notes"]
    assert data["claims_summary"].startswith(f"{len(data['claims'])} claims tested")
    selected = {
        (c["short"], c["dataset"], c["learner"], c["slice"]): c
        for c in data["claims"]
        if c["selected"]
    }
    assert all(c["bh_adjusted_p"] <= data["fdr_level"] for c in selected.values())
    hits = [lesson for lesson in data["lessons"] if lesson["kind"] == "hit"]
    assert all(lesson["evidence"]["adjusted_p"] <= data["fdr_level"] for lesson in hits)
    # Harvest: real techniques, and slices a model knows at prediction time, from failed runs.
    reframe = [w for w in data["slice_wins"] if w["short"] == "reframe_classification"]
    assert reframe and all("reframing" in w["techniques"] for w in reframe)
    for w in data["slice_wins"]:
        assert re.fullmatch(r"baseline prediction q[1-4]|\S+ (<|>=) \S+", w["slice"]), w["slice"]
        claim = selected[(w["short"], w["dataset"], w["learner"], w["slice"])]
        assert (claim["runs"], claim["folds"]) == (w["runs"], w["folds"])
        assert (w["short"], w["dataset"], w["learner"], "") not in selected  # no hit overall
        assert w["command"].startswith("shorts run +experiment=slice_hybrid")
    assert {"binning_scheme", "interval_calibration"} <= {i["name"] for i in data["harvested"]}
    (crash,) = data["fingerprints"]
    assert crash["error_type"] == "ValueError"
    assert crash["where"].startswith("experiments/faults.py:") and "raise_error" in crash["where"]
    # Cap lessons: the memout's and the paced short's, with advice that fits.
    lessons = {(c["short"], c["dataset"]): c for c in data["cap_lessons"]}
    memory = lessons[("fault_memory", "diabetes")]
    assert memory["memory_caps_mib"] == [300.0] and memory["recommended_memory_mib"] >= 450
    paced = lessons[("paced", "friedman1 (n_samples=20000)")]
    assert len(paced["timeouts"]) == 1
    recommended = paced["recommended_wall_seconds"]
    assert recommended is not None and recommended > 4
    assert "folds" in paced["note"] or "no progress logged" in paced["note"]
    # The summary agrees with the report: one definition of a failed short.
    failed = [c for c in data["portfolio"]["counts"] if c["outcome"] != "completed"]
    failed += [c for c in data["portfolio"]["counts"] if c["verdict"] in ("miss", "inconclusive")]
    n_failed = sum(len(c["runs"]) for c in failed)
    # The terminal shows the report's own summary and lessons (one renderer, the same model).
    assert f" · {n_failed} failed (" in done.stdout
    assert "Harvest from failed shorts" in done.stdout  # the sections, named
    printed = re.findall(r"^ *(\d+)\. ", done.stdout, re.M)
    assert printed == [str(n) for n in range(1, len(data["lessons"]) + 1)]
    run = project.only_run("retrospectives")
    assert run.info.status == "FINISHED" and run.data.metrics["total_runs"] == 6
    artifacts = {a.path for a in project.client().list_artifacts(run.info.run_id)}
    assert artifacts >= {"report.html", "report.md", "report.json"}
    # The advice works: the short that timed out finishes under the recommended cap.
    cap = f"caps.wall_time={math.ceil(recommended)}s"
    rerun = project.run("run", "+experiment=paced", *PACED_DATA, cap)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert project.runs("paced")[0].data.tags["shorts.outcome"] == "completed"
    # And the report opens cleanly in a browser, lessons on its first screen, each with a link
    # to a run in the UI of the store it read (shorts ui's address for the embedded store).
    opened = chromium(tmp_path, "--dump-dom", (folder / "report.html").as_uri())
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert 'id="cap-lessons"' in opened.stdout and _page_errors(opened.stderr) == []
    dom = opened.stdout
    lessons_html = dom[dom.index('id="lessons"') : dom.index('id="portfolio"')]
    items = re.findall(r"<li>(.*?)</li>", lessons_html, re.S)
    assert len(items) == len(data["lessons"])
    assert all('href="http://127.0.0.1:5000/#/experiments/' in item for item in items)
    for path in (folder / "report.html", folder / "report.md"):
        visible = _visible_html(path) if path.suffix == ".html" else _visible_markdown(path)
        assert not re.search(r"\b[0-9a-f]{32}\b", visible), path.name
        assert "true target" not in visible, path.name
    screenshot(tmp_path, folder / "report.html", "retro-new-user-trial.png")


def test_the_runs_note_is_the_reports_summary_counted_as_the_report_does() -> None:
    from shorts.retro.command import note
    from shorts.retro.render import build_report

    text = note(build_report(_filled()))

    assert text.startswith("**Retrospective 2026Q4**")
    assert "**8 runs · 1 hit (reframe-hit) · 1 miss (reframe-miss) · " in text
    assert "7 failed (1 timeout, 1 memout, 3 crashed, 1 miss, 1 inconclusive)" in text
    assert "86% of it on failed shorts" in text and "http" not in text  # names, no links
    assert "4 claims tested" in text


def test_retro_command_refuses_a_bad_quarter_in_one_line(project: ShortsProject) -> None:
    done = project.run("retro", "--quarter", "2026Q9")

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("shorts: error:")
    assert not (project.root / "reports").exists()


@pytest.mark.parametrize("level", ["2", "0", "often"])
def test_retro_command_refuses_a_false_discovery_rate_outside_0_1_in_one_line(
    project: ShortsProject, level: str
) -> None:
    done = project.run("retro", "--fdr", level)

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"shorts: error: --fdr={level!r} must be a number in (0, 1), e.g. 0.05."
    )
    assert not (project.root / "reports").exists()


def test_the_terminal_shows_the_reports_lessons_summary_and_sections_by_name() -> None:
    from shorts.reports.terminal import print_report
    from shorts.retro.render import build_report

    out = io.StringIO()
    print_report(build_report(_filled()), Console(file=out, width=100), brief=True)
    text = out.getvalue()

    assert text.startswith("Retrospective 2026Q4")
    assert "8 runs · 1 hit · 1 miss · 1 inconclusive · 7 failed (" in text
    assert re.findall(r"^ *(\d+)\. ", text, re.M) == ["1", "2"]
    command = next(line.strip() for line in text.splitlines() if "slice_hybrid" in line)
    assert command.startswith("shorts run +experiment=slice_hybrid") and "cv.seed=1" in command
    assert "In the report: Portfolio · Technique ledger · Harvest from failed shorts" in text
    assert '<script>alert("x")</script>' in text  # text from runs, as typed
