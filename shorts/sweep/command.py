"""``shorts sweep``: search a short's declared space with Optuna 5, every trial a capped run.

Optuna is driven directly (ask/tell), not through Hydra's Optuna sweeper, which pins optuna<3 and
cannot prune or resume (FIELD_NOTES). Each trial is composed with Hydra exactly as ``shorts run``
would compose its overrides, checked, then supervised and recorded by the same code as a single
run, nested under one parent sweep run in MLflow. Up to ``--jobs`` trials run at once, each in its
own capped worker tree; ``--budget`` bounds the whole sweep, running trials included (a trial's
wall-time cap is cut to what the budget has left).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from shorts import record as rec  # ``record`` names a trial's record here
from shorts.arguments import OneLineParser
from shorts.caps import format_duration, parse_duration
from shorts.console import stderr_console
from shorts.errors import UsageError
from shorts.interrupts import interrupts_to
from shorts.outcome import Outcome
from shorts.project import ROOT_ENV, Project
from shorts.sweep.space import SearchSpace, parse_space
from shorts.sweep.study import (
    make_pruner,
    make_sampler,
    make_storage,
    probe_sampler,
    pruner_config,
    sampler_config,
    storage_config,
    storage_url,
)
from shorts.tracking.leases import process_start
from shorts.tracking.recorder import ParentRecord
from shorts.tracking.store import redact_uri

T = TypeVar("T")


class StorageAway(Exception):
    """The Optuna storage did not answer within ``--storage-wait``."""


if TYPE_CHECKING:
    import optuna
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

    from shorts.config import RunRequest
    from shorts.outcome import RunResult
    from shorts.runner import Supervisor

USAGE = (
    "usage: shorts sweep +experiment=NAME [--trials N] [--budget DURATION] [--jobs K] "
    "[--resume] [--study NAME] [--storage URL] [--storage-wait DURATION] [OVERRIDES ...]"
)
RECORD_MARGIN = 2.0  # seconds of a budget kept for closing the last trials' runs
MIN_TRIAL_SECONDS = 3.0  # a trial with less time than this left in the budget is not started
UNTOLD = "untold_trials.jsonl"  # trial results the storage did not take, told on --resume
STATE_OF = {Outcome.COMPLETED.value: "COMPLETE", Outcome.PRUNED.value: "PRUNED"}


def _parser() -> OneLineParser:
    parser = OneLineParser(USAGE, prog="shorts sweep", description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="trials in the study (default 20)")
    parser.add_argument(
        "--budget", default=None, help="wall time for the whole sweep, e.g. 90s, 10m, 1h"
    )
    parser.add_argument("--jobs", type=int, default=1, help="trials at once (default 1)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the study (default: the short's latest)"
    )
    parser.add_argument("--study", default=None, help="study name (default NAME-YYYYmmdd-HHMMSS)")
    parser.add_argument(
        "--storage",
        default=None,
        help="Optuna storage: a database URL or a journal file (default: beside the store)",
    )
    parser.add_argument(
        "--storage-wait",
        default="60s",
        help="how long to wait for an Optuna storage that stops answering before stopping "
        "cleanly with a --resume line (default 60s)",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for shorts run")
    return parser


@dataclass
class TrialRecord:
    """One finished trial, as the summary and the parent run report it."""

    number: int  # the fields but wall_seconds, in this order, are sweep_summary.json's
    state: str
    outcome: str
    value: float | None
    params: dict[str, Any]
    run_id: str | None
    reason: str
    wall_seconds: float


def sweep(project: Project, args: list[str]) -> int:
    """Run (or resume) a sweep; exit 0 if a trial completed, 1 if none did, 130 interrupted."""
    options = _parser().parse_or_help(args)
    if options is None:
        return 0
    if options.trials < 1:
        raise UsageError(f"--trials {options.trials}: use a whole number of trials, at least 1.")
    if options.jobs < 1:
        raise UsageError(f"--jobs {options.jobs}: use a whole number of parallel trials, >= 1.")
    budget = parse_duration(options.budget, "--budget") if options.budget else None
    options.storage_wait = parse_duration(options.storage_wait, "--storage-wait")
    overrides = [arg for arg in options.overrides if arg]
    bad = [arg for arg in overrides if arg.startswith("-")]
    if bad:
        raise UsageError(f"unknown option {bad[0]!r}; {USAGE}.")
    project.check_overrides(overrides)
    os.environ[ROOT_ENV] = str(project.root)

    from shorts.config import composing

    with composing(project):
        return Sweep(project, overrides, options, budget).run()


class Sweep:
    """One session of a sweep: a study, its parent run, and the trials of this session."""

    def __init__(
        self, project: Project, overrides: list[str], options: Any, budget: float | None
    ) -> None:
        self.project = project
        self.overrides = overrides
        self.options = options
        self.budget = budget
        self.console = stderr_console()
        self.records: list[TrialRecord] = []
        self.interrupted = False
        self.stopped_by_budget = False
        self.storage_away: str | None = None  # why the Optuna storage stopped the sweep
        self._active: dict[int, Supervisor] = {}  # trial number -> its running supervisor
        # Reentrant: the signal handler runs on the main thread, which may hold it already.
        self._lock = threading.RLock()
        self.started = time.monotonic()

    # -- set-up --------------------------------------------------------------------------------

    def run(self) -> int:
        from shorts.launch import prepare, warn_about_headroom

        base = self._compose([], self.project.state / "sweeps" / "check")
        name = str(base.name)
        settings = base.cfg.get("sweep") or {}
        space = parse_space(settings, name)
        sampling = sampler_config(settings.get("sampler"), self.options.jobs)
        probe_sampler(sampling, space.distributions)
        sampler = make_sampler(sampling)
        self.pruner_config = pruner_config(settings.get("pruner"))
        pruner = make_pruner(self.pruner_config)
        prepared = prepare(base, self.project)
        warn_about_headroom(prepared)  # once for the sweep: its trials share the short's caps
        metric = str(settings.get("metric") or prepared.rule.metric)
        direction = str(settings.get("direction") or prepared.rule.direction)
        if direction not in ("minimize", "maximize"):
            raise UsageError(f"sweep.direction={direction!r}; use minimize or maximize.")
        self.storage_location = storage_url(self.project, prepared.uri, self.options.storage)
        self.storage = make_storage(self.storage_location)
        study = self._study(name, direction, sampler, pruner)
        self.name, self.metric, self.space, self.study = name, metric, space, study
        self.uri = prepared.uri
        self.grace = prepared.caps.grace
        self.folder = self.project.state / "sweeps" / study.study_name
        self.parent = self._parent_run(study, space)
        # The handlers stay in place while the parent run is closed: a Ctrl-C then is noted
        # (exit status 130) instead of leaving the parent RUNNING.
        with interrupts_to(self._interrupt):
            try:
                self._loop()
            finally:
                self._close_parent()
        self._print_summary()
        if self.interrupted:
            return Outcome.INTERRUPTED.exit_status
        if self.storage_away:
            return 1
        return 0 if any(t.state == "COMPLETE" for t in self._trials()) else 1

    def _compose(self, extra: list[str], staging: Path) -> RunRequest:
        """The trial's config: the one composition path, with the trial's overrides."""
        from shorts.config import compose

        return compose(self.project, [*self.overrides, *extra], staging)

    def _study(
        self, name: str, direction: str, sampler: BaseSampler, pruner: BasePruner
    ) -> optuna.study.Study:
        """Create this sweep's study, or load the one ``--resume`` continues."""
        import optuna

        storage, location = self.storage, self.storage_location
        studies = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
        if self.options.resume:
            study_name = self.options.study or _latest(studies, name)
            if study_name is None or study_name not in studies:
                raise UsageError(
                    f"no sweep of {name!r} to resume in {redact_uri(location)}"
                    + (f" named {self.options.study!r}" if self.options.study else "")
                    + "; start one without --resume."
                )
            study = optuna.load_study(
                study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
            )
            if study.user_attrs.get("short") != name:
                raise UsageError(
                    f"study {study_name!r} belongs to the short "
                    f"{study.user_attrs.get('short')!r}, not {name!r}."
                )
            self._close_running_trials(study)
            if study.direction.name.lower() != direction:
                raise UsageError(
                    f"study {study_name!r} was created to {study.direction.name.lower()}, "
                    f"but the short now says {direction}."
                )
        else:
            study_name = self.options.study or f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            if study_name in studies:
                raise UsageError(
                    f"a study named {study_name!r} exists; pass --resume to continue it, or "
                    "another --study name."
                )
            study = optuna.create_study(
                study_name=study_name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction=optuna.study.StudyDirection[direction.upper()],
            )
            study.set_user_attr("short", name)
            study.set_user_attr("overrides", self.overrides)
        pid = os.getpid()
        sweeper = {"pid": pid, "pid_start": process_start(pid), "host": socket.gethostname()}
        study.set_user_attr("sweeper", sweeper)
        study.set_user_attr("sessions", int(study.user_attrs.get("sessions", 0)) + 1)
        return study

    def _close_running_trials(self, study: optuna.study.Study) -> None:
        """The RUNNING trials of a sweep process that died: the result its session kept while
        the storage was away (``untold_trials.jsonl``), else FAIL with outcome ``lost``."""
        from optuna.trial import TrialState

        sweeper = study.user_attrs.get("sweeper") or {}
        if _sweeper_alive(sweeper):
            raise UsageError(
                f"study {study.study_name!r} is being swept by process {sweeper.get('pid')}; "
                "wait for it or stop it first."
            )
        path = self.project.state / "sweeps" / study.study_name / UNTOLD
        kept: dict[int, TrialRecord] = {}
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                record = TrialRecord(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut by a crash: that trial is closed as lost
            kept[record.number] = record
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            lost = TrialRecord(trial.number, "FAIL", "lost", None, {}, None, "", 0.0)
            self._tell_record(study, kept.get(trial.number, lost))
        path.unlink(missing_ok=True)

    def _tell_record(self, study: optuna.study.Study, record: TrialRecord) -> None:
        """Tell the study how a trial ended; its outcome, reason and run as user attributes."""
        from optuna.trial import TrialState

        # Optuna keeps a trial's storage id private; the storage's public interface answers it.
        study_id = self.storage.get_study_id_from_name(study.study_name)
        found = self.storage.get_trial_id_from_study_id_trial_number(study_id, record.number)
        reason = record.reason[:500]
        attrs = {"outcome": record.outcome, "reason": reason, "mlflow_run_id": record.run_id}
        for key, text in attrs.items():
            if text:  # a lost trial has no reason, a refused one no run
                self.storage.set_trial_user_attr(found, key, text)
        value = record.value if record.state == "COMPLETE" else None
        study.tell(record.number, values=value, state=TrialState[record.state])

    def _parent_run(self, study: optuna.study.Study, space: SearchSpace) -> ParentRecord:
        """The sweep's parent run, journaled like any run: reopened on resume, else created."""
        session = int(study.user_attrs["sessions"])
        parent = ParentRecord(self.project, self.folder / f"session-{session}", self.uri, self.name)
        existing = study.user_attrs.get("mlflow_parent_run_id")
        if self.options.resume and existing:
            parent.open(study.study_name, {rec.SWEEP_SESSIONS: str(session)}, run_id=str(existing))
            return parent
        tags = {
            rec.KIND: rec.KIND_SWEEP,
            rec.SHORT: self.name,
            rec.SWEEP_STUDY: study.study_name,
            rec.SWEEP_STORAGE: redact_uri(self.storage_location),
            rec.OVERRIDES: " ".join(self.overrides),
            rec.SWEEP_SESSIONS: "1",
            rec.SOURCE_NAME: "shorts sweep",
            rec.NOTE: f"Optuna sweep of {self.name}: {study.study_name}",
        }
        params = {
            "sweep.metric": self.metric,
            "sweep.direction": study.direction.name.lower(),
            "sweep.trials": str(self.options.trials),
            "sweep.budget": self.options.budget or "none",
            "sweep.jobs": str(self.options.jobs),
            "sweep.sampler": type(study.sampler).__name__,
            "sweep.pruner": type(study.pruner).__name__,
            "sweep.space": json.dumps({k: repr(v) for k, v in space.distributions.items()})[:6000],
        }
        run_id = parent.open(study.study_name, tags, params)
        if run_id is not None:
            study.set_user_attr("mlflow_parent_run_id", run_id)
        return parent

    # -- the loop ------------------------------------------------------------------------------

    def _loop(self) -> None:
        finished_before = len(self._trials())
        to_run = max(0, self.options.trials - finished_before)
        if to_run == 0:
            self.console.print(
                f"study {self.study.study_name} already has {finished_before} finished trials "
                f"(--trials {self.options.trials}); raise --trials to run more."
            )
            return
        self.console.print(
            f"sweep {self.study.study_name}: {to_run} trial(s) of {self.name}, "
            f"{self.options.jobs} at a time"
            + (f", budget {format_duration(self.budget)}" if self.budget else "")
            + f"; {self.metric} to {self.study.direction.name.lower()}",
            soft_wrap=True,
        )
        launched = 0
        running: dict[Future[RunResult], tuple[optuna.Trial, float]] = {}
        with ThreadPoolExecutor(self.options.jobs, thread_name_prefix="shorts-trial") as pool:
            while True:
                while (
                    not self.interrupted
                    and not self.storage_away
                    and launched < to_run
                    and len(running) < self.options.jobs
                ):
                    left = (
                        None
                        if self.budget is None
                        else self.budget - (time.monotonic() - self.started)
                    )
                    if left is not None and left - self.grace - RECORD_MARGIN < MIN_TRIAL_SECONDS:
                        self.stopped_by_budget = True
                        break
                    try:
                        trial = self._storage(lambda: self.study.ask(self.space.distributions))
                    except StorageAway:
                        break
                    launched += 1
                    future = self._submit(pool, trial, left)
                    if future is not None:
                        running[future] = (trial, time.monotonic())
                if not running:
                    break
                finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    trial, began = running.pop(future)
                    with self._lock:  # an ended supervisor is not to be interrupted any more
                        self._active.pop(trial.number, None)
                    self._tell(trial, future, time.monotonic() - began)

    def _submit(
        self, pool: ThreadPoolExecutor, trial: optuna.Trial, left: float | None
    ) -> Future[RunResult] | None:
        """Compose, check and start one trial; a refused point of the space fails at once."""
        from shorts.launch import RunOptions, execute, prepare

        overrides = self.space.overrides(trial.params)
        staging = self.folder / f"trial-{trial.number:03d}"
        try:
            prepared = prepare(self._compose(overrides, staging), self.project)
        except UsageError as exc:
            self._finish(trial, Outcome.CRASHED.value, None, None, 0.0, f"refused: {exc}")
            return None
        trial.set_user_attr("overrides", " ".join(overrides))
        # The trial's deadline is the earlier of its own cap and what the budget has left.
        caps, budget_tags = prepared.caps, {}
        allowed = caps.wall_time if left is None else left - caps.grace - RECORD_MARGIN
        if allowed < caps.wall_time:
            prepared = replace(prepared, caps=replace(caps, wall_time=allowed))
            budget_tags[rec.SWEEP_BUDGET_CLIPPED] = (
                f"wall-time cap cut from {format_duration(caps.wall_time)} to "
                f"{format_duration(allowed)}: what the sweep's budget had left"
            )
        options = RunOptions(
            parent_run_id=self.parent.recorder.run_id,
            parent_journal=self.parent.journal,
            run_name=f"{self.study.study_name}-t{trial.number:03d}",
            tags={
                rec.SWEEP_STUDY: self.study.study_name,
                rec.SWEEP_TRIAL: str(trial.number),
                rec.SWEEP_PARAMS: " ".join(overrides)[: rec.TAG_CHARS],
                **budget_tags,
            },
            trial={
                "storage": storage_config(self.storage_location),
                "study": self.study.study_name,
                "number": trial.number,
                "pruner": self.pruner_config,
            },
            quiet=True,
            on_start=partial(self._started, trial.number),
        )
        return pool.submit(execute, prepared, options)

    def _started(self, number: int, supervisor: Supervisor) -> None:
        with self._lock:
            self._active[number] = supervisor
            if self.interrupted:
                supervisor.request_interrupt()

    def _tell(self, trial: optuna.Trial, future: Future[RunResult], seconds: float) -> None:
        """Map the run's outcome to the trial's state: COMPLETE, PRUNED or FAIL (+ outcome)."""
        try:
            result = future.result()
        except UsageError as exc:
            self._finish(trial, Outcome.CRASHED.value, None, None, seconds, f"refused: {exc}")
            return
        value = result.metrics.get(self.metric)
        reason = result.reason
        outcome = result.outcome
        if outcome is Outcome.COMPLETED and (value is None or not math.isfinite(value)):
            reason = f"the short returned no finite {self.metric!r}; {reason}"
            value = None
        self._finish(trial, outcome.value, value, result.run_id, result.wall_seconds, reason)

    def _finish(
        self,
        trial: optuna.Trial,
        outcome: str,
        value: float | None,
        run_id: str | None,
        seconds: float,
        reason: str,
    ) -> None:
        state = STATE_OF.get(outcome, "FAIL")
        if state == "COMPLETE" and value is None:
            state = "FAIL"
        record = TrialRecord(
            trial.number, state, outcome, value, dict(trial.params), run_id, reason, seconds
        )
        self.records.append(record)
        try:
            self._storage(partial(self._tell_record, self.study, record))
        except StorageAway:
            # The result is kept here and told to the study by the next --resume.
            with open(self._untold_path(), "a") as handle:
                handle.write(json.dumps(asdict(record)) + "\n")
        shown = f"{self.metric}={value:.4g}" if value is not None else reason[:70]
        self.console.print(
            f"  trial {trial.number:>3}  {outcome:<11} {state:<8} {shown}  "
            f"[dim]{' '.join(self.space.overrides(trial.params))}  "
            f"{format_duration(seconds)}[/]",
            soft_wrap=True,
        )

    def _storage(self, call: Callable[[], T]) -> T:
        """``call`` on the Optuna storage; while the storage does not answer, retry with backoff
        for up to ``--storage-wait``, then stop the sweep cleanly (``StorageAway``)."""
        from optuna.exceptions import StorageInternalError  # Optuna's wrapper of SQL errors
        from sqlalchemy.exc import SQLAlchemyError

        waited, pause = 0.0, 1.0
        while True:
            if self.storage_away:
                raise StorageAway(self.storage_away)
            try:
                return call()
            except (SQLAlchemyError, StorageInternalError, OSError) as exc:
                if waited >= self.options.storage_wait:
                    self.storage_away = (
                        f"the Optuna storage {redact_uri(self.storage_location)} did not answer "
                        f"for {format_duration(waited)} ({type(exc).__name__})"
                    )
                    raise StorageAway(self.storage_away) from exc
                time.sleep(pause)
                waited, pause = waited + pause, min(pause * 2, 15.0)

    def _untold_path(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / UNTOLD

    def _trials(self) -> list[TrialRecord]:
        """Every finished trial of the study, or this session's if the storage is away."""
        if self.storage_away:
            return list(self.records)
        return [
            TrialRecord(
                t.number,
                t.state.name,
                str(t.user_attrs.get("outcome", t.state.name.lower())),
                t.value,
                dict(t.params),
                t.user_attrs.get("mlflow_run_id"),
                str(t.user_attrs.get("reason", "")),
                t.duration.total_seconds() if t.duration else 0.0,
            )
            for t in self.study.get_trials(deepcopy=False)
            if t.state.is_finished()
        ]

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        """Ctrl-C / SIGTERM: stop launching, interrupt running trials, record them, then stop."""
        with self._lock:
            self.interrupted = True
            active = list(self._active.values())
        for supervisor in active:
            supervisor.request_interrupt()

    # -- the end -------------------------------------------------------------------------------

    def _close_parent(self) -> None:
        """Best trial, outcomes and importances on the parent run, then its status."""
        trials = self._trials()
        counts = Counter(t.outcome for t in trials)
        tags = {rec.OUTCOMES: ", ".join(f"{k}:{v}" for k, v in sorted(counts.items()))}
        metrics = {"sweep.trials_finished": float(len(trials))}
        best = self._best()
        if best is not None:
            overrides = " ".join(self.space.overrides(best.params))
            tags[rec.SWEEP_BEST_TRIAL] = str(best.number)
            tags[rec.SWEEP_BEST_OVERRIDES] = overrides
            tags[rec.SWEEP_BEST_RUN_ID] = str(best.run_id or "")
            metrics[f"best_{self.metric}"] = float(best.value)  # type: ignore[arg-type]
        self.importances = {} if self.storage_away else self._importances()
        for key, value in self.importances.items():
            metrics[f"importance.{key}"[:250]] = value
        summary = [{k: v for k, v in asdict(t).items() if k != "wall_seconds"} for t in trials]
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "sweep_summary.json"
        path.write_text(json.dumps({"study": self.study.study_name, "trials": summary}, indent=2))
        shipped = self.parent.journal.parent / "artifacts"
        shipped.mkdir(exist_ok=True)
        shutil.copy2(path, shipped / path.name)
        recorded = self.parent.close(
            "KILLED" if self.interrupted or self.storage_away else "FINISHED",
            metrics,
            tags,
            artifacts={"": shipped},
        )
        if recorded.pending:
            self.console.print(
                f"the sweep's parent run is pending in {recorded.journal}; `shorts sync` "
                "delivers it."
            )
        elif not self.storage_away and recorded.run_id != self.study.user_attrs.get(
            "mlflow_parent_run_id"
        ):
            self.study.set_user_attr("mlflow_parent_run_id", recorded.run_id)

    def _best(self) -> TrialRecord | None:
        """The completed trial with the best value (of the study, or of this session's trials
        while the storage is away)."""
        completed = [t for t in self._trials() if t.state == "COMPLETE" and t.value is not None]
        if not completed:
            return None
        pick = max if self.study.direction.name == "MAXIMIZE" else min
        return pick(completed, key=lambda t: float(t.value))  # type: ignore[arg-type]

    def _importances(self) -> dict[str, float]:
        """Parameter importances (fANOVA) when Optuna can compute them: 2+ completed trials.

        fANOVA is asked for by name: Optuna 5's default (PED-ANOVA) answers a study this small
        with equal importances and a warning, which would read as a finding. Optuna's warnings
        (too few trials, experimental features) are kept out of the summary.
        """
        import optuna
        from optuna.importance import FanovaImportanceEvaluator
        from optuna.trial import TrialState

        if len(self.space.distributions) < 2:
            return {}
        completed = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < 2:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                importances = optuna.importance.get_param_importances(
                    self.study, evaluator=FanovaImportanceEvaluator(seed=0)
                )
            except (ValueError, RuntimeError, ZeroDivisionError):
                return {}
        return {k: float(v) for k, v in importances.items() if math.isfinite(float(v))}

    def _print_summary(self) -> None:
        finished = self._trials()
        counts = Counter(t.outcome for t in finished)
        elapsed = time.monotonic() - self.started
        print(
            f"sweep {self.study.study_name}: {len(finished)} trial(s) finished, "
            f"{len(self.records)} this session in {format_duration(elapsed)}"
            + ("; stopped by the budget" if self.stopped_by_budget else "")
            + ("; interrupted" if self.interrupted else "")
            + ("; stopped: the Optuna storage is away" if self.storage_away else "")
        )
        print("  outcomes   " + (", ".join(f"{k} {v}" for k, v in counts.most_common()) or "none"))
        best = self._best()
        if best is None:
            print(f"  best       none: no trial completed with a finite {self.metric}")
        else:
            print(
                f"  best       trial {best.number}: {self.metric} {best.value:.4g} "
                f"(run {best.run_id or '?'})"
            )
            print(
                "  override   shorts run "
                + " ".join([*self.overrides, *self.space.overrides(best.params)])
            )
        if self.importances:
            print("  importance " + ", ".join(f"{k} {v:.2f}" for k, v in self.importances.items()))
        elif len(self.space.distributions) >= 2:
            print("  importance not computable yet (needs 2+ completed trials that differ)")
        recorder = self.parent.recorder
        print(
            f"  parent run {recorder.run_id} (experiment {self.name}, id {recorder.experiment_id})"
        )
        if self.storage_away:
            print(f"  stopped    {self.storage_away}; results kept in {self._untold_path()}")
        if self.interrupted or self.stopped_by_budget or self.storage_away:
            print(
                f"  resume     shorts sweep {' '.join(self.overrides)} --resume "
                f"--study {self.study.study_name} --trials {self.options.trials}"
                + (f" --storage {redact_uri(self.options.storage)}" if self.options.storage else "")
            )


def _latest(studies: dict[str, Any], short: str) -> str | None:
    """The most recently started study of ``short`` (its name starts with the short's)."""
    mine = [s for s in studies.values() if s.user_attrs.get("short") == short]
    newest = max(mine, key=lambda s: s.datetime_start or datetime.min, default=None)
    return None if newest is None else str(newest.study_name)


def _sweeper_alive(sweeper: Any) -> bool:
    """True while the sweep process recorded in the study (``sweeper`` attribute) still runs.

    Checked as leases are: same host, and the pid's kernel start time unchanged (after a reboot
    or in a container another process may hold the pid). A sweeper on another host cannot be
    seen from here and counts as gone.
    """
    if not isinstance(sweeper, dict):
        return False
    pid = int(sweeper.get("pid") or 0)
    if pid <= 0 or pid == os.getpid() or sweeper.get("host") != socket.gethostname():
        return False
    started = process_start(pid)
    return bool(started) and started == sweeper.get("pid_start")
