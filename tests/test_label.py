"""``shorts label``: a person is the model for a few rows, scored beside a model on the same rows.

Driven for real: the interactive session in a real terminal (tmux, on its own server socket),
the CSV mode as a script uses it, and every mistake as one line, exit 2 and no run.
"""

from __future__ import annotations

import csv
import html
import math
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
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
    screenshot,
    wait_until,
)

TMUX = shutil.which("tmux")
# One OpenMP thread per fit: the tests share two cores with each other, and HistGradientBoosting's
# spinning threads then wait on each other far longer than they compute.
FAST = {"OMP_NUM_THREADS": "1"}
needs_tmux = pytest.mark.skipif(
    TMUX is None, reason="needs tmux to drive a real terminal (apt-get install tmux)"
)
QUESTION = re.compile(r"Question (\d+)/(\d+)\s+·\s+row (\d+)")


def diabetes_target() -> np.ndarray[Any, np.dtype[np.float64]]:
    from sklearn.datasets import load_diabetes

    return np.asarray(load_diabetes().target, dtype=np.float64)


def label(project: ShortsProject, *args: str, cwd: Path | None = None) -> Any:
    """``shorts label ARGS`` with no terminal on stdin, as a script runs it."""
    return subprocess.run(
        project.command("label", *args),
        cwd=cwd or project.root,
        env=project.env(**FAST),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fill(sheet: Path, answer: Any) -> list[dict[str, str]]:
    """Fill in a sheet's prediction column with ``answer(line)``; its lines, as filled."""
    with sheet.open() as handle:
        lines = list(csv.DictReader(handle))
    for line in lines:
        line["prediction"] = str(answer(line))
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    return lines


def session_runs(project: ShortsProject) -> dict[str, Any]:
    """The runs of ``on_location`` by their ``shorts.kind``; all of one labelling session."""
    runs = project.runs("on_location")
    by_kind = {run.data.tags["shorts.kind"]: run for run in runs}
    assert sorted(by_kind) == ["human_baseline", "model_on_same_rows", "trivial_on_same_rows"]
    sessions = {run.data.tags["shorts.label.session"] for run in runs}
    assert len(runs) == 3 and len(sessions) == 1
    return by_kind


class Terminal:
    """One command in a real terminal: a detached tmux session, 120x50, on a private server."""

    def __init__(self, project: ShortsProject, *args: str) -> None:
        self.socket = f"shorts-label-{uuid.uuid4().hex[:8]}"
        command = shlex.join(project.command("label", *args))
        env = {k: v for k, v in project.env(**FAST).items() if k != "TMUX"}
        self._tmux(
            "new-session", "-d", "-s", "label", "-x", "120", "-y", "50", "-c", str(project.root),
            f'{command}; echo "EXIT=$?"; sleep 600',
            env=env,
        )  # fmt: skip
        self.socket_path = Path(self._tmux("display-message", "-p", "#{socket_path}").strip())

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [str(TMUX), "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=30,
        )
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "label")

    def visible(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "label")

    def type(self, text: str) -> None:
        if text:
            self._tmux("send-keys", "-t", "label", "-l", text)
        self._tmux("send-keys", "-t", "label", "Enter")

    def key(self, key: str) -> None:
        self._tmux("send-keys", "-t", "label", key)

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        """The screen once ``pattern`` (a regex) shows on it."""
        found = wait_until(lambda: re.search(pattern, self.screen()), timeout=timeout)
        assert found, f"{pattern!r} never showed; the screen:\n{self.screen()}"
        return self.screen()

    def question(self, number: int) -> tuple[int, str]:
        """Wait for question ``number`` and its prompt; its row id and the visible screen."""

        def asked() -> bool:
            visible = self.visible()
            match = QUESTION.search(visible)
            return bool(match and int(match.group(1)) == number and visible.rstrip().endswith(">"))

        assert wait_until(asked, timeout=60), f"question {number} never came:\n{self.screen()}"
        visible = self.visible()
        match = QUESTION.search(visible)
        assert match is not None
        return int(match.group(3)), visible

    def close(self) -> None:
        subprocess.run([str(TMUX), "-L", self.socket, "kill-server"], capture_output=True)
        self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def open_terminal(project: ShortsProject) -> Iterator[Callable[..., Terminal]]:
    """``open_terminal(*args)``: ``shorts label ARGS`` in a new ``Terminal``, closed after the
    test."""
    opened: list[Terminal] = []

    def open_(*args: str) -> Terminal:
        opened.append(Terminal(project, *args))
        return opened[-1]

    yield open_
    for terminal in opened:
        terminal.close()


def table_lines(screen: str) -> list[str]:
    """The feature table of a question: the lines between its header and the prompt."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("feature"))
    end = next(i for i, line in enumerate(lines) if " for row " in line and line.endswith(">"))
    return [line for line in lines[start:end] if line.strip()]


# -- in a real terminal ---------------------------------------------------------------------


@needs_tmux
def test_a_person_labels_rows_in_a_terminal_and_is_logged_beside_the_model(
    project: ShortsProject, open_terminal: Callable[..., Terminal]
) -> None:
    target = diabetes_target()
    terminal = open_terminal("dataset=diabetes", "n=3", "examples=1")

    intro = terminal.wait_for("Press Enter to start")
    assert "disease_progression is a number" in intro
    assert "1 labelled example" in intro
    terminal.type("")

    typed = {}
    for number, answer in zip((1, 2, 3), (100.0, 150.0, 200.0), strict=True):
        row, visible = terminal.question(number)
        table = table_lines(visible)
        assert "where it sits among all 442 rows" in table[0]
        assert any(
            re.match(r"bmi\s+-?[\d.]+\s+\S+.*(percentile|minimum|maximum)", t) for t in table
        )
        assert all(not line.startswith("disease_progression") for line in table)
        label_value = f"{target[row]:g}"
        assert not any(re.search(rf"(?<![\w.\-]){label_value}(?![\w.%])", t) for t in table)
        if number == 1:
            terminal.type("abc")
            screen = terminal.wait_for("'abc' is not a number")
            assert re.search(r"'abc' is not a number.*\n.*for row \d+\? \(a number\) >", screen)
            assert QUESTION.findall(terminal.visible())[-1][0] == "1"  # still question 1
        terminal.type(f"{answer:g}")
        typed[row] = answer

    screen = terminal.wait_for(r"EXIT=\d+")
    assert "EXIT=0" in screen, screen
    assert "Hardest rows for you" in screen and "Did you find the same rows hard?" in screen

    runs = session_runs(project)
    human, model, trivial = (
        runs[k] for k in ("human_baseline", "model_on_same_rows", "trivial_on_same_rows")
    )
    rows = [int(r) for r in human.data.tags["shorts.label.rows"].split(",")]
    assert rows == list(typed)
    errors = np.array([typed[r] - target[r] for r in rows])
    assert human.data.metrics["rmse"] == pytest.approx(math.sqrt(np.mean(errors**2)))
    assert human.data.metrics["mae"] == pytest.approx(np.mean(np.abs(errors)))
    for run in (model, trivial):
        assert {"rmse", "mae"} <= set(run.data.metrics)
    assert model.info.run_name == "hist_gbm (same 3 rows)"
    assert human.info.run_name == "human_baseline"
    assert (
        "You" in human.data.tags["mlflow.note.content"]
        or "model" in (human.data.tags["mlflow.note.content"])
    )
    artifacts = {a.path for a in project.client().list_artifacts(human.info.run_id)}
    assert {"answers.csv", "results.csv", "report.html", "report.md"} <= artifacts


@needs_tmux
def test_ctrl_c_keeps_the_answers_and_the_session_finishes_later(
    project: ShortsProject, open_terminal: Callable[..., Terminal]
) -> None:
    target = diabetes_target()
    first = open_terminal("dataset=diabetes", "n=3", "examples=0")
    first.wait_for("Press Enter to start")
    first.type("")
    row, _ = first.question(1)
    first.type("120")
    first.question(2)
    first.key("C-c")

    screen = first.wait_for(r"EXIT=\d+")
    assert "EXIT=130" in screen
    assert "Interrupted at 1/3" in screen
    assert_no_runs(project)
    saved = list((project.root / ".shorts" / "labels").glob("*/answers.csv"))
    assert len(saved) == 1
    lines = saved[0].read_text().splitlines()  # every row of the session, answered or not
    assert lines[0] == "row,prediction" and len(lines) == 4
    assert f"{row},120" in lines and sum(line.endswith(",") for line in lines) == 2
    finish = re.search(r"shorts label .*answers=\S+", screen)
    assert finish and "n=3" in finish.group(0) and "seed=0" in finish.group(0)

    second = open_terminal("dataset=diabetes", "n=3", "examples=0", f"answers={saved[0]}")
    assert "Resuming: 1 of the 3 rows" in second.wait_for("Press Enter to start")
    second.type("")
    typed = {row: 120.0}
    for number, answer in ((2, 80.0), (3, 250.0)):
        asked, _ = second.question(number)
        assert asked not in typed
        second.type(f"{answer:g}")
        typed[asked] = answer
    assert "EXIT=0" in second.wait_for(r"EXIT=\d+")

    human = session_runs(project)["human_baseline"]
    rows = [int(r) for r in human.data.tags["shorts.label.rows"].split(",")]
    errors = np.array([typed[r] - target[r] for r in rows])
    assert sorted(rows) == sorted(typed)
    assert human.data.metrics["rmse"] == pytest.approx(math.sqrt(np.mean(errors**2)))


# -- the CSV mode ---------------------------------------------------------------------------


def test_a_sheet_filled_in_offline_is_scored_as_answers_for_ordered_classes(
    project: ShortsProject, tmp_path: Path
) -> None:
    sheet = tmp_path / "rows.csv"
    done = label(project, "dataset=diabetes_ordinal", "n=6", f"sheet={sheet}")
    assert done.returncode == 0, done.stderr
    assert f"answers={sheet}" in done.stdout
    with sheet.open() as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == ["row", "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
                              "prediction"]  # fmt: skip
    assert len(lines) == 6 and all(line["prediction"] == "" for line in lines)
    assert_no_runs(project)

    classes = np.asarray(pd.qcut(diabetes_target(), 5, labels=False))
    rows = [int(line["row"]) for line in lines]
    assert set(classes[rows]) == {0, 1, 2, 3, 4}  # stratified: every class is asked
    fill(sheet, lambda line: 2)

    done = label(project, "dataset=diabetes_ordinal", "n=6", f"answers={sheet}")
    assert done.returncode == 0, done.stderr
    runs = session_runs(project)
    human = runs["human_baseline"].data.metrics
    assert human["accuracy"] == pytest.approx(np.mean(classes[rows] == 2))
    assert human["mae"] == pytest.approx(np.mean(np.abs(classes[rows] - 2)))
    for kind in ("model_on_same_rows", "trivial_on_same_rows"):
        assert {"accuracy", "mae"} <= set(runs[kind].data.metrics)
    assert runs["model_on_same_rows"].info.run_name == "hist_gbm_classifier (same 6 rows)"


# -- the report as people read it: terminal, HTML in a browser, Markdown, the run's note ------

HOSTILE = '<script>alert("x")</script>'
MARKDOWN_TRAP = "a|b *c* [l](http://x) `t`"  # a pipe, emphasis, a link, code
RICH_TRAP = "[bold]x[/bold]"  # rich markup, if the terminal parsed it


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A session on a table whose columns and values are HTML, Markdown and rich markup: the
    report's folder, what the command printed, and the human run's note."""
    project = make_project(tmp_path_factory.mktemp("hostile"))
    rng = np.random.default_rng(0)
    area = rng.normal(70, 20, 80).round(1)
    pd.DataFrame(
        {
            "city": rng.choice(["Lyon", "<b>Paris</b>", "Nice"], 80),
            HOSTILE: area,
            MARKDOWN_TRAP: rng.normal(size=80).round(2),
            RICH_TRAP: rng.normal(size=80).round(2),
            "price": (area * 3000 + rng.normal(0, 20_000, 80)).round(-2),
        }
    ).to_csv(project.root / "houses.csv", index=False)
    args = ["dataset=file", "dataset.path=houses.csv", "dataset.target=price", "n=6"]
    assert label(project, *args, "sheet=rows.csv").returncode == 0
    fill(project.root / "rows.csv", lambda line: 200_000)
    done = label(project, *args, "answers=rows.csv")
    assert done.returncode == 0, done.stderr
    note = session_runs(project)["human_baseline"].data.tags["mlflow.note.content"]
    return next((project.root / ".shorts" / "labels").iterdir()), done.stdout, note


def test_the_terminal_shows_every_section_and_names_as_typed(
    hostile: tuple[Path, str, str],
) -> None:
    _, out, _ = hostile
    for title in ["Human baseline: 6 rows of houses", "Hardest rows for you",
                  "Hardest rows for the model", "Did you find the same rows hard?"]:  # fmt: skip
        assert title in out
    assert RICH_TRAP in out and HOSTILE in out  # never read as markup
    assert "(pNN): the value's percentile among all rows" in out


def test_html_escapes_names_and_values_and_keeps_the_order(hostile: tuple[Path, str, str]) -> None:
    folder, _, _ = hostile
    page = (folder / "report.html").read_text()
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "&lt;b&gt;Paris" in page
    found = [page.index(f'id="{anchor}"')
             for anchor in ["hardest_human", "hardest_model", "agreement", "glossary"]]  # fmt: skip
    assert found == sorted(found)
    assert page.index("on the same rows") < found[0]  # the scores come first
    assert page.count('class="footer-start strong"') == 2  # the truth under each row's features


def test_markdown_is_github_flavoured_without_raw_html(hostile: tuple[Path, str, str]) -> None:
    from markdown_it import MarkdownIt

    folder, _, _ = hostile
    text = (folder / "report.md").read_text()
    kinds = [token.type for token in markdown_tokens(text)]
    assert not {"html_block", "html_inline", "link_open"} & set(kinds)
    assert kinds.count("table_open") == 3  # the scores, the rows hardest for each
    shown = html.unescape(MarkdownIt("gfm-like", {"linkify": False}).render(text))
    assert shown.count(MARKDOWN_TRAP) == 2 and shown.count(HOSTILE) == 2  # whole, in each table
    assert "<em>c</em>" not in shown


def test_the_runs_note_is_markdown_with_the_scores_table(hostile: tuple[Path, str, str]) -> None:
    _, _, note = hostile
    tokens = markdown_tokens(note)
    kinds = [token.type for token in tokens]
    assert not {"html_block", "html_inline"} & set(kinds)
    assert kinds.count("table_open") == 1 and kinds.count("th_open") == 3  # who, rmse, mae
    assert note.startswith("**Human baseline** on 6 rows of houses")
    assert "shorts.label.session" in note


def test_the_browser_builds_the_report(hostile: tuple[Path, str, str], tmp_path: Path) -> None:
    folder, _, _ = hostile
    done = chromium(tmp_path, "--dump-dom", (folder / "report.html").as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<script" not in done.stdout and "<b>" not in done.stdout
    assert 'id="hardest_human"' in done.stdout
    screenshot(tmp_path, folder / "report.html", "label-houses.png", height=1600)


def sheet_rows(n: int = 4, seed: int = 0) -> list[int]:
    """The rows ``shorts label dataset=diabetes n=N seed=S`` asks, as the command picks them."""
    from shorts.datasets import load_dataset
    from shorts.label.rows import pick

    data = load_dataset({"source": "sklearn", "name": "diabetes"})
    return [int(r) for r in pick(data, n, seed, 3).rows]


def test_whom_a_person_sided_with_is_counted_row_by_row() -> None:
    """Classes: the label, the model (where the two differ), both (where they agree), neither.
    Numbers: whichever is closer. (The whole loop, from shorts inspect's suspects to the runs, is
    in test_inspect.py.)"""
    from shorts.label.scoring import compare, sides

    truth = np.array([1.0, 1.0, 0.0, 2.0, 0.0])
    model = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    you = np.array([1.0, 0.0, 0.0, 0.0, 1.0])
    rows = np.arange(5, dtype=np.int64)
    classes = compare("classification", "t", rows, truth, ("you", you), ("model", model),
                      ("majority", 0.0))  # fmt: skip
    ten, twenty = np.full(3, 10.0), np.full(3, 20.0)
    numbers = compare("regression", "t", rows[:3], ten, ("you", np.array([11.0, 19.0, 15.0])),
                      ("model", twenty), ("mean", 10.0))  # fmt: skip

    counted, closer = sides(classes), sides(numbers)

    assert (counted.label, counted.model, counted.both, counted.neither) == (1, 2, 1, 1)
    assert counted.reading()[0].startswith("Of the 5 rows chosen by hand, your answer was the")
    assert (closer.label, closer.model, closer.both, closer.neither) == (1, 1, 1, 0)
    assert "not proof that the label is wrong" in closer.reading()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rows=3,8", "n=2"], "rows= and n= do not go together"),
        (["rows=3,x"], "'x' is not a row id; rows= takes row ids (whole numbers from 0)"),
        (["rows=3,8,3"], "rows= gives row 3 twice; give each row once (accepted: row ids 0..441)"),
        (["rows=3,442"], "row 442, which is not a row of diabetes; accepted: row ids 0..441."),
    ],
    ids=["with-n", "not-a-number", "twice", "out-of-range"],
)
def test_rows_by_hand_that_do_not_fit_are_one_line_and_no_run(
    project: ShortsProject, tmp_path: Path, args: list[str], message: str
) -> None:
    done = label(project, "dataset=diabetes", *args, f"sheet={tmp_path / 'rows.csv'}")

    assert message in assert_usage_error(done, project)
    assert not (tmp_path / "rows.csv").exists()


def test_row_ids_count_the_table_rows_and_skip_rows_without_a_target() -> None:
    from shorts.datasets import Dataset, Table
    from shorts.errors import UsageError
    from shorts.inspect.row_ids import row_ids
    from shorts.label.rows import by_hand

    frame = pd.DataFrame({"x": np.arange(12.0), "y": [0, 1, None, 3, 4, None, 6, 7, 8, 9, 10, 11]})
    kept = frame.dropna()
    data = Dataset("t", kept[["x"]].to_numpy(), kept["y"].to_numpy(dtype=float), ["x"], "y")
    ids = row_ids(Table(frame, "t", "y", "file", "t.csv"), data)

    picked = by_hand(data, ids, [7, 3], seed=0, examples=2)

    assert list(ids.of(picked.rows)) == [7, 3]  # asked in the order given
    assert list(data.X[picked.rows, 0]) == [7.0, 3.0]  # the table's rows 7 and 3
    assert not set(ids.of(picked.examples)) & {7, 3}
    assert ids.by_id(data.X)[7, 0] == 7.0 and np.isnan(ids.by_id(data.X)[5, 0])
    with pytest.raises(UsageError, match="row 5, which has no value in t's target 'y'"):
        by_hand(data, ids, [5], seed=0, examples=2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,guess\n1,2\n", "has no 'row' or 'prediction' column (its columns: 'id', 'guess')"),
        ("row,prediction\n{first},100\n", "answers 1 of the 4 rows"),  # the rest: no terminal
    ],
    ids=["columns", "rows-missing"],
)
def test_a_bad_answers_file_is_one_line_and_no_run(
    project: ShortsProject, tmp_path: Path, content: str, message: str
) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text(content.format(first=sheet_rows()[0]))

    done = label(project, "dataset=diabetes", "n=4", f"answers={answers}")

    line = assert_usage_error(done, project)
    assert message in line
    assert not (project.root / ".shorts" / "labels").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("row;prediction\n9999;100\n", "line 2: row 9999 is not a row of diabetes (rows 0..441)"),
        ("row,prediction\n{other},100\n", "is not one of the 4 rows this session labels"),
        ("row,prediction\nfirst,100\n", "row 'first' is not a row id"),
        ("row,prediction\n{first},lots\n", "'lots' is not a number (e.g. 12 or 3.5)"),
        ('row,prediction\n{first},"1,5"\n', "use a point for decimals"),
        ("row,prediction\n{first},1\n{first},2\n", "line 3: row {first} has a second answer"),
        ("", "is empty"),
    ],
    ids=[
        "unknown-row",
        "row-not-asked",
        "row-not-a-number",
        "not-a-number",
        "decimal-comma",
        "twice",
        "empty",
    ],
)
def test_an_answers_file_names_the_line_and_what_is_accepted(
    tmp_path: Path, content: str, message: str
) -> None:
    from shorts.errors import UsageError
    from shorts.label.answers import Answers, read_answers

    rows = sheet_rows()
    other = next(r for r in range(442) if r not in rows)
    answers = tmp_path / "answers.csv"
    answers.write_text(content.format(first=rows[0], other=other))

    with pytest.raises(UsageError) as raised:
        read_answers(answers, Answers("regression"), rows, 442, "diabetes")

    assert message.format(first=rows[0]) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_answers_file_from_a_spreadsheet_is_read() -> None:
    """Semicolons, a byte-order mark, rows saved as 12.0, empty cells (asked later), extra
    columns, classes given as 3.0."""
    import tempfile

    from shorts.label.answers import Answers, read_answers

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "filled.csv"
        path.write_text("\ufeffRow;age;Prediction\n12.0;40;3.0\n7;51;\n", encoding="utf-8")
        found = read_answers(path, Answers("classification", (1.0, 2.0, 3.0)), [7, 12], 20, "x")

    assert found == {12: 3.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dataset=diabetes", "n=0"], "n='0' is not accepted"),
        (["dataset=diabetes", "n=500"], "n=500 is too many"),
        (["dataset=diabetes", "answers=a.csv", "sheet=b.csv"], "do not go together"),
        (["dataset=nope"], "dataset"),
        (["dataset=friedman1", "model=hist_gbm_classifier"], "is a classifier but friedman1"),
        (["dataset=diabetes", "--fast"], "unknown option '--fast'"),
    ],
    ids=["n-zero", "n-too-many", "answers-and-sheet", "unknown-dataset", "wrong-model", "flag"],
)
def test_a_bad_key_is_one_line_and_no_run(
    project: ShortsProject, args: list[str], message: str
) -> None:
    done = label(project, *args)

    assert message in assert_usage_error(done, project)


def test_help_prints_the_usage(project: ShortsProject) -> None:
    done = label(project, "--help")

    assert done.returncode == 0
    assert done.stdout.startswith("usage: shorts label dataset=NAME")
    assert "answers=FILE.csv" in done.stdout and "sheet=FILE.csv" in done.stdout


# -- the parts, in process ------------------------------------------------------------------


def test_the_same_n_and_seed_pick_the_same_stratified_rows() -> None:
    from shorts.datasets import Dataset
    from shorts.label.rows import pick

    y = np.repeat([0.0, 1.0, 2.0, 3.0], [50, 30, 15, 5])
    data = Dataset("toy", np.arange(len(y), dtype=np.float64)[:, None], y, ["x"], "t",
                   task="classification")  # fmt: skip

    first, again, other = pick(data, 20, 0, 3), pick(data, 20, 0, 0), pick(data, 20, 1, 3)

    assert list(first.rows) == list(again.rows)  # examples never change which rows are asked
    assert list(first.rows) != list(other.rows)
    assert np.bincount(y[first.rows].astype(int)).tolist() == [10, 6, 3, 1]
    assert not set(first.examples) & set(first.rows)


def test_the_reading_of_error_rankings_is_honest_about_n() -> None:
    from shorts.label.scoring import compare

    truth = np.arange(30, dtype=np.float64)
    noise = np.linspace(1, 30, 30)
    rows = np.arange(30, dtype=np.int64)

    same = compare("regression", "t", rows, truth, ("you", truth + noise),
                   ("model", truth - 2 * noise), ("mean", 15.0))  # fmt: skip
    few = compare("regression", "t", rows[:4], truth[:4], ("you", truth[:4] + noise[:4]),
                  ("model", truth[:4] + noise[:4][::-1]), ("mean", 15.0))  # fmt: skip

    assert same.agreement.rho == pytest.approx(1.0)
    assert same.agreement.reading.startswith("The rows you found hard were largely")
    assert "n = 30" in same.agreement.reading
    assert "could be chance" in few.agreement.reading or "cannot be told" in few.agreement.reading
    assert "no difference can be told from chance" in few.gap.reading


def test_a_users_file_gives_a_sheet_a_person_can_read(
    project: ShortsProject, tmp_path: Path
) -> None:
    table = tmp_path / "houses.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "id": [f"h{i}" for i in range(60)],
            "city": rng.choice(["Lyon", "Paris", "Nice"], 60),
            "area": rng.normal(70, 20, 60).round(1),
            "price": rng.normal(200_000, 50_000, 60).round(-2),
        }
    ).to_csv(table, index=False)
    sheet = tmp_path / "rows.csv"

    done = label(project, "dataset=file", f"dataset.path={table}", "dataset.target=price", "n=5",
                 f"sheet={sheet}")  # fmt: skip

    assert done.returncode == 0, done.stderr
    lines = list(csv.DictReader(sheet.open()))
    assert list(lines[0]) == ["row", "city", "area", "prediction"]  # id dropped, city one column
    assert {line["city"] for line in lines} <= {"Lyon", "Paris", "Nice"}
    assert "price is a number" in done.stdout


def test_a_feature_is_shown_with_where_it_sits_among_all_rows() -> None:
    from shorts.label.feature_context import FeatureContext

    X = np.column_stack(
        [
            np.arange(100, dtype=np.float64),  # many values: a percentile
            np.tile([0.0, 1.0], 50),  # two values: a share
            np.tile([1.0, 0.0, 0.0, 0.0], 25),  # colour=red, one-hot
            np.tile([0.0, 1.0, 1.0, 1.0], 25),  # colour=blue
            np.where(np.arange(100) < 10, np.nan, 1.5),  # missing in 10% of rows
        ]
    )
    context = FeatureContext(X, ["size", "flag", "colour=red", "colour=blue", "dose"])

    size, flag, colour, dose = context.read(X[90])
    _, _, _, missing = context.read(X[3])

    assert context.names == ["size", "flag", "colour", "dose"]
    assert (size.value, size.where, size.short) == ("90", "90th percentile", "90 (p90)")
    assert size.bar[size.marker] == "●" and "┼" in size.bar
    assert (flag.value, flag.where, flag.bar) == ("0", "50% of rows", "● ○")
    assert (colour.value, colour.where) == ("blue", "75% of rows")
    assert (dose.value, dose.where) == ("1.5", "100% of rows")
    assert (missing.value, missing.where) == ("missing", "missing (10% of rows)")
