"""A job's side of a multirun (``shorts run -m``), in whatever process or machine it runs.

A job and the launching process (``shorts.multirun.launching``) share no memory, only the sweep
folder; the files they exchange there are defined here, with the job that writes them:

* ``shorts-multirun.json``, written by the launching process before any job starts: the parent
  run of each short and whether jobs run side by side;
* ``shorts-interrupt``, which appears when the multirun is interrupted: running jobs stop their
  short (recorded ``interrupted``), jobs that start later do not start;
* ``shorts-jobs/NUM.json``, one per job: its outcome, or why it did not run, which the launching
  process reads at the end to close the parents and choose the exit status.

``PlannedJob`` is a job as the launching process composed it, which a launcher is fitted to.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts.errors import UsageError
from shorts.files import write_atomic
from shorts.outcome import Outcome, RunResult
from shorts.tracking.store import TRACKING_ENV

if TYPE_CHECKING:
    from shorts.runner import Supervisor

MULTIRUN_FILE = "shorts-multirun.json"
INTERRUPT_FILE = "shorts-interrupt"
JOBS_FOLDER = "shorts-jobs"
WATCH_SECONDS = 0.2  # how often a running job looks for the interrupt file
REFUSED = "refused"  # the job's config was refused (a usage error): no run
ERROR = "error"  # shorts itself failed in the job (e.g. the store could not record it)
NOT_STARTED = "not started"  # the multirun was interrupted before the job began


@dataclass(frozen=True)
class PlannedJob:
    """A job as the launching process composed and checked it."""

    num: int
    overrides: list[str]
    short: str
    uri: str
    cpus: int
    memory: int
    wall_time: float
    dataset: str = ""  # the data set choice: with the short, what the headroom warning looks up
    headroom: float = 1.5
    configuration: str = ""  # the job's params but seeds and caps (``retro.records``)


@dataclass(frozen=True)
class JobRecord:
    """What one job left for the launching process."""

    num: int
    short: str
    overrides: list[str]
    outcome: str  # an Outcome value, or REFUSED, ERROR, NOT_STARTED
    reason: str
    run_id: str | None = None
    wall_seconds: float | None = None
    verdict: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class MultirunJob:
    """A job's side of the multirun it belongs to: its parent, interrupts, and its record."""

    sweep_dir: Path
    num: int
    overrides: list[str]
    info: dict[str, Any]
    short: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def of(cls, hydra_cfg: Any) -> MultirunJob | None:
        """The job's multirun, or None outside a multirun started by ``shorts run -m``."""
        from omegaconf import OmegaConf

        num = OmegaConf.select(hydra_cfg, "job.num", default=None)  # "???" in a single run
        if num is None:
            return None
        sweep_dir = Path(str(hydra_cfg.sweep.dir)).resolve()
        try:
            info = json.loads((sweep_dir / MULTIRUN_FILE).read_text())
        except (OSError, ValueError):
            return None
        overrides = [str(o) for o in hydra_cfg.overrides.task]
        short = str(hydra_cfg.runtime.choices.get("experiment") or "")
        return cls(sweep_dir, int(num), overrides, info, short)

    @property
    def parallel(self) -> bool:
        """Jobs run side by side: no live display, one line per job instead."""
        return bool(self.info.get("parallel"))

    def parent(self, short: str, uri: str) -> tuple[str | None, Path | None]:
        """The parent run of this job's short in this job's store: its id, or its journal
        while the store has no id for it."""
        for parent in self.info.get("parents", []):
            if parent.get("short") == short and parent.get("uri") == uri:
                run_id = parent.get("run_id")
                return (str(run_id), None) if run_id else (None, Path(parent["journal"]))
        return None, None

    def interrupted(self) -> bool:
        return (self.sweep_dir / INTERRUPT_FILE).exists()

    @contextmanager
    def environment(self) -> Iterator[None]:
        """``$MLFLOW_TRACKING_URI`` as the launching process had it, for the job's checks and run.

        A Ray worker does not inherit the launching shell's environment: without this, its jobs
        would record into the embedded store while their parents are on the server.
        """
        uri = self.info.get("tracking_uri_env")
        if not uri or TRACKING_ENV in os.environ:
            yield
            return
        os.environ[TRACKING_ENV] = str(uri)
        try:
            yield
        finally:
            os.environ.pop(TRACKING_ENV, None)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Leave a record of why the job did not run if it raises (a refusal or a failure)."""
        try:
            yield
        except UsageError as exc:
            self._record(REFUSED, str(exc))
            raise
        except Exception as exc:
            self._record(ERROR, f"{type(exc).__name__}: {next(iter(str(exc).splitlines()), '')}")
            raise
        finally:
            self._stop.set()

    def not_started(self) -> Outcome:
        """The multirun was interrupted before this job began: no run, a record saying so."""
        self._record(NOT_STARTED, "the multirun was interrupted before this job started")
        return Outcome.INTERRUPTED

    def watch(self, supervisor: Supervisor) -> None:
        """Stop the short when the interrupt file appears (the launching process's Ctrl-C)."""

        def poll() -> None:
            while not self._stop.wait(WATCH_SECONDS):
                if self.interrupted():
                    supervisor.request_interrupt()
                    return

        threading.Thread(target=poll, name="shorts-multirun-watch", daemon=True).start()

    def finished(self, result: RunResult) -> None:
        """Record the run's outcome for the launching process; one line for parallel jobs."""
        self._stop.set()
        self._record(
            result.outcome.value,
            result.reason,
            run_id=result.run_id,
            wall_seconds=result.wall_seconds,
            verdict=result.verdict,
            metrics=result.metrics,
        )
        in_launching_process = int(self.info.get("launcher_pid", -1)) == os.getpid()
        if result.outcome is Outcome.INTERRUPTED and in_launching_process:
            (self.sweep_dir / INTERRUPT_FILE).touch()  # the basic launcher: later jobs stop too
        if self.parallel:
            self._print_line(result)

    def _print_line(self, result: RunResult) -> None:
        """``job 2  completed  model=ridge dataset=diabetes  3.1s  verdict hit  run ...``."""
        from rich.text import Text

        from shorts.caps import format_duration
        from shorts.console import OUTCOME_STYLE, stderr_console

        line = Text(f"job {self.num}  ")
        line.append(result.outcome.value, style=OUTCOME_STYLE[result.outcome])
        line.append(
            f"  {self.short} {shown(self.overrides)}  {format_duration(result.wall_seconds)}"
        )
        if result.verdict:
            line.append(f"  verdict {result.verdict}")
        line.append(f"  run {result.run_id}", style="dim")
        if result.outcome is not Outcome.COMPLETED:
            line.append(f"\n  {result.reason}")
        stderr_console().print(line, soft_wrap=True)

    def _record(self, outcome: str, reason: str, **extra: Any) -> None:
        record = JobRecord(self.num, self.short, self.overrides, outcome, reason, **extra)
        write_json(self.sweep_dir / JOBS_FOLDER / f"{self.num}.json", asdict(record))


def shown(overrides: list[str]) -> str:
    """A job's overrides as a person reads them (the short is named elsewhere)."""
    return " ".join(o for o in overrides if not o.lstrip("+").startswith("experiment="))


def read_records(sweep_dir: Path) -> list[JobRecord]:
    """The jobs' records in a sweep folder, by job number."""
    records = []
    for path in sorted((sweep_dir / JOBS_FOLDER).glob("*.json")):
        try:
            records.append(JobRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(records, key=lambda r: r.num)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader on another process never sees half a file."""
    write_atomic(path, json.dumps(data, indent=2))
