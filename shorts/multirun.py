"""Multiruns (``shorts run -m``): jobs on any Hydra launcher, nested under one parent run per short.

Hydra's launchers run each job in another process (joblib, the default here), on a Ray worker or
as a Slurm job (submitit), so the launching process and its jobs share no memory and often no
environment. They share the sweep folder (a shared filesystem, like the project itself) and the
tracking store, so everything that crosses between them is a file in the sweep folder:

* ``shorts-multirun.json``, written by the launching process before any job starts: the parent
  run of each short and whether jobs run side by side;
* ``shorts-interrupt``, which appears when the multirun is interrupted: running jobs stop their
  short (recorded ``interrupted``), jobs that start later do not start;
* ``shorts-jobs/NUM.json``, one per job: its outcome, or why it did not run, which the launching
  process reads at the end to close the parents and choose the exit status.

The launching side is a Hydra callback: ``on_multirun_start`` runs before the launcher starts any
job, so it checks every job's config first (a mistake costs one line and creates no run), creates
the sqlite store's schema and the experiments once (parallel jobs would race for them), sizes the
launcher to the jobs' caps and opens the parents; ``on_multirun_end`` closes them. Hydra skips
``on_multirun_end`` when the launcher raises, so ``shorts run`` calls :func:`conclude` in any case.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
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
from shorts.outcome import FAILED, Outcome
from shorts.project import ROOT_ENV, Project, find_project
from shorts.tracking.recorder import ParentRecord
from shorts.tracking.store import TRACKING_ENV

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from shorts.launch import RunRequest, RunResult
    from shorts.runner import Supervisor

MULTIRUN_FILE = "shorts-multirun.json"
INTERRUPT_FILE = "shorts-interrupt"
JOBS_FOLDER = "shorts-jobs"
WATCH_SECONDS = 0.2  # how often a running job looks for the interrupt file
REFUSED = "refused"  # the job's config was refused (a usage error): no run
ERROR = "error"  # shorts itself failed in the job (e.g. the store could not record it)
NOT_STARTED = "not started"  # the multirun was interrupted before the job began
NOT_RUN = "not run"  # the launching process never heard from the job
# Launchers whose jobs may land on another machine: the launching process cannot judge that
# machine's free memory and cores, so the job's own checks (on the node) do.
ELSEWHERE = ("hydra_ray_launcher", "SlurmLauncher")
RAY_CONNECT_SECONDS = 5.0  # how long a Ray cluster's address has to accept a connection


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


@dataclass(frozen=True)
class ParentRun:
    """The parent run of one short's jobs in one tracking store."""

    short: str
    uri: str
    run_id: str | None  # None while the store has not taken the parent yet
    experiment_id: str | None
    journal: str  # its record, journaled like any run's: children link to it if no id yet


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
    if current is None:
        return report
    if report is None:
        report = current.close(aborted=aborted)
    return report


class Multirun:
    """One ``shorts run -m`` as the launching process sees it."""

    def __init__(
        self,
        project: Project,
        sweep_dir: Path,
        launcher: str,
        jobs: list[PlannedJob],
        parents: list[ParentRun],
    ) -> None:
        self.project = project
        self.sweep_dir = sweep_dir
        self.launcher = launcher
        self.jobs = jobs
        self.parents = parents
        self.interrupted = False
        self.started = time.monotonic()
        self._records: dict[tuple[str, str], ParentRecord] = {}

    @classmethod
    def start(cls, config: DictConfig) -> Multirun:
        """Check every job, size the launcher, open the parents, tell the jobs where they are."""
        project = Project(Path(os.environ[ROOT_ENV])) if ROOT_ENV in os.environ else find_project()
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        target = str(config.hydra.launcher.get("_target_", ""))
        launcher = _launcher_name(target)
        jobs = _plan(config, project, here=not any(t in target for t in ELSEWHERE))
        _fit_launcher(config, jobs)
        if launcher == "ray":
            _check_ray_address(config)
        multirun = cls(project, sweep_dir, launcher, jobs, [])
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
        _write_json(sweep_dir / MULTIRUN_FILE, info)
        return multirun

    def _open_parents(self, config: DictConfig) -> None:
        from shorts.config import redact_overrides
        from shorts.tracking.store import open_client

        overrides = " ".join(redact_overrides([str(o) for o in config.hydra.overrides.task]))
        stamp = time.strftime("%m%d-%H%M%S")
        by_store: dict[tuple[str, str], int] = Counter((j.short, j.uri) for j in self.jobs)
        for (short, uri), count in by_store.items():
            open_client(uri)  # a fresh sqlite store's schema, once, before jobs race
            tags = {
                rec.SHORT: short,
                rec.KIND: rec.KIND_MULTIRUN,
                rec.OVERRIDES: overrides[: rec.TAG_CHARS],
                rec.LAUNCHER: self.launcher,
                rec.JOBS: str(count),
                rec.SWEEP_DIR: str(self.sweep_dir),
                rec.SOURCE_NAME: "shorts run -m",
                rec.SOURCE_TYPE: "LOCAL",
                rec.NOTE: (f"Multirun of {short}: {count} job(s) on {self.launcher} ({overrides})")[
                    : rec.TAG_CHARS
                ],
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
    job starts.

    Jobs do not warn themselves: ten jobs of one short on one data set would print the same line
    ten times, from processes that may not share this terminal.
    """
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


def _launcher_name(target: str) -> str:
    """A short name for the launcher's class, as users choose it (``hydra/launcher=NAME``)."""
    for needle, name in (
        ("BasicLauncher", "basic"),
        ("JoblibLauncher", "joblib"),
        ("RayAWSLauncher", "ray_aws"),
        ("RayLauncher", "ray"),
        ("submitit_launcher.LocalLauncher", "submitit_local"),
        ("SlurmLauncher", "submitit_slurm"),
    ):
        if needle in target:
            return name
    return target.rsplit(".", 1)[-1] or "unknown"


def _plan(config: DictConfig, project: Project, here: bool) -> list[PlannedJob]:
    """Compose and check every job's config in the launching process, before any job starts.

    Hydra's basic sweeper (the one ``-m`` uses) expands the sweep the same way, so the job
    numbers match. With ``here`` False (jobs run on other machines), what depends on the machine
    a job lands on (free memory, cores, a data file) is left to the job's own checks there.
    """
    import copy

    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import open_dict, read_write

    from shorts.launch import RunRequest

    if "BasicSweeper" not in str(config.hydra.sweeper.get("_target_", "")):
        raise UsageError("shorts run -m needs Hydra's basic sweeper; to search, use shorts sweep.")
    loader = GlobalHydra.instance().config_loader()
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += [str(o) for o in config.hydra.overrides.task]
    parser = OverridesParser.create(config_loader=loader)
    batches = BasicSweeper.split_arguments(parser.parse_overrides(arguments), None)
    saved = HydraConfig.instance().cfg
    sweep_dir = Path(str(config.hydra.sweep.dir))
    jobs: list[PlannedJob] = []
    try:
        for num, overrides in enumerate(batches[0]):
            job_cfg = loader.load_sweep_config(config, list(overrides))
            HydraConfig.instance().set_config(job_cfg)  # ${hydra:...} in the job's config
            choices = dict(job_cfg.hydra.runtime.choices)
            task_cfg = copy.deepcopy(job_cfg)
            with read_write(task_cfg), open_dict(task_cfg):
                del task_cfg["hydra"]
            request = RunRequest(
                task_cfg, choices.get("experiment"), choices, list(overrides), sweep_dir / str(num)
            )
            jobs.append(_check(request, project, num, here))
    finally:
        if saved is not None:
            HydraConfig.instance().set_config(saved)  # type: ignore[arg-type]  # holds `hydra`
    return jobs


def _check(request: RunRequest, project: Project, num: int, here: bool) -> PlannedJob:
    """``launch.prepare``'s checks of one job (less the machine-bound ones unless ``here``)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from shorts.caps import parse_caps
    from shorts.config import declaration
    from shorts.launch import prepare
    from shorts.tracking.store import check_reachable, resolve_tracking_uri
    from shorts.verdict import parse_folds, parse_rule

    overrides = list(request.overrides)
    if here:
        prepared = prepare(request, project)
        caps, short, uri = prepared.caps, prepared.short.name, prepared.uri
        config = prepared.config
    else:
        cfg = request.cfg
        if not request.name:
            raise UsageError("no short chosen; add +experiment=NAME")
        short = declaration(str(request.name), cfg.short, project).name
        caps = parse_caps(cfg.caps)
        parse_rule(cfg.get("verdict"))
        parse_folds(cfg.get("cv"))
        uri = resolve_tracking_uri(cfg.get("tracking", {}).get("uri"), project)
        check_reachable(uri)
        try:
            resolved = OmegaConf.to_container(cfg, resolve=True)
            config = {str(k): v for k, v in resolved.items()} if isinstance(resolved, dict) else {}
        except OmegaConfBaseException as exc:
            raise UsageError(f"the config does not resolve: {str(exc).splitlines()[0]}") from None
    dataset = str(request.choices.get("dataset", ""))
    from shorts.headroom.last_peak import run_configuration

    return PlannedJob(
        num,
        overrides,
        short,
        uri,
        caps.cpus,
        caps.memory,
        caps.wall_time,
        dataset,
        caps.headroom,
        run_configuration(config),
    )


def _fit_launcher(config: DictConfig, jobs: list[PlannedJob]) -> None:
    """Size the launcher to the jobs' caps, unless the command line chose the value.

    joblib: as many jobs at once as the cores and the free memory fit (each job holds its cores
    and its memory cap). Ray: each task asks for its job's cores, and no ``object_store_memory``
    is passed to ``ray.init`` (the launcher's default makes connecting to a running cluster fail,
    hydra#2893). submitit: cores per task, and a time limit that the wall-time cap fits in.
    """
    import psutil
    from omegaconf import open_dict, read_write

    if not jobs:
        return
    chosen = {str(o).lstrip("+~").split("=", 1)[0] for o in config.hydra.overrides.hydra}
    launcher = config.hydra.launcher
    name = _launcher_name(str(launcher.get("_target_", "")))
    cpus = max(j.cpus for j in jobs)
    memory = max(j.memory for j in jobs)
    wall = max(j.wall_time for j in jobs)
    with read_write(launcher), open_dict(launcher):
        if name == "joblib" and "hydra.launcher.n_jobs" not in chosen:
            cores = len(os.sched_getaffinity(0))
            free = psutil.virtual_memory().available
            launcher.n_jobs = max(1, min(len(jobs), cores // cpus, free // memory))
        elif name == "ray":
            if "hydra.launcher.ray.init.object_store_memory" not in chosen:
                launcher.ray.init.object_store_memory = None
            if "hydra.launcher.ray.remote.num_cpus" not in chosen:
                launcher.ray.remote.num_cpus = cpus
        elif name.startswith("submitit"):
            if "hydra.launcher.cpus_per_task" not in chosen:
                launcher.cpus_per_task = cpus
            if "hydra.launcher.timeout_min" not in chosen:
                needed = math.ceil(wall / 60) + 5  # start-up and recording around the cap
                launcher.timeout_min = max(int(launcher.get("timeout_min") or 0), needed)


def _check_ray_address(config: DictConfig) -> None:
    """Refuse a Ray cluster address where nothing answers, before any run is opened.

    Ray's driver retries such an address for ever (a warning every half minute), so a typo in
    the address, a cluster not started yet, or one stopped without ``ray stop`` (whose address
    Ray still finds in its temp folder) would hang ``shorts run``. Only whether something
    listens is checked: Ray itself says whether it is a Ray cluster that lets this driver in.
    """
    address, source = _ray_address(config)
    if address in ("", "local"):
        return  # Ray starts a local instance
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return  # Ray says what is wrong with it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_SECONDS):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        fix = f"start one there (ray start --head --port={port}) or correct the address"
        if source.startswith("recorded"):
            fix = "start one there, delete that file, or name one (hydra.launcher.ray.init.address)"
        raise UsageError(f"no Ray cluster answers at {address} ({source}): {why}; {fix}.") from None


def _ray_address(config: DictConfig) -> tuple[str, str]:
    """The cluster ``ray.init`` will join, as Ray finds it, and where it came from.

    The launcher's ``ray.init.address``, else ``$RAY_ADDRESS``, else (no address, or ``auto``)
    the address ``ray start`` recorded in Ray's temp folder; ``""`` if none: a local instance.
    """
    from omegaconf import OmegaConf

    init = "hydra.launcher.ray.init"
    chosen = str(OmegaConf.select(config, f"{init}.address", default=None) or "")
    if chosen and chosen != "auto":
        return chosen, f"{init}.address"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "$RAY_ADDRESS"
    temp_dir = OmegaConf.select(config, f"{init}._temp_dir", default=None) or os.path.join(
        os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp", "ray"
    )
    recorded = Path(str(temp_dir)) / "ray_current_cluster"
    try:
        return recorded.read_text().strip(), f"recorded by ray start in {recorded}"
    except OSError:
        return "", ""


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
            _shown(r.overrides),
        )
        for r in records
    ]
    rows += [(j.num, NOT_RUN, "-", "-", "-", _shown(j.overrides)) for j in missing]
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


def _shown(overrides: list[str]) -> str:
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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader on another process never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


# -- a job of the multirun (in whatever process or machine the launcher chose) -----------------


class MultirunJob:
    """A job's side of the multirun it belongs to: its parent, interrupts, and its record."""

    def __init__(self, sweep_dir: Path, num: int, overrides: list[str], info: dict[str, Any]):
        self.sweep_dir = sweep_dir
        self.num = num
        self.overrides = overrides
        self.info = info
        self.short = ""
        self._stop = threading.Event()

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
        job = cls(sweep_dir, int(num), [str(o) for o in hydra_cfg.overrides.task], info)
        job.short = str(hydra_cfg.runtime.choices.get("experiment") or "")
        return job

    @property
    def parallel(self) -> bool:
        """Jobs run side by side: no live display, one line per job instead."""
        return bool(self.info.get("parallel"))

    @property
    def in_launching_process(self) -> bool:
        return int(self.info.get("launcher_pid", -1)) == os.getpid()

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
            self._record(
                ERROR, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )
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
        if result.outcome is Outcome.INTERRUPTED and self.in_launching_process:
            (self.sweep_dir / INTERRUPT_FILE).touch()  # the basic launcher: later jobs stop too
        if self.parallel:
            _print_job_line(self, result)

    def _record(self, outcome: str, reason: str, **extra: Any) -> None:
        record = JobRecord(self.num, self.short, self.overrides, outcome, reason, **extra)
        _write_json(self.sweep_dir / JOBS_FOLDER / f"{self.num}.json", asdict(record))


def _print_job_line(job: MultirunJob, result: RunResult) -> None:
    """``job 2  completed  model=ridge dataset=diabetes  3.1s  verdict hit  run ...``."""
    from rich.text import Text

    from shorts.caps import format_duration
    from shorts.console import OUTCOME_STYLE, stderr_console

    overrides = _shown(job.overrides)
    line = Text(f"job {job.num}  ")
    line.append(result.outcome.value, style=OUTCOME_STYLE[result.outcome])
    line.append(f"  {job.short} {overrides}  {format_duration(result.wall_seconds)}")
    if result.verdict:
        line.append(f"  verdict {result.verdict}")
    line.append(f"  run {result.run_id}", style="dim")
    if result.outcome is not Outcome.COMPLETED:
        line.append(f"\n  {result.reason}")
    console = stderr_console()
    console.print(line, soft_wrap=True)
