"""The interactive part of ``shorts label``: a person is the model, one row at a time.

The scale and a few examples, then one row per screen (features only, never the target) and a
prompt (a number far outside the data's range must be typed twice); ``b`` goes back, ``e`` shows
the examples, ``?`` the help, ``q`` stops. Every answer is in the answers file (``AnswerLog``)
before the next question shows, so stopping, Ctrl-C or a closed terminal loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shorts.inspect.row_ids import FloatArray
from shorts.label.answers import AnswerLog, Answers
from shorts.label.feature_context import FeatureContext, format_value
from shorts.label.rows import TargetScale

SPARK = " ▁▂▃▄▅▆▇█"

COMMANDS = {
    "q": "stop (your answers are kept; finish later)",
    "b": "back one question",
    "e": "the examples again",
    "?": "this help",
}


class Stopped(Exception):
    """The person chose to stop (``q`` or end of input) before answering every row."""


@dataclass
class LabellingSession:
    """Asks a person for a prediction of each row (ids, in order), one at a time; ``examples``
    (ids) are shown first with their ``example_labels``; rows in ``given`` (a resumed session,
    filled in as answers come) are not asked again."""

    console: Console
    dataset: str
    X: FloatArray
    context: FeatureContext
    scale: TargetScale
    rows: list[int]
    examples: list[int]
    example_labels: FloatArray
    answers: Answers
    log: AnswerLog
    given: dict[int, float]

    def run(self) -> dict[int, float]:
        """Introduce the task, ask every row not yet answered; the complete answers.

        Raises:
            Stopped: the person typed ``q`` or closed the input (Ctrl-D).
            KeyboardInterrupt: Ctrl-C (the caller says where the answers are).
        """
        self.introduce()
        self._read("Press Enter to start (q to leave). ")
        order = [row for row in self.rows if row not in self.given]
        index = 0
        earlier: float | None = None  # the answer being changed, after going back
        while index < len(order):
            value = self._ask(order[index], len(self.given) + 1, index > 0, earlier)
            earlier = None
            if value is None:  # back
                index -= 1
                earlier = self.given.pop(order[index])
            else:
                self.given[order[index]] = value
                index += 1
            self.log.rewrite(self.given)
        self._clear()
        self.console.print(
            Text(f"All {len(self.rows)} rows answered, thank you. Scoring...", style="bold green")
        )
        return self.given

    def introduce(self) -> None:
        """The task, the target's scale and the labelled examples."""
        self._clear()
        n = len(self.rows)
        target = self.scale.target
        self.console.rule(Text(f"Be the model: {self.dataset}", style="bold"))
        self.console.print(
            f"You will see {n} rows of {self.dataset}, one at a time, features only, and predict "
            f"[bold]{target}[/] for each, as a model would. Afterwards you are scored against a "
            "model on the same rows (it never saw them either) and a trivial baseline.",
            highlight=False,
        )
        if self.given:
            self.console.print(
                f"[bold]Resuming:[/] {len(self.given)} of the {n} rows are answered already; "
                f"{n - len(self.given)} to go.",
                highlight=False,
            )
        self.console.print()
        for line in scale_lines(self.scale):
            self.console.print(line)
        self._show_examples()
        self.console.print()
        self._help()

    def _ask(self, row: int, number: int, can_go_back: bool, earlier: float | None) -> float | None:
        """One question: the row's features, then a prompt until an accepted answer (``None``:
        go back). ``earlier``: the answer given before going back to this row."""
        self._show_row(row, number)
        if earlier is not None:
            self.console.print(
                Text(f"You answered {format_value(earlier)} before; type it again or another.")
            )
        pending: float | None = None
        prompt = Text.assemble(
            (f"{self.scale.target}", "bold"),
            f" for row {row}? ",
            (f"({self.answers.hint}) ", "dim"),
            ("> ", "bold"),
        )
        while True:
            text = self._read(prompt).strip()
            command = text.lower()
            if command == "?":
                self._help()
                continue
            if command == "e":
                if not self.examples:
                    self._problem("This session shows no examples (examples=0).")
                self._show_examples()
                continue
            if command == "b":
                if can_go_back:
                    return None
                self._problem("There is no earlier answer of this session to go back to.")
                continue
            if not text:
                self._problem(f"Type {self.answers.accepted}, or ? for help.")
                continue
            try:
                value = self.answers.parse(text)
            except ValueError as exc:
                self._problem(f"{exc}. Try again, or ? for help.")
                continue
            far = self._far_outside(value)
            if far and pending != value:
                pending = value
                self._problem(f"{text} is {far}; type it again to keep it, or type another.")
                continue
            return value

    def _show_row(self, row: int, number: int) -> None:
        self._clear()
        head = Text.assemble(
            ("Question ", "bold"),
            (f"{number}/{len(self.rows)}", "bold cyan"),
            ("  ·  ", "dim"),
            (f"row {row}", "bold"),
            ("  ·  ", "dim"),
            (reminder(self.scale), "dim"),
        )
        self.console.print(head)
        self.console.print()
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        table.add_column("feature", no_wrap=True, style="bold")
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column(f"where it sits among all {self.context.rows} rows", no_wrap=True)
        table.add_column("", no_wrap=True, style="dim")
        for reading in self.context.read(self.X[row]):
            bar = Text(reading.bar, style="dim")
            if reading.marker >= 0:
                bar.stylize("bold cyan", reading.marker, reading.marker + 1)
            table.add_row(reading.name, reading.value, bar, reading.where)
        self.console.print(table)
        self.console.print()

    def _show_examples(self) -> None:
        show_examples(
            self.console, self.context, self.X, self.examples, self.example_labels, self.scale
        )

    def _help(self) -> None:
        keys = Text("  ")
        for key, what in COMMANDS.items():
            keys.append(key, "bold")
            keys.append(f" {what}" + ("   " if key != "?" else ""), "dim")
        self.console.print(
            Text.assemble(
                ("How to answer: ", "bold"),
                f"type {self.answers.accepted} and press Enter. Or:",
            )
        )
        self.console.print(keys)

    def _problem(self, message: str) -> None:
        self.console.print(Text(message, style="bold red"))

    def _clear(self) -> None:
        if self.console.is_terminal:
            self.console.clear()

    def _read(self, prompt: Text | str) -> str:
        """A line typed; ``Stopped`` on ``q`` (or quit, exit) or the end of input."""
        try:
            text = self.console.input(prompt)
        except EOFError:
            self.console.print()
            raise Stopped from None
        if text.strip().lower() in ("q", "quit", "exit"):
            raise Stopped
        return text

    def _far_outside(self, value: float) -> str:
        """Words for a regression answer far outside the target's range; ``""`` if not."""
        if self.scale.task != "regression":
            return ""
        low, high = self.scale.quantiles[0], self.scale.quantiles[-1]
        span = max(high - low, abs(high), abs(low), 1e-12)
        if low - span <= value <= high + span:
            return ""
        return (
            f"far outside the range of the other rows ({format_value(low)} to {format_value(high)})"
        )


def show_examples(
    console: Console,
    context: FeatureContext,
    X: FloatArray,
    rows: list[int],
    labels: FloatArray,
    scale: TargetScale,
) -> None:
    """The labelled examples side by side: one column per row, the target in the last line."""
    if not rows:
        return
    console.print()
    console.print(
        Text(
            f"{len(rows)} labelled example{'s' if len(rows) != 1 else ''} (rows you will not be "
            f"asked about), by increasing {scale.target}:",
            style="bold",
        )
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("feature", no_wrap=True)
    for row in rows:
        table.add_column(f"row {row}", justify="right", no_wrap=True)
    readings = [context.read(X[row]) for row in rows]
    for i, name in enumerate(context.names):
        table.add_row(name, *(reading[i].short for reading in readings))
    table.add_section()
    table.add_row(scale.target, *(format_value(v) for v in labels), style="bold")
    console.print(table)
    console.print(
        Text("(pNN): percentile among all rows; (NN%): share of rows with that value", "dim")
    )


def scale_lines(scale: TargetScale) -> list[Text]:
    """The target's scale in a few lines: what a person needs before the first guess."""
    if scale.task == "classification":
        shares = ", ".join(
            f"{format_value(c)} ({s:.0%})" for c, s in zip(scale.classes, scale.shares, strict=True)
        )
        return [
            Text.assemble(
                (scale.target, "bold"),
                f" is one of {len(scale.classes)} ordered classes. Among the {scale.rows} "
                f"other rows: {shares}.",
            ),
            Text(
                f"Always answering {format_value(scale.majority)} would be right "
                f"{max(scale.shares):.0%} of the time: that is the trivial baseline.",
                style="dim",
            ),
        ]
    low, q1, median, q3, high = map(_rounded, scale.quantiles)
    mean = _rounded(scale.mean)
    peak = max(scale.histogram) or 1
    spark = "".join(
        SPARK[round(c / peak * (len(SPARK) - 1))] if c else " " for c in scale.histogram
    )
    return [
        Text.assemble(
            (scale.target, "bold"),
            f" is a number. Among the {scale.rows} other rows it runs from {low} to {high}; "
            f"the middle half lies between {q1} and {q3}, the median is {median} and the mean "
            f"{mean}.",
        ),
        Text.assemble(
            "  how the rows spread:  ", (low, "dim"), " ", (spark, "cyan"), " ", (high, "dim")
        ),
        Text(f"Always answering the mean ({mean}) is the trivial baseline.", style="dim"),
    ]


def reminder(scale: TargetScale) -> str:
    """One line of scale shown above every question."""
    if scale.task == "classification":
        return f"{scale.target}: one of " + ", ".join(format_value(c) for c in scale.classes)
    low, q1, median, q3, high = map(_rounded, scale.quantiles)
    return f"{scale.target}: {low} to {high}, median {median}, middle half {q1} to {q3}"


def _rounded(value: float) -> str:
    """Three significant digits: a scale to read, not to compute with."""
    return format_value(float(f"{value:.3g}"))
