"""What a person sees in the terminal: a live status while a short runs, then a summary.

Off a terminal (CI, pipes) there is no live line and no echo, only the summary; the full output
is in the run's artifacts either way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.text import Text

from shorts.caps import Caps, format_duration, format_size
from shorts.caps.base import Usage
from shorts.outcome import DESCRIPTIONS

if TYPE_CHECKING:
    from shorts.runner import Observation

ECHO_BYTES_PER_SECOND = 64 * 1024
VERDICT_STYLE = {"hit": "bold green", "miss": "bold red", "inconclusive": "bold yellow"}
# One style per outcome, from its description (``shorts.outcome.DESCRIPTIONS``).
OUTCOME_STYLE = {outcome: described.style for outcome, described in DESCRIPTIONS.items()}


def stderr_console() -> Console:
    """The console for messages: stderr, so stdout stays clean for ``--cfg`` and pipes."""
    return Console(stderr=True, highlight=False)


class RunDisplay:
    """Live status and echo for one run; a context manager around the supervisor's wait.

    ``live=False`` (parallel jobs, sweep trials) shows nothing: several live displays on one
    terminal would overwrite each other.
    """

    def __init__(
        self, name: str, caps: Caps, console: Console | None = None, live: bool = True
    ) -> None:
        self.name = name
        self.caps = caps
        self.console = console or stderr_console()
        self.interactive = live and self.console.is_terminal
        self._live: Live | None = None
        self._partial = b""
        self._echo_window = (0.0, 0)
        self._throttled = False
        self._usage = Usage(0.0, 0.0, 0)

    def __enter__(self) -> RunDisplay:
        if self.interactive:
            self._live = Live(
                self._status(), console=self.console, refresh_per_second=4, transient=True
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            if self._partial:
                self._echo_line(self._partial)
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def tick(self, usage: Usage) -> None:
        """Update the status line from a resource sample."""
        self._usage = usage
        if self._live is not None:
            self._live.update(self._status())

    def output(self, chunk: bytes) -> None:
        """Echo the worker's output, at most 64 KiB a second so a flood cannot stall the loop."""
        if self._live is None:
            return
        now = time.monotonic()
        start, sent = self._echo_window
        if now - start >= 1.0:
            start, sent = now, 0
        if sent >= ECHO_BYTES_PER_SECOND:
            if not self._throttled:
                self._throttled = True
                self.console.print(
                    "[dim]... output is flooding; the full log's head and tail are kept in the "
                    "run's artifacts[/]"
                )
            self._echo_window = (start, sent)
            return
        self._echo_window = (start, sent + len(chunk))
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._echo_line(line)

    def _echo_line(self, line: bytes) -> None:
        self.console.print(Text(line.decode(errors="replace")), soft_wrap=True)

    def _status(self) -> Text:
        return status_line(self.name, self.caps, self._usage)


def status_line(name: str, caps: Caps, usage: Usage) -> Text:
    """The live line: each cap's use against its limit, so a new kind of cap shows here too."""
    gauges = []
    for cap in caps.limits:
        used = cap.used(usage)
        label = f"{cap.gauge} " if cap.gauge else ""
        shown = f"{cap.display(used)} / {cap.display(cap.limit)}"
        gauges.append(f"  {label}{shown}  {_bar(used / cap.limit)}")
    return Text.assemble((f"▶ {name}", "bold"), *gauges)


def _bar(fraction: float, width: int = 12) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


def print_summary(
    console: Console,
    name: str,
    observation: Observation,
    run_id: str,
    experiment_id: str,
    ui_hint: str,
    verdict: str | None = None,
    verdict_reason: str | None = None,
    variants: Mapping[str, tuple[str, str]] | None = None,
    note: str | None = None,
) -> None:
    """The outcome, reason, final metrics, verdicts (``variants``: name to verdict and reason,
    shown under the model's) and where to look, in a few lines."""
    outcome = observation.outcome
    usage = (
        f"({format_duration(observation.wall_seconds)} wall, "
        f"{observation.cpu_seconds:.1f} CPU-s, peak {format_size(observation.peak_rss)})"
    )
    head = Text.assemble((outcome.value, OUTCOME_STYLE[outcome]), f"  {name}  ", (usage, "dim"))
    console.print(head, soft_wrap=True)
    console.print(Text(f"  {observation.reason}"), soft_wrap=True)
    if observation.result:
        shown = "  ".join(f"{k}={v:.4g}" for k, v in observation.result.items())
        console.print(Text(f"  metrics  {shown}"), soft_wrap=True)
    judged = [("  verdict  ", verdict, verdict_reason or "")] if verdict else []
    judged += [(f"  variant  {name}: ", v, why) for name, (v, why) in (variants or {}).items()]
    for label, said, why in judged:
        style = VERDICT_STYLE.get(said, "bold")
        console.print(Text.assemble(label, (said, style), f"  {why}"), soft_wrap=True)
    console.print(
        Text(f"  run      {run_id}  (experiment {name}, id {experiment_id})"), soft_wrap=True
    )
    if note:
        console.print(Text(f"  note     {note}"), soft_wrap=True)
    console.print(Text(f"  open     {ui_hint}"), style="dim", soft_wrap=True)
    if not console.is_terminal:
        sys.stderr.flush()
