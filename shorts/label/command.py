"""``shorts label``: be the model for a while, a Wizard-of-Oz human baseline (``HELP`` says how).

Rows are ``Dataset`` positions inside and row ids (``shorts.inspect.row_ids``) wherever a person
sees or writes them. Every mistake of the user's is found before the first question; nothing is
logged until every row is answered.
"""

from __future__ import annotations

import contextlib
import getpass
import secrets
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts.config import compose_config
from shorts.errors import UsageError
from shorts.inspect.setup import Arguments, model_config, model_name, split_arguments, whole_number
from shorts.outcome import Outcome
from shorts.project import Project
from shorts.tracking.store import ui_hint

if TYPE_CHECKING:
    from types import FrameType

    from rich.console import Console

    from shorts.datasets import Dataset
    from shorts.inspect.row_ids import FloatArray, RowIds
    from shorts.label.answers import AnswerLog, Answers
    from shorts.label.feature_context import FeatureContext
    from shorts.label.rows import Picked, TargetScale

USAGE = (
    "usage: shorts label dataset=NAME [n=20 | rows=ID,ID,...] [seed=0] [examples=3] "
    "[answers=FILE.csv | sheet=FILE.csv] [who=NAME] [model=NAME | +experiment=NAME] "
    "[dataset.KEY=VALUE ...]"
)

HELP = f"""\
{USAGE}

Be the model: label n rows of a data set by hand, one at a time, seeing only their features
(each with where it sits among all rows); then see your score beside a model's on the same rows
(out of fold: it never saw them either) and a trivial baseline's, the rows hardest for you and for
the model, and whether they were the same ones. Logged as three runs side by side in the MLflow
experiment 'on_location' (human_baseline, the model, the trivial baseline), only once every row
is answered.

keys:
  dataset=NAME      a catalog data set (configs/dataset/), or your own table:
                    dataset=file dataset.path=x.csv dataset.target=COLUMN
  n=20              how many rows to label
  seed=0            which rows; the same n and seed always pick the same rows
                    (stratified: by class, or by quintile of the target); with rows=, it
                    only picks the examples
  rows=ID,ID,...    label these rows, in this order, instead of n rows picked by seed (e.g. the
                    noisy-label suspects shorts inspect lists: it prints the command); the
                    report then says how often you sided with the recorded label or the model
  examples=3        labelled rows, not among the n, shown before the first question (0..10)
  answers=FILE.csv  your predictions from a CSV: columns row,prediction (others are ignored;
                    row is the row id the session and the sheet show). Rows left empty, or
                    missing, are asked in the terminal.
  sheet=FILE.csv    write the n rows (row id, features, an empty prediction column) to fill in
                    offline, then come back with answers=FILE.csv
  who=NAME          who labelled (default: your login name)
  model=NAME        the model to compare with (default: hist_gbm, or hist_gbm_classifier for
                    classes); +experiment=NAME takes a short's data set and model
  cv.folds=5        folds of the model's out-of-fold predictions

Row ids are the rows' numbers in the table as its source holds it, from 0 (for a CSV, 0 is the
first line under the header), rows without a target included though they cannot be labelled:
the same numbers shorts inspect lists.

Your answers are saved as you go in .shorts/labels/; stop any time (q, Ctrl-C or Ctrl-D) and
finish later with the command it prints (answers=FILE, and rows= if you chose the rows).

examples:
  shorts label dataset=diabetes n=20
  shorts label dataset=fair_rating n=30 model=random_forest_classifier
  shorts label dataset=diabetes sheet=rows.csv     # fill in the prediction column, then
  shorts label dataset=diabetes answers=rows.csv
  shorts label dataset=diabetes rows=56,9,222      # rows shorts inspect doubts
"""

OWN_KEYS = {
    "n": "a whole number from 1 (how many rows to label; default 20)",
    "seed": "a whole number from 0 (which rows; default 0)",
    "rows": "row ids (whole numbers from 0) separated by commas, e.g. rows=56,9,222, as shorts "
    "inspect lists them",
    "examples": "a whole number from 0 to 10 (labelled examples shown first; default 3)",
    "answers": "FILE.csv with the columns row,prediction",
    "sheet": "FILE.csv, a new file to write the rows to label to",
    "who": "the name of who labels",
}
MAX_EXAMPLES = 10
PIPE_WIDTH = 120  # the report's width when stdout is not a terminal (rich's default is 80)


@dataclass(frozen=True)
class Options:
    """This command's own keys, checked."""

    n: int
    seed: int
    chosen: tuple[int, ...] | None
    examples: int
    answers: Path | None
    sheet: Path | None
    who: str
    given: Mapping[str, str]


@dataclass(frozen=True)
class Plan:
    """What a session works from, once every argument is checked and the data is loaded."""

    options: Options
    arguments: Arguments
    cfg: Any
    uri: str
    data: Dataset
    model_cfg: Any
    model_name: str
    ids: RowIds
    picked: Picked
    answers: Answers
    context: FeatureContext
    scale: TargetScale

    @property
    def rows(self) -> list[int]:
        """The ids of the rows to label, in the order asked."""
        return [int(r) for r in self.ids.of(self.picked.rows)]

    @property
    def examples(self) -> list[int]:
        """The ids of the labelled examples."""
        return [int(r) for r in self.ids.of(self.picked.examples)]

    @cached_property
    def X(self) -> FloatArray:
        """The features indexed by row id (NaN rows where an id has no target); spread once."""
        return self.ids.by_id(self.data.X)

    def read(self, path: Path) -> dict[int, float]:
        """The answers in ``path`` to the rows to label (``answers.read_answers``)."""
        from shorts.label.answers import read_answers

        same = "the same n= and seed= pick the same rows"
        if self.options.chosen is not None:
            same = "rows chosen by hand need the same rows="
        return read_answers(path, self.answers, self.rows, self.ids.span, self.data.name, same)


def label_command(project: Project, args: list[str]) -> int:
    """Run ``shorts label ARGS`` in ``project``; returns the exit status.

    Raises:
        UsageError: a bad key, data set, model or answers file (exit 2, nothing logged).
        KeyboardInterrupt: Ctrl-C; the answers given so far are saved and the way to finish
            is printed first.
    """
    if any(arg in ("-h", "--help", "help") for arg in args):
        print(HELP, end="")
        return 0
    plan = _plan(project, args)
    from rich.console import Console

    console = Console(highlight=False)  # names and numbers as typed, never styled
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    if plan.options.sheet is not None:
        return _write_sheet(console, plan, plan.options.sheet)

    from shorts.label.answers import AnswerLog

    rows, data = plan.rows, plan.data
    given = {} if plan.options.answers is None else plan.read(plan.options.answers)
    missing = [row for row in rows if row not in given]
    if missing and not sys.stdin.isatty():
        source = (
            f"{plan.options.answers} answers {len(given)} of the {len(rows)} rows"
            if plan.options.answers
            else "no answers= file is given"
        )
        raise UsageError(
            f"{source}, and the rest would be asked in a terminal, but stdin is not one; give "
            "every row a prediction in answers=FILE.csv (sheet=FILE.csv lists the rows) or run "
            "in a terminal."
        )

    session = f"{data.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    log = AnswerLog(project.state / "labels" / session / "answers.csv", rows)
    if given:
        log.rewrite(given)
    finish = _finish_command(plan, log.path)
    answers_from = "the terminal"
    if plan.options.answers is not None:
        shown = _shown_path(plan.options.answers)
        answers_from = f"{shown} and the terminal" if missing else shown
    if missing:
        stopped = _ask(console, plan, log, given, finish)
        if stopped is not None:
            return stopped
        given = plan.read(log.path)
    try:
        return _score_and_log(project, console, plan, given, session, log.path, answers_from)
    except KeyboardInterrupt:
        _say_saved(console, len(given), len(rows), log.path, finish, "Interrupted while scoring")
        raise


def _plan(project: Project, args: list[str]) -> Plan:
    """Check every argument, load the data, pick the rows: all a user's mistakes, before any
    question."""
    arguments = split_arguments(args, OWN_KEYS, USAGE)
    options = _options(arguments.own)
    cfg = compose_config(project, arguments.overrides)
    uri = ""
    if options.sheet is None:
        from shorts.tracking.store import check_reachable, resolve_tracking_uri

        uri = resolve_tracking_uri(cfg.tracking.uri, project)
        check_reachable(uri)

    import numpy as np

    from shorts.datasets import load_dataset, load_table
    from shorts.inspect.row_ids import row_ids
    from shorts.label.answers import Answers
    from shorts.label.feature_context import FeatureContext
    from shorts.label.rows import by_hand, pick, scale_of

    data = load_dataset(cfg.dataset)
    ids = row_ids(load_table(cfg.dataset, data), data)
    model_cfg = model_config(project, cfg, data.task, arguments.model_chosen)
    name = model_name(project, arguments.overrides, data.task)
    _check_model(model_cfg, name, data)
    if options.chosen is not None:
        picked = by_hand(data, ids, options.chosen, options.seed, options.examples)
    else:
        picked = pick(data, options.n, options.seed, options.examples)
    return Plan(
        options=options,
        arguments=arguments,
        cfg=cfg,
        uri=uri,
        data=data,
        model_cfg=model_cfg,
        model_name=name,
        ids=ids,
        picked=picked,
        answers=Answers(data.task, tuple(float(c) for c in np.unique(data.y))),
        context=FeatureContext(data.X, data.feature_names),
        scale=scale_of(data, picked.others),
    )


# -- the keys -------------------------------------------------------------------------------


def _options(own: Mapping[str, str]) -> Options:
    chosen = _chosen_rows(own)
    if chosen is not None and "n" in own:
        raise UsageError(
            "rows= and n= do not go together: rows=ID,ID,... labels those rows (n is how many "
            "you give), n= picks that many rows with seed=."
        )
    n = len(chosen) if chosen is not None else whole_number(own, "n", 20, OWN_KEYS["n"])
    seed = whole_number(own, "seed", 0, OWN_KEYS["seed"], low=0)
    examples = whole_number(own, "examples", 3, OWN_KEYS["examples"], low=0, high=MAX_EXAMPLES)
    answers = _path(own.get("answers"), "answers")
    sheet = _path(own.get("sheet"), "sheet")
    if answers is not None and sheet is not None:
        raise UsageError(
            "answers= and sheet= do not go together: sheet=FILE.csv writes the rows to label, "
            "answers=FILE.csv reads them back filled in."
        )
    if sheet is not None:
        if sheet.exists():
            raise UsageError(
                f"sheet {sheet} exists already; name a new file (shorts never overwrites a sheet "
                "that may hold your answers)."
            )
        if not sheet.parent.is_dir():
            raise UsageError(f"sheet {sheet}: the folder {sheet.parent} does not exist.")
    who = own.get("who")
    if who is not None and not who.strip():
        raise UsageError(f"who= is empty; who={OWN_KEYS['who']}.")
    return Options(n, seed, chosen, examples, answers, sheet, (who or _login()).strip(), own)


def _chosen_rows(own: Mapping[str, str]) -> tuple[int, ...] | None:
    """``rows=ID,ID,...`` as whole numbers, in the order given (checked against the data set,
    for range, targets and repeats, once it is loaded: ``rows.by_hand``)."""
    text = own.get("rows")
    if text is None:
        return None
    parts = [part.strip() for part in text.strip().strip("[]").split(",")]
    if not any(parts):
        raise UsageError(f"rows= is empty; rows= takes {OWN_KEYS['rows']}.")
    bad = next((part for part in parts if not part.isdigit()), None)
    if bad is not None:
        shown = repr(bad) if bad else "an empty id"
        raise UsageError(f"rows={text}: {shown} is not a row id; rows= takes {OWN_KEYS['rows']}.")
    return tuple(int(part) for part in parts)


def _path(text: str | None, key: str) -> Path | None:
    if text is None:
        return None
    if not text.strip():
        raise UsageError(f"{key}= is empty; {key}={OWN_KEYS[key]}.")
    path = Path(text).expanduser()
    if not path.name.lower().endswith(".csv"):
        raise UsageError(f"{key}={text} is not a .csv file; {key}={OWN_KEYS[key]}.")
    return path.absolute()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


# -- the model ------------------------------------------------------------------------------


def _check_model(model_cfg: Any, name: str, data: Dataset) -> None:
    """Build the model, and refuse a classifier for a continuous target, so the mistakes that
    would only show when the model is fitted are found before the first question (fitting here
    too would double the wait)."""
    import numpy as np
    from sklearn.base import is_classifier

    from shorts.inspect.fitting import build_model

    if is_classifier(build_model(model_cfg)) and not np.array_equal(data.y, np.round(data.y)):
        raise UsageError(
            f"model {name} is a classifier but {data.name}'s target {data.target!r} is "
            f"continuous; choose a regressor (model=hist_gbm) or a data set with classes."
        )


# -- the session ----------------------------------------------------------------------------


def _ask(
    console: Console, plan: Plan, log: AnswerLog, given: dict[int, float], finish: str
) -> int | None:
    """Ask the rows not answered yet; ``None`` once all are, else the exit status (stopped)."""
    import readline  # noqa: F401  (line editing and history for input())

    from shorts.interrupts import interrupts_to
    from shorts.label.session import LabellingSession, Stopped

    data, picked = plan.data, plan.picked
    session = LabellingSession(
        console, data.name, plan.X, plan.context, plan.scale, plan.rows, plan.examples,
        data.y[picked.examples], plan.answers, log, given,
    )  # fmt: skip
    total = len(picked.rows)
    try:
        with interrupts_to(_interrupt):
            session.run()
    except Stopped:
        _say_saved(console, log.count, total, log.path, finish, "Stopped")
        log.discard_if_empty()
        return Outcome.INTERRUPTED.exit_status
    except KeyboardInterrupt:
        # OSError: the terminal is gone (SIGHUP); the file is saved all the same.
        with contextlib.suppress(OSError):
            console.print()
            _say_saved(console, log.count, total, log.path, finish, "Interrupted")
        log.discard_if_empty()
        raise
    return None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM and SIGHUP end a session as Ctrl-C does: say where the answers are, exit 130."""
    raise KeyboardInterrupt


def _finish_command(plan: Plan, answers: Path) -> str:
    """``shorts label`` with what picks the same rows (and the same labeller, examples), reading
    ``answers``: the command that finishes this session."""
    options = plan.options
    words = ["shorts", "label", *plan.arguments.overrides]
    if options.chosen is not None:
        words.append(f"rows={','.join(str(r) for r in options.chosen)}")
        keys: tuple[str, ...] = ("seed", "examples", "who")  # seed= only draws the examples
    else:
        words += [f"n={options.n}", f"seed={options.seed}"]
        keys = ("examples", "who")
    words += [f"{k}={options.given[k]}" for k in keys if k in options.given]
    return shlex.join([*words, f"answers={_shown_path(answers)}"])


def _shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it is below it, else absolute."""
    here = Path.cwd()
    return str(path.relative_to(here) if path.is_relative_to(here) else path)


def _say_saved(
    console: Console, count: int, total: int, path: Path, finish: str, what: str
) -> None:
    from rich.text import Text

    if count == 0:
        console.print(Text(f"{what} before the first answer: nothing to save, nothing logged."))
        return
    console.print(
        Text.assemble(
            (f"{what} at {count}/{total}. ", "bold"),
            f"Your {count} answer{'s are' if count != 1 else ' is'} saved in {_shown_path(path)}; "
            "nothing is logged until every row is answered. To finish later:",
        )
    )
    # One line however long, left to the terminal to wrap, so it copies as one command.
    console.print(Text(f"  {finish}", style="bold"), soft_wrap=True)


# -- the sheet ------------------------------------------------------------------------------


def _write_sheet(console: Console, plan: Plan, sheet: Path) -> int:
    """Write the rows to label (no target) to fill in offline; print the scale and examples."""
    from shorts.label.answers import PREDICTION, ROW, write_table
    from shorts.label.session import scale_lines, show_examples

    data, picked, X = plan.data, plan.picked, plan.X
    try:
        write_table(
            sheet,
            [ROW, *plan.context.names, PREDICTION],
            ([str(r), *plan.context.plain(X[r]), ""] for r in plan.rows),
        )
    except OSError as exc:  # written whole or not at all: nothing to refuse next time
        raise UsageError(
            f"sheet {sheet} could not be written ({exc.strerror or exc}); name a new .csv file "
            "in a folder you can write to."
        ) from None
    for line in scale_lines(plan.scale):
        console.print(line)
    show_examples(console, plan.context, X, plan.examples, data.y[picked.examples], plan.scale)
    what = "a class" if data.task == "classification" else "a number"
    console.print()
    console.print(
        f"Wrote the {len(plan.rows)} rows to label to {_shown_path(sheet)}: fill in its "
        f"prediction column ({what} per row for {data.target}), then:\n  "
        + _finish_command(plan, sheet),
        soft_wrap=True,
    )
    return 0


# -- scoring and logging --------------------------------------------------------------------


def _score_and_log(
    project: Project,
    console: Console,
    plan: Plan,
    given: dict[int, float],
    session: str,
    answers_path: Path,
    answers_from: str,
) -> int:
    """Score the answers against the model and the trivial baseline; report; log the runs."""
    import numpy as np

    from shorts.inspect.predictions import out_of_fold
    from shorts.label.report import SessionFacts, build_report, write_results
    from shorts.label.runs import log_session
    from shorts.label.scoring import compare, trivial_baseline
    from shorts.reports.rendering import write_report
    from shorts.reports.terminal import print_report

    data, picked, options, name = plan.data, plan.picked, plan.options, plan.model_name
    rows = picked.rows  # positions in the data set; their ids are plan.rows
    folds = int(plan.cfg.cv.folds)
    with console.status(
        f"Scoring {name} on the same rows: {folds}-fold out-of-fold predictions over all "
        f"{len(data.y)} rows..."
    ):
        oof = out_of_fold(data, plan.model_cfg, folds=folds, seed=int(plan.cfg.cv.seed))
    comparison = compare(
        data.task,
        data.target,
        np.asarray(plan.rows, dtype=np.int64),
        data.y[rows],
        (f"you ({options.who})", np.asarray([given[r] for r in plan.rows], dtype=np.float64)),
        (name, oof.prediction[rows]),
        trivial_baseline(plan.scale),
        seed=options.seed,
    )
    facts = SessionFacts(
        dataset=data.name,
        who=options.who,
        session=session,
        seed=options.seed,
        model_class=oof.model,
        folds=oof.folds,
        total_rows=len(data.y),
        examples=len(picked.examples),
        answers_from=answers_from,
        by_hand=options.chosen is not None,
    )
    report = build_report(comparison, facts, plan.context, plan.X)
    folder = answers_path.parent
    results = folder / "results.csv"
    write_results(results, comparison, data.feature_names, plan.X)
    written = write_report(report, folder)
    logged = log_session(
        project, plan.uri, comparison, facts, name, [answers_path, results, *written.values()]
    )

    print_report(report, console)
    console.print()
    console.print(
        f"logged   {len(logged.runs)} runs side by side in the MLflow experiment 'on_location':"
    )
    width = max(len(run_name) for run_name, _ in logged.runs.values())
    for run_name, run_id in reversed(logged.runs.values()):
        console.print(f"           {run_name:<{width}}  {run_id}", soft_wrap=True)
    console.print(f"session  {session} (their tag shorts.label.session)")
    console.print(
        f"report   {_shown_path(written['html'])} (also report.md, results.csv)", soft_wrap=True
    )
    console.print(
        f"open     {ui_hint(plan.uri, logged.experiment_id)}", style="dim", soft_wrap=True
    )
    return 0
