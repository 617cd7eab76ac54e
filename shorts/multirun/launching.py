"""The launching side of a multirun (``shorts run -m``): plan, parents, interrupts, the end.

The launching side is a Hydra callback: ``on_multirun_start`` runs before the launcher starts any
job, so it composes and checks every job's config first (a mistake costs one line and creates no
run), creates the sqlite store's schema and the experiments once (parallel jobs would race for
them), sizes the launcher to the jobs' caps (``shorts.multirun.launchers``) and opens the
parents; ``on_multirun_end`` closes them. Hydra skips ``on_multirun_end`` when the launcher
raises, so ``shorts run`` calls :func:`conclude` in any case.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback

from shorts import record as rec  # ``record`` names the jobs' records here
from shorts.errors import UsageError
from shorts.interrupts import interrupts_to
from shorts.multirun.job import (
    ERROR,
    INTERRUPT_FILE,
    MULTIRUN_FILE,
    NOT_STARTED,
    REFUSED,
    JobRecord,
    PlannedJob,
    read_records,
    shown,
    write_json,
)
from shorts.multirun.launchers import ELSEWHERE, check_ray_address, fit_launcher, launcher_name
from shorts.outcome import FAILED, Outcome
from shorts.project import ROOT_ENV, Project, find_project
from shorts.tracking.recorder import ParentRecord
from shorts.tracking.store import TRACKING_ENV

if TYPE_CHECKING:
    from omegaconf import DictConfig

NOT_RUN = "not run"  # the launching process never heard from the job


@dataclass(frozen=True)
class ParentRun:
    """The parent run of one short's jobs in one tracking store."""

    short: str
    uri: str
    run_id: str | None  # None while the store has not taken the parent yet
    experiment_id: str | None
    journal: str  # its record, journaled like any run's: children link to it if no id yet


@dataclass
class MultirunReport:
    """How a multirun ended: the exit status ``shorts run`` returns, and why."""

    records: list[JobRecord]
    interrupted: bool
    parents: list[ParentRun]
    not_run: int = 0  # planned jobs the launching process never heard from

    @property
    def outcomes(self) -> list[Outcome]:
        """The jobs' outcomes, for the exit status: a job that was not started counts as
        interrupted; one that shorts failed to run or record, or never heard from, as crashed."""
        known: dict[str, Outcome] = {o.value: o for o in Outcome}
        known[NOT_STARTED] = Outcome.INTERRUPTED
        found = [known.get(r.outcome, Outcome.CRASHED) for r in self.records]
        if self.interrupted:
            found.append(Outcome.INTERRUPTED)
        found += [Outcome.CRASHED] * self.not_run
        return found

    @property
    def refusal(self) -> str | None:
        """The first job's refusal as one line, if a job's config was refused where it ran."""
        for record in self.records:
            if record.outcome == REFUSED:
                return f"job {record.num} ({' '.join(record.overrides)}): {record.reason}"
        return None


# -- the launching process ---------------------------------------------------------------------


class StopMultirun(BaseException):
    """Stops a multirun before any job starts; ``error`` says why (e.g. a refused config).

    A ``BaseException`` because Hydra turns a callback's ``Exception`` into a warning and carries
    on launching the jobs.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


_current: Multirun | None = None
_report: MultirunReport | None = None


class MultirunCallback(Callback):
    """Hydra callback (``hydra.callbacks`` in configs/shorts.yaml) around a ``shorts run -m``.

    Hydra pickles it into every job with the launcher's context, so it holds no state: the
    launching process keeps its multirun in this module.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _current, _report
        _report = None
        try:
            _current = Multirun.start(config)
        except Exception as exc:
            raise StopMultirun(exc) from exc

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _report
        if _current is not None and _report is None:
            _report = _current.close()


def requested(overrides: list[str]) -> bool:
    """True if ``shorts run`` was asked for a multirun."""
    return any(
        a in ("-m", "--multirun") or a.replace(" ", "") == "hydra.mode=MULTIRUN" for a in overrides
    )


def with_sweep_dir(project: Project, overrides: list[str]) -> list[str]:
    """``overrides`` plus an absolute ``hydra.sweep.dir`` fixed here, unless the user set one.

    The config's ``${oc.env:SHORTS_ROOT}`` is resolved again in each job, and a Ray worker does
    not have the launching process's environment: its jobs would write under the worker's own
    working directory, where neither the parent's file nor the launching process would find them.
    The override goes right after ``+experiment=...``: Hydra's argument parser wants the
    overrides side by side (``--cfg job`` may follow them).
    """
    keys = [a.lstrip("+~").split("=", 1)[0] for a in overrides]
    if "hydra.sweep.dir" in keys or "experiment" not in keys:
        return overrides
    now = datetime.now()
    folder = project.state / "multirun" / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S-%f")
    quoted = str(folder).replace("\\", "\\\\").replace("'", "\\'")
    at = keys.index("experiment") + 1
    return [*overrides[:at], f"hydra.sweep.dir='{quoted}'", *overrides[at:]]


@contextmanager
def interrupts() -> Iterator[None]:
    """Ctrl-C, SIGTERM, SIGHUP while a multirun runs: stop its jobs, record them, then exit 130.

    The first signal writes the interrupt file and lets the launcher wait for its jobs, which
    stop their shorts (and start no new ones) and record them as interrupted; a second signal
    stops at once, like a second Ctrl-C on a single run.
    """
    received = [0]

    def handler(signum: int, frame: FrameType | None) -> None:
        received[0] += 1
        if _current is None or received[0] > 1:
            raise KeyboardInterrupt
        _current.interrupt()

    with interrupts_to(handler):
        yield


def conclude(aborted: bool = False) -> MultirunReport | None:
    """The report of the multirun that just ended; closes its parents if Hydra did not.

    ``aborted``: the launcher raised (a second Ctrl-C, a broken worker pool), so jobs may have
    been killed with their runs open; those are closed as ``lost`` on the way.
    """
    global _current, _report
    current, report = _current, _report
    _current, _report = None, None
    if current is not None and report is None:
        report = current.close(aborted=aborted)
    return report


@dataclass
class Multirun:
    """One ``shorts run -m`` as the launching process sees it."""

    project: Project
    sweep_dir: Path
    launcher: str
    jobs: list[PlannedJob]
    parents: list[ParentRun] = field(default_factory=list)
    interrupted: bool = False
    started: float = field(default_factory=time.monotonic)
    _records: dict[tuple[str, str], ParentRecord] = field(default_factory=dict)

    @classmethod
    def start(cls, config: DictConfig) -> Multirun:
        """Check every job, size the launcher, open the parents, tell the jobs where they are."""
        project = Project(Path(os.environ[ROOT_ENV])) if ROOT_ENV in os.environ else find_project()
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        target = str(config.hydra.launcher.get("_target_", ""))
        launcher = launcher_name(target)
        jobs = _plan(config, project, here=not any(t in target for t in ELSEWHERE))
        fit_launcher(config, jobs)
        if launcher == "ray":
            check_ray_address(config)
        multirun = cls(project, sweep_dir, launcher, jobs)
        multirun._open_parents(config)
        _warn_about_headroom(jobs)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        info = {
            "parents": [asdict(p) for p in multirun.parents],
            "parallel": launcher != "basic",
            "launcher_pid": os.getpid(),
            "launcher": launcher,
            "tracking_uri_env": os.environ.get(TRACKING_ENV),
        }
        write_json(sweep_dir / MULTIRUN_FILE, info)
        return multirun

    def _open_parents(self, config: DictConfig) -> None:
        from shorts.config import redact_overrides
        from shorts.tracking.store import open_client

        overrides = " ".join(redact_overrides([str(o) for o in config.hydra.overrides.task]))
        stamp = time.strftime("%m%d-%H%M%S")
        by_store: dict[tuple[str, str], int] = Counter((j.short, j.uri) for j in self.jobs)
        for (short, uri), count in by_store.items():
            open_client(uri)  # a fresh sqlite store's schema, once, before jobs race
            note = f"Multirun of {short}: {count} job(s) on {self.launcher} ({overrides})"
            tags = {
                rec.SHORT: short,
                rec.KIND: rec.KIND_MULTIRUN,
                rec.OVERRIDES: overrides[: rec.TAG_CHARS],
                rec.LAUNCHER: self.launcher,
                rec.JOBS: str(count),
                rec.SWEEP_DIR: str(self.sweep_dir),
                rec.SOURCE_NAME: "shorts run -m",
                rec.SOURCE_TYPE: "LOCAL",
                rec.NOTE: note[: rec.TAG_CHARS],
            }
            record = ParentRecord(self.project, self.sweep_dir / f"parent-{short}", uri, short)
            run_id = record.open(f"{short}-multirun-{stamp}", tags)
            exp_id = record.recorder.experiment_id
            self.parents.append(ParentRun(short, uri, run_id, exp_id, str(record.journal)))
            self._records[(short, uri)] = record

    def interrupt(self) -> None:
        """Ask every job to stop (running ones) or not to start (the others)."""
        self.interrupted = True
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        (self.sweep_dir / INTERRUPT_FILE).touch()

    def close(self, aborted: bool = False) -> MultirunReport:
        """Close each parent with its jobs' outcomes, print the table, return the report."""
        from shorts.tracking.pending import settle

        if aborted:
            self.interrupted = True
            settle(self.project)  # children whose supervisor was killed with its worker
        if (self.sweep_dir / INTERRUPT_FILE).exists():
            self.interrupted = True
        records = read_records(self.sweep_dir)
        planned = {j.num: j for j in self.jobs}
        seen = {r.num for r in records}
        missing = [j for j in self.jobs if j.num not in seen]
        report = MultirunReport(records, self.interrupted, self.parents, len(missing))
        for parent in self.parents:
            key = (parent.short, parent.uri)
            mine = [r for r in records if r.num in planned and _key(planned[r.num]) == key]
            lost = [j for j in missing if _key(j) == key]
            self._close_parent(parent, mine, len(lost))
        _print_table(self, records, missing)
        return report

    def _close_parent(self, parent: ParentRun, records: list[JobRecord], not_run: int) -> None:
        counts = Counter(r.outcome for r in records)
        if not_run:
            counts[NOT_RUN] += not_run
        failed = {*FAILED, REFUSED, ERROR, NOT_RUN}
        if self.interrupted or counts[Outcome.INTERRUPTED] or counts[NOT_STARTED]:
            status = "KILLED"
        elif any(counts[o] for o in failed):
            status = "FAILED"
        else:
            status = "FINISHED"
        tags = {
            rec.OUTCOMES: ", ".join(f"{k}:{v}" for k, v in sorted(counts.items())),
            rec.MULTIRUN_STATUS: status.lower(),
        }
        prefix = rec.MULTIRUN_METRIC_PREFIX
        metrics = {f"{prefix}jobs": float(sum(counts.values()))}
        metrics.update({f"{prefix}{k.replace(' ', '_')}": float(v) for k, v in counts.items()})
        record = self._records[(parent.short, parent.uri)]
        recorded = record.close(status, metrics, tags)
        if recorded.pending:
            print(
                f"shorts: the multirun's parent run is pending in {recorded.journal}; "
                "`shorts sync` delivers it.",
                file=sys.stderr,
            )


def _key(job: PlannedJob) -> tuple[str, str]:
    return job.short, job.uri


def _warn_about_headroom(jobs: list[PlannedJob]) -> None:
    """The memory-headroom warning once per short, data set, configuration and cap, before any
    job starts: ten jobs of one short would print it ten times, maybe not on this terminal."""
    from shorts.console import stderr_console
    from shorts.headroom.warning import warn_before_start

    console = stderr_console()
    distinct = dict.fromkeys(
        (j.uri, j.short, j.dataset, j.memory, j.headroom, j.configuration) for j in jobs
    )
    for uri, short, dataset, memory, headroom, configuration in distinct:
        warn_before_start(
            uri, short, dataset, memory, headroom, console, configuration=configuration or None
        )


def _plan(config: DictConfig, project: Project, here: bool) -> list[PlannedJob]:
    """Compose (as Hydra's launchers do) and check (as the job does) every job's config, before
    any job starts; ``here`` False leaves the machine-bound checks to the job (``prepare``)."""
    from hydra.core.hydra_config import HydraConfig

    from shorts.config import compose
    from shorts.headroom.last_peak import run_configuration
    from shorts.launch import prepare

    if "BasicSweeper" not in str(config.hydra.sweeper.get("_target_", "")):
        raise UsageError("shorts run -m needs Hydra's basic sweeper; to search, use shorts sweep.")
    shared = [str(o) for o in config.hydra.overrides.hydra]
    sweep_dir = Path(str(config.hydra.sweep.dir))
    saved = HydraConfig.instance().cfg
    jobs: list[PlannedJob] = []
    try:
        for num, overrides in enumerate(_sweep(config)):
            request = compose(project, overrides, sweep_dir / str(num), hydra_overrides=shared)
            prepared = prepare(request, project, here=here)
            caps = prepared.caps
            jobs.append(
                PlannedJob(
                    num,
                    overrides,
                    prepared.short.name,
                    prepared.uri,
                    caps.cpus,
                    caps.memory,
                    caps.wall_time,
                    str(request.choices.get("dataset", "")),
                    caps.headroom,
                    run_configuration(prepared.config),
                )
            )
    finally:
        if saved is not None:
            HydraConfig.instance().set_config(saved)  # type: ignore[arg-type]  # holds `hydra`
    return jobs


def _sweep(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, in the order (and so with the numbers) Hydra's basic sweeper gives.

    The one use of Hydra's internals in shorts: ``BasicSweeper.split_arguments`` is the
    expansion itself (``a=1,2 b=x,y`` into four jobs, ``glob(*)`` over a group's options), so
    the plan cannot drift from what the sweeper launches. The parser is Hydra's override parser
    (``hydra.core.override_parser``), which needs the config loader for ``glob``.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += [str(o) for o in config.hydra.overrides.task]
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    batches = BasicSweeper.split_arguments(parser.parse_overrides(arguments), None)
    return [list(overrides) for overrides in batches[0]]


def _print_table(multirun: Multirun, records: list[JobRecord], missing: list[PlannedJob]) -> None:
    """One line per job, then the parents: what a person reads when the multirun ends."""
    from rich.text import Text

    from shorts.caps import format_duration
    from shorts.console import OUTCOME_STYLE, stderr_console

    console = stderr_console()
    styles = {o.value: s for o, s in OUTCOME_STYLE.items()}
    rows: list[tuple[int, str, str, str, str, str]] = [
        (
            r.num,
            r.outcome,
            format_duration(r.wall_seconds) if r.wall_seconds is not None else "-",
            r.verdict or "-",
            r.run_id or "-",
            shown(r.overrides),
        )
        for r in records
    ]
    rows += [(j.num, NOT_RUN, "-", "-", "-", shown(j.overrides)) for j in missing]
    elapsed = format_duration(time.monotonic() - multirun.started)
    head = f"multirun: {len(rows)} job(s) on {multirun.launcher} in {elapsed}"
    console.print(Text(head + ("; interrupted" if multirun.interrupted else ""), style="bold"))
    width = max([len(row[1]) for row in rows] + [7])
    for num, outcome, wall, verdict, run, overrides in sorted(rows):
        line = Text(f"  {num:>3}  ")
        line.append(f"{outcome:<{width}}", style=styles.get(outcome, "bold red"))
        line.append(f"  {wall:>7}  {verdict:<12}  {run:<32}  {overrides}")
        console.print(line, soft_wrap=True)
    for parent in multirun.parents:
        console.print(
            Text(
                f"  parent run {parent.run_id}  (experiment {parent.short}, id "
                f"{parent.experiment_id})"
                if parent.run_id
                else f"  parent run pending in {parent.journal} (experiment {parent.short})"
            ),
            soft_wrap=True,
        )
    for record in records:
        if record.outcome in (REFUSED, ERROR):
            console.print(Text(f"  job {record.num}: {record.reason}"), soft_wrap=True)
