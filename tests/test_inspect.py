"""``shorts inspect``: data QA on real data, through the real command, recorded in MLflow.

The planted table is scikit-learn's breast-cancer data (569 rows, 30 measurements, a binary
diagnosis) with four problems put in on purpose: 15 rows entered twice under new ids, a
``followup_score`` that is the recorded label plus a little noise (a leak), 20 flipped labels
and a ``patient_id`` running with the row number. Every one must be found, and diabetes, a clean
data set, must raise none of the alarms those problems raise.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import (
    ShortsProject,
    assert_no_runs,
    assert_usage_error,
    chromium,
    make_project,
    markdown_tokens,
    pixels_near,
    screenshot,
)

PLANTED_DUPLICATES = 15
PLANTED_FLIPS = 20
# Measured over planting seeds 0-7: 18-20 of the 20 flipped rows among the top 30 suspects,
# 16-19 among the top 20. The test asks for less, so a change of model or fold split that still
# finds most flips does not fail it.
MIN_FLIPS_IN_TOP_30 = 15
MIN_FLIPS_IN_TOP_20 = 13


def planted_table(seed: int = 0) -> tuple[pd.DataFrame, set[int]]:
    """Breast cancer with planted problems; also the row numbers whose label was flipped."""
    from sklearn.datasets import load_breast_cancer

    rng = np.random.default_rng(seed)
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    rows = len(frame)
    flips = rng.choice(rows, PLANTED_FLIPS, replace=False)
    copies = rng.choice(np.setdiff1d(np.arange(rows), flips), PLANTED_DUPLICATES, replace=False)
    frame.loc[flips, "benign"] = 1 - frame.loc[flips, "benign"]
    # The leak is recorded after the (possibly wrong) label: it copies what the table says.
    frame["followup_score"] = frame["benign"] + rng.normal(0, 0.15, rows)
    frame["_flipped"] = False
    frame.loc[flips, "_flipped"] = True
    frame = pd.concat([frame, frame.iloc[copies]], ignore_index=True)
    frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    frame.insert(0, "patient_id", np.arange(1001, 1001 + len(frame)))
    flipped = set(np.flatnonzero(frame.pop("_flipped").to_numpy()).tolist())
    return frame, flipped


def report_of(done: Any) -> tuple[Path, dict[str, Any]]:
    """The report folder the command printed, and its report.json."""
    line = next(x for x in done.stdout.splitlines() if x.startswith("report "))
    html = Path(line.split(maxsplit=1)[1].strip())
    return html.parent, json.loads((html.parent / "report.json").read_text())


def checklist(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in report["checklist"]}


def leaks(report: dict[str, Any]) -> list[str]:
    return [p["column"] for p in report["leakage"]["power"] if p["leak"]]


def id_like(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["column_profiles"] if c["id_like"]]


def artifacts(project: ShortsProject, run_id: str) -> set[str]:
    return {a.path for a in project.client().list_artifacts(run_id)}


def test_every_planted_problem_is_found(project: ShortsProject) -> None:
    """Duplicates counted, the leak named, flipped labels among the top suspects, the id flagged,
    and the checklist ties each to its evidence; the run is in on_location with the files."""
    table, flipped = planted_table()
    data_dir = project.root / "data"
    data_dir.mkdir()
    table.to_csv(data_dir / "planted.csv", index=False)

    done = project.run(
        "inspect",
        "dataset=file",
        "dataset.path=planted.csv",  # relative: resolved against the folder it was started in
        "dataset.target=benign",
        "+dataset.task=classification",
        "top=30",
        cwd=data_dir,
    )
    assert done.returncode == 0, done.stderr
    folder, report = report_of(done)
    assert folder.parent == project.root / "reports"
    assert folder.name.startswith("inspect-planted-")

    assert report["rows"] == 569 + PLANTED_DUPLICATES
    assert report["duplicates"]["duplicate_rows"] == PLANTED_DUPLICATES
    assert report["duplicates"]["ignored_columns"] == ["patient_id"]
    assert leaks(report) == ["followup_score"]
    assert id_like(report) == ["patient_id"]
    # The model behind the suspects never saw the leak or the id.
    assert set(report["leakage"]["model"]["left_out"]) == {"followup_score", "patient_id"}
    rows = [s["row"] for s in report["noisy"]["top"]]
    assert len(rows) == 30
    assert len(flipped & set(rows)) >= MIN_FLIPS_IN_TOP_30, (sorted(flipped), rows)
    assert len(flipped & set(rows[:20])) >= MIN_FLIPS_IN_TOP_20, (sorted(flipped), rows)
    first = report["noisy"]["top"][0]
    assert {"patient_id", "followup_score", "mean radius", "benign"} <= set(first["values"])
    assert 0.0 <= first["label_probability"] < 0.1

    items = checklist(report)
    assert list(items)[:4] == ["leak", "duplicates", "noisy_labels", "id_like"]
    assert items["leak"]["columns"] == ["followup_score"]
    assert "dataset.drop=[followup_score]" in items["leak"]["advice"]
    assert "AUC" in items["leak"]["evidence"]
    assert f"{PLANTED_DUPLICATES} rows" in items["duplicates"]["evidence"]
    assert "patient_id" in items["duplicates"]["evidence"]
    assert "shorts label" in items["noisy_labels"]["advice"]
    assert items["id_like"]["columns"] == ["patient_id"]
    assert "dataset.drop=[patient_id]" in items["id_like"]["advice"]
    assert "imbalance" not in items  # 39% / 61% is not imbalanced

    out = done.stdout
    assert "suspected leak" in out and "What to watch" in out
    noisy = out[out.index("Noisy labels: rows the model doubts") :]
    assert "patient_id" in noisy and "followup_score" in noisy  # suspects, with their values
    # Tables fit in 100 columns; piped, a paragraph stays one line (found whole by a script),
    # and file paths and the relabel command are printed whole on their own line: they are copied.
    rules = [line for line in out.splitlines() if line.strip() and set(line.strip()) == {"─"}]
    assert len(rules) >= 4 and max(len(line) for line in rules) <= 100
    assert any(line.startswith("  shorts label ") for line in out.splitlines())
    run_id = out.strip().splitlines()[-1].split()[1]

    run = project.only_run("on_location")
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "inspect-planted"
    assert run.data.tags["shorts.kind"] == "inspect"
    assert run.data.tags["shorts.dataset"] == "planted"
    assert "Suspected target leak" in run.data.tags["mlflow.note.content"]
    assert run.data.params["task"] == "classification"
    assert run.data.params["target"] == "benign"
    assert run.data.params["model"] == "hist_gbm_classifier"
    assert run.data.params["source"].endswith("planted.csv")
    metrics = run.data.metrics
    assert metrics["duplicate_rows"] == PLANTED_DUPLICATES
    assert metrics["leak_suspects"] == 1
    assert metrics["id_like_columns"] == 1
    assert metrics["noisy_suspects"] >= MIN_FLIPS_IN_TOP_30
    assert artifacts(project, run_id) == {"report.html", "report.md", "report.json"}

    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # target, single columns, suspects
    assert "followup_score" in html and "<script" not in html
    assert 'src="http' not in html  # self-contained


# -- the report as people read it: HTML in a browser, GitHub-flavoured Markdown ----------------

HOSTILE = '<script>alert("x")</script>'
MARKDOWN_TRAP = "a|b *c* [l](http://x) `t` $m$"  # a pipe, emphasis, a link, code, mathtext
SECTIONS = ["columns", "duplicates", "target", "leakage", "noisy"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted table with two columns named in HTML and in Markdown: its report folder."""
    project = make_project(tmp_path_factory.mktemp("hostile"))
    table, _ = planted_table()
    table = table.rename(columns={"mean radius": HOSTILE, "mean texture": MARKDOWN_TRAP})
    table.to_csv(project.root / "planted.csv", index=False)
    done = project.run("inspect", "dataset=file", "dataset.path=planted.csv",
                       "dataset.target=benign", "+dataset.task=classification")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return report_of(done)[0]


def test_html_escapes_column_names(hostile: Path) -> None:
    page = (hostile / "report.html").read_text()
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert html.escape(MARKDOWN_TRAP, quote=False) in page


def test_html_opens_with_the_checklist_then_the_evidence_in_order(hostile: Path) -> None:
    page = (hostile / "report.html").read_text()
    found = [page.index(f'id="{anchor}"') for anchor in ["lessons", *SECTIONS]]
    assert found == sorted(found)
    first = page[found[0] : found[1]]
    assert "What to watch" in first and "Suspected target leak" in first
    assert "dataset.drop=[followup_score]" in first  # each item ends in what to do
    # The ID-like column in the columns table and the leak in the single-column table.
    assert page.count('<tr class="flag">') == 2


def test_markdown_is_github_flavoured_without_raw_html(hostile: Path) -> None:
    from markdown_it import MarkdownIt

    text = (hostile / "report.md").read_text()
    kinds = [token.type for token in markdown_tokens(text)]
    assert not {"html_block", "html_inline"} & set(kinds)
    assert "link_open" not in kinds  # the column named like a link stays text
    assert kinds.count("table_open") == 4  # columns, classes, single columns, suspects
    assert "ordered_list_open" in kinds  # the checklist
    shown = html.unescape(MarkdownIt("gfm-like", {"linkify": False}).render(text))
    assert shown.count(MARKDOWN_TRAP) == 3 and shown.count(HOSTILE) == 3  # whole, in each table
    assert "<em>c</em>" not in shown


def test_markdown_has_every_section_and_says_where_each_plot_is(hostile: Path) -> None:
    text = (hostile / "report.md").read_text()
    page = (hostile / "report.html").read_text()
    for title in ["What to watch", "Columns and missing values", "Duplicate rows",
                  "Target: benign", "Leakage: each column alone", "Noisy labels"]:  # fmt: skip
        assert f"## {title}" in text
    assert text.count("Plot (in report.html)") == page.count("data:image/png;base64,") == 3


def test_the_browser_builds_and_draws_the_report(hostile: Path, tmp_path: Path) -> None:
    from shorts.reports.rendering import theme

    done = chromium(tmp_path, "--dump-dom", (hostile / "report.html").as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<script" not in done.stdout  # the hostile name stayed text in the DOM too
    assert all(f'id="{anchor}"' in done.stdout for anchor in SECTIONS)
    shot = screenshot(tmp_path, hostile / "report.html", "inspect-planted.png", height=4000)
    # The plots are decoded and painted in the theme's colours: bars, and the leak's red bar.
    series = theme()["series"]
    assert pixels_near(shot, series["main"]) > 20_000
    assert pixels_near(shot, series["alarm"]) > 1_000


def test_plot_colours_come_from_the_templates(project: ShortsProject, tmp_path: Path) -> None:
    """A team's ``theme.json`` recolours the plots: no Python edit."""
    from shorts.reports.rendering import theme

    colours = theme()
    default = colours["series"]["main"]
    colours = {**colours, "series": {**colours["series"], "main": "#00c853"}}
    (tmp_path / "theme.json").write_text(json.dumps(colours))

    done = project.run("inspect", "dataset=diabetes", SHORTS_REPORT_TEMPLATES=str(tmp_path))

    assert done.returncode == 0, done.stderr
    folder, _ = report_of(done)
    page = (folder / "report.html").read_text()
    target = base64.b64decode(re.findall(r"data:image/png;base64,([^\"]+)", page)[0])
    assert pixels_near(target, "#00c853") > 5_000 and pixels_near(target, default) == 0


def test_a_copy_of_the_true_label_is_a_leak_even_when_flipped_labels_hide_it(
    project: ShortsProject,
) -> None:
    """Wine (3 classes, 178 rows) with 12 flipped labels and a noisy copy of the *true* label:
    the copy disagrees with every flipped row, so alone it stays below the leak thresholds
    (balanced accuracy 0.93); it is found because it predicts about as well as all the other
    columns together. The flips still top the suspects once it is left out."""
    from sklearn.datasets import load_wine

    rng = np.random.default_rng(7)
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame["lab_grade"] = frame["cultivar"] * 10 + rng.normal(0, 1, len(frame))
    flips = rng.choice(len(frame), 12, replace=False)
    frame.loc[flips, "cultivar"] = (frame.loc[flips, "cultivar"] + rng.integers(1, 3, 12)) % 3
    frame.to_csv(project.root / "wine.csv", index=False)

    done = project.run(
        "inspect",
        "dataset=file",
        "dataset.path=wine.csv",
        "dataset.target=cultivar",
        "+dataset.task=classification",
        "top=15",
    )
    assert done.returncode == 0, done.stderr
    _, report = report_of(done)
    power = {p["column"]: p for p in report["leakage"]["power"]}
    assert power["lab_grade"]["balanced_accuracy"] < 0.97  # below the plain threshold...
    assert power["lab_grade"]["rival"] is not None  # ...but as good as every other column
    assert leaks(report) == ["lab_grade"]
    assert checklist(report)["leak"]["columns"] == ["lab_grade"]
    rows = {s["row"] for s in report["noisy"]["top"]}
    # Measured: 11 of the 12 flips among the top 15 suspects.
    assert len(rows & set(flips.tolist())) >= 9, (sorted(flips), sorted(rows))
    # The comparison costs a fit only for strong columns; clean wine has none that rival.
    assert all(p["rival"] is None for c, p in power.items() if c != "lab_grade")


def test_diabetes_raises_no_leak_duplicate_or_id_alarm(project: ShortsProject) -> None:
    """A clean data set: no leak, duplicate or id; the report says what it did find."""
    done = project.run("inspect", "dataset=diabetes")
    assert done.returncode == 0, done.stderr
    _, report = report_of(done)

    assert (report["rows"], report["columns"], report["features"]) == (442, 11, 10)
    assert report["task"] == "regression"
    assert leaks(report) == []
    assert id_like(report) == []
    duplicates = report["duplicates"]
    assert duplicates["duplicate_rows"] == duplicates["exact_rows"] == 0
    assert duplicates["conflicting_groups"] == 0
    best = report["leakage"]["power"][0]
    assert report["leakage"]["metric"] == "r2" and best["score"] < 0.5 and not best["leak"]
    assert report["leakage"]["model"]["metric"] == "r2"
    assert report["leakage"]["model"]["low"] < report["leakage"]["model"]["score"] < 0.7
    assert report["leakage"]["model"]["left_out"] == []
    assert len(report["noisy"]["top"]) == 10
    assert report["target_profile"]["missing"] == 0

    items = checklist(report)
    assert not {"leak", "duplicates", "id_like", "conflicting_targets", "missing"} & set(items)
    assert "442 rows" in items["small_data"]["evidence"]  # only items with evidence

    assert "No suspected leak." in done.stdout
    run = project.only_run("on_location")
    assert run.info.run_name == "inspect-diabetes"
    assert run.data.metrics["leak_suspects"] == 0
    assert run.data.metrics["duplicate_rows"] == 0
    assert run.data.metrics["rows"] == 442
    assert run.data.params["model"] == "hist_gbm"
    assert "no leak suspect" in run.data.tags["mlflow.note.content"]
    assert artifacts(project, run.info.run_id) == {"report.html", "report.md", "report.json"}


def test_a_regression_file_with_a_leak_missing_values_and_a_constant(
    project: ShortsProject, tmp_path: Path
) -> None:
    """Raw diabetes as a user's CSV: a leaking column, gaps (ridge gets an imputer), a
    constant column, rows without a target, and the report in the folder out= names."""
    from sklearn.datasets import load_diabetes

    rng = np.random.default_rng(1)
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(
        columns={"target": "progression"}
    )
    frame["lab_followup"] = frame["progression"] * 1.5 + rng.normal(0, 5, len(frame))
    frame["version"] = 3
    frame.loc[rng.choice(len(frame), 40, replace=False), "bmi"] = np.nan
    frame.loc[rng.choice(len(frame), 5, replace=False), "progression"] = np.nan
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "qa"

    done = project.run(
        "inspect",
        "dataset=file",
        f"dataset.path={path}",
        "dataset.target=progression",
        "model=ridge",
        f"out={out}",
    )
    assert done.returncode == 0, done.stderr
    folder, report = report_of(done)
    assert folder == out

    assert leaks(report) == ["lab_followup"]
    assert report["leakage"]["power"][0]["column"] == "lab_followup"
    assert report["leakage"]["power"][0]["score"] >= 0.95
    assert report["leakage"]["model"]["left_out"] == ["lab_followup"]
    assert "imputer" in report["leakage"]["model"]["model"]
    assert report["target_profile"]["missing"] == 5
    assert report["target_profile"]["rows"] == 437
    items = checklist(report)
    assert items["leak"]["columns"] == ["lab_followup"]
    assert "R²" in items["leak"]["evidence"]
    assert items["constant"]["columns"] == ["version"]
    assert items["missing"]["columns"] == ["bmi"]
    assert "Ridge does not take missing values" in items["missing"]["advice"]
    assert "5 rows" in items["missing"]["evidence"]
    assert project.only_run("on_location").data.params["model"] == "ridge"


@pytest.mark.parametrize(
    "args",
    [
        ["dataset=nope"],
        ["dataset=file", "dataset.path=missing.csv", "dataset.target=y"],
        ["dataset=file", "dataset.path=table.csv", "dataset.target=nope"],
        ["dataset=file", "dataset.path=table.csv", "dataset.target=flat"],
        ["dataset=file", "dataset.path=table.csv", "dataset.target=spike"],
        ["dataset=statsmodels", "dataset.name=nope"],
        ["dataset=diabetes", "dataset.nope=1"],
        ["dataset=diabetes", "tpo=3"],
        ["dataset=diabetes", "top=0"],
        ["dataset=diabetes", "model=ridge", "model.alpha=oops"],
        ["dataset=diabetes", "out=table.csv"],
        ["dataset=diabetes", "out=table.csv/qa"],
        ["dataset=diabetes", "--verbose"],
    ],
    ids=[
        "unknown-dataset",
        "missing-file",
        "unknown-target",
        "constant-target",
        "infinite-target",
        "unknown-statsmodels-name",
        "unknown-dataset-key",
        "unknown-key",
        "bad-top",
        "bad-model-parameter",
        "out-is-a-file",
        "out-is-inside-a-file",
        "unknown-flag",
    ],
)
def test_a_mistake_is_one_line_exit_2_and_no_run(project: ShortsProject, args: list[str]) -> None:
    pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0], "flat": [1, 1, 1, 1], "spike": [1.0, 2.0, np.inf, 4.0]}
    ).to_csv(project.root / "table.csv", index=False)
    done = project.run("inspect", *args)
    line = assert_usage_error(done, project)
    assert len(line) < 400
    assert not (project.root / "reports").exists()


def test_help_prints_usage_and_starts_nothing(project: ShortsProject) -> None:
    done = project.run("inspect", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: shorts inspect dataset=NAME")
    assert "top=10" in done.stdout and "on_location" in done.stdout
    assert_no_runs(project)


# -- the checks on their own (no command, no store) --------------------------------------------


@pytest.mark.parametrize(
    ("name", "values", "flagged"),
    [
        ("row", list(range(1, 51)), True),  # runs with the row number
        ("code", list(np.random.default_rng(0).permutation(50)), True),  # consecutive, shuffled
        ("name", [f"person {i}" for i in range(50)], True),  # text unique per row
        ("customer_id", [i % 10 for i in range(50)], True),  # a group id: rows share it
        ("income", list(np.random.default_rng(1).choice(10**6, 50, replace=False)), False),
        ("height", list(np.random.default_rng(2).normal(170, 10, 50)), False),
        ("count", [i % 7 for i in range(50)], False),
    ],
)
def test_id_like_columns(name: str, values: list[Any], flagged: bool) -> None:
    from shorts.inspect.checks.columns import column_kind, id_reason

    series = pd.Series(values)
    assert bool(id_reason(name, series, column_kind(series))) is flagged


def test_duplicates_ignore_ids_and_find_conflicting_targets() -> None:
    from shorts.inspect.checks.duplicates import find_duplicates

    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "a": [1.0, 1.0, 2.0, 2.0, np.nan],
            "b": ["x", "x", "y", "y", None],
            "y": [0, 0, 1, 0, 1],
        }
    )
    found = find_duplicates(frame, "y", ["id"], [])
    assert found.exact_rows == 0
    assert found.duplicate_rows == 1  # rows 0 and 1 but for the id
    assert found.examples == [[0, 1]]
    assert (found.conflicting_groups, found.conflicting_rows) == (1, 2)  # rows 2 and 3
    assert found.conflict_examples == [[2, 3]]


def test_rows_alike_only_in_the_target_are_not_duplicates() -> None:
    from shorts.inspect.checks.duplicates import find_duplicates

    frame = pd.DataFrame({"id": [1, 2, 3, 4], "y": [0, 0, 1, 1]})
    found = find_duplicates(frame, "y", ["id"], [])
    assert (found.duplicate_rows, found.examples) == (0, [])


def test_the_suspects_advice_is_a_label_command_for_the_same_rows_of_a_file_with_gaps(
    project: ShortsProject,
) -> None:
    """The loop inspect → label, in CSV mode: the command inspect prints, run as printed with
    sheet=, filled in, then answers=. Four rows have no target, so a row's number in the table
    and its position in the data set differ; the sheet must show the table's rows."""
    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame({"a": rng.normal(size=n).round(4), "b": rng.normal(size=n).round(4)})
    frame["ok"] = (frame["a"] + frame["b"] > 0).astype(float)
    flips = [30, 90, 150, 200]
    frame.loc[flips, "ok"] = 1 - frame.loc[flips, "ok"]
    gaps = [1, 4, 10, 20]
    frame.loc[gaps, "ok"] = np.nan
    frame.to_csv(project.root / "gaps.csv", index=False)
    dataset = ["dataset=file", "dataset.path=gaps.csv", "dataset.target=ok",
               "+dataset.task=classification"]  # fmt: skip

    # The model whose doubts chose the rows is the one the person is scored against.
    dataset += ["model=hist_gbm_classifier", "model.max_iter=50"]
    done = project.run("inspect", *dataset, "top=6", OMP_NUM_THREADS="1")

    assert done.returncode == 0, done.stderr
    _, report = report_of(done)
    suspects = [s["row"] for s in report["noisy"]["top"]]
    command = report["relabel_command"]
    assert command == f"shorts label {' '.join(dataset)} rows={','.join(map(str, suspects))}"
    assert command in [line.strip() for line in done.stdout.splitlines()]  # whole, to copy
    assert command in checklist(report)["noisy_labels"]["advice"]
    assert set(flips) & set(suspects) and not set(gaps) & set(suspects)

    words = shlex.split(command)
    assert words[:2] == ["shorts", "label"]

    def label(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            project.command(*words[1:], *extra), cwd=project.root, stdin=subprocess.DEVNULL,
            env=project.env(OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    sheet = project.root / "suspects.csv"
    done = label(f"sheet={sheet}")
    assert done.returncode == 0, done.stderr
    with sheet.open() as handle:
        lines = list(csv.DictReader(handle))
    assert [int(line["row"]) for line in lines] == suspects
    for line in lines:  # the same row numbers: the table's rows, not the data set's positions
        row = frame.iloc[int(line["row"])]
        assert (float(line["a"]), float(line["b"])) == (row["a"], row["b"])
    recorded = {int(line["row"]): frame.loc[int(line["row"]), "ok"] for line in lines}
    for line in lines:  # the first two keep their label, the rest take the other class
        row = int(line["row"])
        keep = row in suspects[:2]
        line["prediction"] = f"{recorded[row] if keep else 1 - recorded[row]:g}"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)

    done = label(f"answers={sheet}")

    assert done.returncode == 0, done.stderr
    runs = {run.data.tags["shorts.kind"]: run for run in project.runs("on_location")}
    human = runs["human_baseline"]
    assert human.data.tags["shorts.label.rows"] == ",".join(map(str, suspects))
    assert human.data.tags["shorts.label.picked"] == "by_hand"
    assert runs["model_on_same_rows"].data.tags["shorts.label.rows"] == ",".join(map(str, suspects))
    folder = next((project.root / ".shorts" / "labels").iterdir())
    with (folder / "results.csv").open() as handle:
        results = list(csv.DictReader(handle))
    assert [float(r["label"]) for r in results] == [recorded[s] for s in suspects]
    model = np.array([float(r["model_prediction"]) for r in results])
    truth = np.array([recorded[s] for s in suspects])
    doubted = model != truth  # two classes: the other class is the model's where it doubts
    metrics = human.data.metrics
    assert metrics["sided_with_label"] == np.sum(doubted[:2])
    assert metrics["sided_with_model"] == np.sum(doubted[2:])
    assert metrics["sided_with_both"] == np.sum(~doubted[:2])
    assert metrics["sided_with_neither"] == np.sum(~doubted[2:])
    match = re.search(r"your answer was the recorded label on (\d+)", done.stdout)
    assert match and int(match.group(1)) == metrics["sided_with_label"]
    assert "Whom you sided with (rows chosen by hand)" in (folder / "report.md").read_text()
