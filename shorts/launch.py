"""``shorts run`` for one composed config: validate, supervise, record, summarise.

Every check that can refuse the run happens before the worker starts, so a user's mistake never
leaves a half-created run behind.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from rich.text import Text

from shorts import record
from shorts.caps import Caps, format_duration, format_size, parse_caps, parse_duration, preflight
from shorts.config import (
    RunRequest,
    ShortDeclaration,
    declaration,
    redact,
    redact_overrides,
    run_params,
)
from shorts.console import RunDisplay, print_summary, stderr_console
from shorts.errors import UsageError
from shorts.estimators import check_estimators
from shorts.headroom.retry import MemoutRetry, plan_memout_retry
from shorts.interrupts import interrupts_to
from shorts.outcome import Outcome, RunResult
from shorts.project import Project
from shorts.requirements import check_requirements
from shorts.runner import Observation, Supervisor, WorkerSpec
from shorts.tracking.pending import settle
from shorts.tracking.recorder import DELIVER_WAIT_SECONDS, RunClosing, RunRecorder
from shorts.tracking.store import (
    check_reachable,
    open_client,
    redact_uri,
    resolve_tracking_uri,
    ui_hint,
)
from shorts.verdict import (
    FoldsVerdict,
    VerdictRule,
    evidence_json,
    judge_folds,
    parse_folds,
    parse_rule,
)

HEADROOM_WAIT_SECONDS = 10.0  # how long a run's end waits for its headroom line


@dataclass
class RunOptions:
    """How a run sits among others: nested under a parent, a sweep's trial, or on its own."""

    parent_run_id: str | None = None
    parent_journal: Path | None = None  # the parent's journal, while MLflow has no id for it
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    trial: dict[str, Any] | None = None  # where the trial's Optuna study lives (ctx.report)
    quiet: bool = False  # no live display and no summary: the caller reports the run itself
    on_start: Callable[[Supervisor], None] | None = None  # e.g. so a sweep can interrupt it
    note: str | None = None  # one more line for the summary, e.g. which run this one retries
    warn_about_headroom: bool = False  # the memory-headroom line, while the worker starts


@dataclass(frozen=True)
class PreparedRun:
    """A request that passed every check; nothing exists in MLflow yet."""

    request: RunRequest
    short: ShortDeclaration
    caps: Caps
    rule: VerdictRule
    uri: str
    config: dict[str, Any]
    project: Project
    deliver_wait: float = DELIVER_WAIT_SECONDS  # tracking.deliver_wait


def run_short(cfg: DictConfig, project: Project) -> Outcome:
    """Run the short ``cfg`` describes (inside a Hydra job) and return its outcome.

    In a ``shorts run -m`` the job may run in another process or on another machine (joblib,
    Ray, submitit): it finds its parent run and any interrupt in the multirun's sweep folder,
    and leaves its outcome there for the launching process (``shorts.multirun``).
    """
    from hydra.core.hydra_config import HydraConfig

    from shorts.multirun.job import MultirunJob

    hydra_cfg = HydraConfig.get()
    choices = dict(hydra_cfg.runtime.choices)
    request = RunRequest(
        cfg=cfg,
        name=choices.get("experiment"),
        choices=choices,
        overrides=list(hydra_cfg.overrides.task),
        staging=Path(hydra_cfg.runtime.output_dir),
    )
    job = MultirunJob.of(hydra_cfg)
    if job is None:
        prepared = prepare(request, project)
        return execute_retrying(prepared, RunOptions(warn_about_headroom=True)).outcome
    # A multirun's jobs get the headroom warning once per short and data set, from the launching
    # process before any job starts (``shorts.multirun``), not once per job.
    with job.recording(), job.environment():
        prepared = prepare(request, project)
        if job.interrupted():
            return job.not_started()
        parent_run_id, parent_journal = job.parent(prepared.short.name, prepared.uri)
        options = RunOptions(
            parent_run_id=parent_run_id,
            parent_journal=parent_journal,
            quiet=job.parallel,  # side-by-side jobs: one line each instead of a live display
            on_start=job.watch,
        )
        result = execute_retrying(prepared, options, stop_requested=job.interrupted)
        job.finished(result)
    return result.outcome


def prepare(request: RunRequest, project: Project, here: bool = True) -> PreparedRun:
    """Every check that can refuse the run (``UsageError``), before anything is created.

    ``here`` False: a multirun's job bound for another machine (Ray, Slurm), checked by the
    launching process; what depends on the machine (free memory and cores, installed extras,
    a data file) is left to the job's own check there.
    """
    cfg = request.cfg
    if not request.name:
        raise UsageError(
            "no short chosen; add +experiment=NAME, one of: "
            + ", ".join(project.experiment_names())
        )
    short = declaration(str(request.name), cfg.short, project)
    if here:
        check_requirements(short.name, cfg, project.configs, request.choices)
    caps = parse_caps(cfg.caps)
    if here:
        preflight(caps)
    rule = parse_rule(cfg.get("verdict"))
    parse_folds(cfg.get("cv"))
    dataset = cfg.get("dataset")
    if here and dataset is not None and str(dataset.get("source", "")) == "file":
        # A user's own file is loaded once here, so a bad one is refused before any run (its
        # load is cached, so the worker's costs nothing more); shipped data sets load there only.
        from shorts.datasets import load_dataset

        load_dataset(dataset)
    tracking = cfg.get("tracking", {})
    uri = resolve_tracking_uri(tracking.get("uri"), project)
    deliver_wait = parse_duration(tracking.get("deliver_wait", "30s"), "tracking.deliver_wait")
    check_reachable(uri)
    try:
        config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise UsageError(f"the config does not resolve: {str(exc).splitlines()[0]}") from None
    return PreparedRun(request, short, caps, rule, uri, config, project, deliver_wait)


def warn_about_headroom(prepared: PreparedRun) -> None:
    """One line on stderr if the memory cap is under ``caps.headroom`` x the short's last peak
    here (``shorts.headroom.warning``); a store that cannot be read gives no warning."""
    from shorts.headroom.warning import warn_before_start

    warn_before_start(
        prepared.uri,
        prepared.short.name,
        str(prepared.request.choices.get("dataset", "")),
        prepared.caps.memory,
        prepared.caps.headroom,
        stderr_console(),
        config=prepared.config,
    )


def execute_retrying(
    prepared: PreparedRun,
    options: RunOptions,
    stop_requested: Callable[[], bool] = lambda: False,
) -> RunResult:
    """``execute``, then, if the run was a memout and ``caps.on_memout=retry``, once more with
    the memory cap times ``caps.headroom`` (``shorts.headroom.retry``); the result of the last.

    The retry is a run of its own in its own staging folder, linked both ways to the memout.
    Sweep trials call ``execute`` directly and never retry: their memouts inform the search.
    ``stop_requested`` (a multirun's interrupt) cancels a retry that has not started yet.
    """
    first = execute(prepared, options)
    if (
        first.outcome is not Outcome.MEMOUT
        or prepared.caps.on_memout != "retry"
        or stop_requested()
    ):
        return first
    plan = plan_memout_retry(prepared.caps)
    console = stderr_console()
    first_id = first.run_id or f"(pending in {first.pending})"
    console.print(Text(plan.announcement(first_id), style="bold"), soft_wrap=True)
    if plan.refusal is not None:
        return first
    hypothesis = prepared.short.hypothesis
    second = execute(
        _with_memory_raised(prepared, plan),
        replace(
            options,
            run_name=f"{options.run_name}-retry" if options.run_name else None,
            warn_about_headroom=False,
            tags={
                **options.tags,
                record.RETRY_OF: first_id,
                record.NOTE: plan.retry_note(hypothesis, first_id),
            },
            note=f"retry of run {first_id} (memout at its {format_size(plan.old_memory)} cap)",
        ),
    )
    if first.run_id is None or second.run_id is None:
        why = "a run is still pending in its journal"
    else:
        try:
            client = open_client(prepared.uri)
            client.set_tag(first.run_id, record.RETRIED_AS, second.run_id)
            client.set_tag(first.run_id, record.NOTE, plan.first_note(hypothesis, second.run_id))
            return second
        except Exception as exc:  # the retry is recorded; only the memout's back-link is missing
            why = type(exc).__name__
    console.print(
        Text(
            f"shorts: warning: could not tag run {first_id} as retried as {second.run_id} "
            f"({why}); the retry names it in {record.RETRY_OF}"
        ),
        soft_wrap=True,
    )
    return second


def _with_memory_raised(prepared: PreparedRun, plan: MemoutRetry) -> PreparedRun:
    """The memout's run again under the raised cap: its own staging folder (the first's holds
    the memout's evidence), and the cap in its caps, params and overrides alike, so the retry's
    record says what it ran under and its overrides reproduce it."""
    request = prepared.request
    return replace(
        prepared,
        request=replace(
            request,
            staging=request.staging / "retry",
            overrides=[*request.overrides, plan.override],
        ),
        caps=replace(prepared.caps, memory=plan.new_memory),
        config={
            **prepared.config,
            "caps": {**prepared.config.get("caps", {}), "memory": f"{plan.new_memory_mib}MiB"},
        },
    )


def execute(prepared: PreparedRun, options: RunOptions) -> RunResult:
    """Supervise the worker, record the run in MLflow, and (unless quiet) print the summary."""
    request, short, caps = prepared.request, prepared.short, prepared.caps
    uri, config, project = prepared.uri, prepared.config, prepared.project
    choices = request.choices
    settle(project)

    staging = request.staging
    spec = WorkerSpec(short.fn, config, caps, project.root, staging, trial=options.trial)
    console = stderr_console()
    recorder = RunRecorder(project, staging, uri, short.name)
    display = RunDisplay(short.name, caps, console, live=not options.quiet)

    folds: list[dict[str, Any]] = []

    def on_record(event: dict[str, Any]) -> None:
        if event.get("t") == "folds":
            folds.append(event)
        else:
            recorder.record(event)

    # The store never steers the short: an outage only delays the record (shorts.tracking).
    supervisor = Supervisor(
        spec,
        on_metric=recorder.metric,
        on_output=None if options.quiet else display.output,
        on_tick=display.tick,
        on_record=on_record,
    )
    overrides = " ".join(redact_overrides(request.overrides))
    tags = {
        **_opening_tags(short, caps.as_tags(), overrides, choices, project.root),
        **options.tags,
    }
    # Interrupts stay with the supervisor until the outcome is journaled: a Ctrl-C while the
    # record is written must not leave it without one. (Off the main thread, e.g. a sweep's
    # parallel trials, the caller owns the signals and interrupts through ``on_start``.)
    with interrupts_to(lambda signum, frame: supervisor.request_interrupt()):
        with display:
            supervisor.start()
            if options.on_start is not None:
                options.on_start(supervisor)
            # Off the supervisor's loop (it samples the tree's memory from the first moment):
            # the estimators are checked while the worker starts, and the run is opened only
            # if they pass; a bad parameter is one line, exit 2, and no run.
            failed: list[BaseException] = []  # the refusal (or a bug) that kept the run unopened
            opened = threading.Event()

            def open_run() -> None:
                try:
                    check_estimators(config)
                    started = time.strftime("%m%d-%H%M%S", time.localtime(supervisor.started_at))
                    recorder.open(
                        run_name=options.run_name
                        or f"{short.name}-{choices.get('model', 'model')}-{started}",
                        params=run_params(config),
                        tags=tags,
                        start_time=supervisor.started_at,
                        parent_run_id=options.parent_run_id,
                        parent_journal=options.parent_journal,
                    )
                    # The caps as numbers from the start, so even a run closed as lost has them.
                    started_ms = int(supervisor.started_at * 1000)
                    for key, value in caps.as_metrics().items():
                        recorder.metric({"k": key, "v": value, "s": 0, "ts": started_ms})
                except BaseException as exc:
                    failed.append(exc)
                    supervisor.request_interrupt()
                    return
                finally:
                    opened.set()
                # The headroom line reads the store (MLflow's import alone takes a second)
                # beside the worker's own start, not before it.
                if options.warn_about_headroom:
                    warn_about_headroom(prepared)

            opening = threading.Thread(target=open_run, name="shorts-opening", daemon=True)
            opening.start()
            observation = supervisor.wait()
            opened.wait()
            if failed:
                raise failed[0]
            opening.join(HEADROOM_WAIT_SECONDS)  # the headroom line before the summary, if at all
        _write_evidence(spec, observation, config)
        judged = _judge(prepared.rule, observation, folds)
        closing = _closing(observation, judged, caps)
        recorded = recorder.close(closing, wait=prepared.deliver_wait)
    if recorded.pending:  # the record is safe locally: where it is, how it will reach the store
        console.print(
            Text(
                f"shorts: record pending: {redact_uri(uri)} did not take it within "
                f"{format_duration(prepared.deliver_wait)} "
                f"({recorded.error or 'still delivering'}); it is safe in {recorded.journal}; "
                "`shorts sync` delivers it, as does any later shorts command that reaches the "
                "store.",
                style="yellow",
            ),
            soft_wrap=True,
        )
    verdict = closing.tags.get(record.VERDICT)
    if not options.quiet:
        experiment_id = recorded.experiment_id or "?"
        print_summary(
            console,
            short.name,
            observation,
            recorded.run_id or "(pending)",
            experiment_id,
            ui_hint(uri, experiment_id, recorded.run_id)
            if not recorded.pending
            else f"pending in {recorded.journal}",
            verdict=verdict,
            verdict_reason=closing.tags.get(record.VERDICT_REASON),
            variants={name: (j.verdict.value, j.reason) for name, j in judged.variants.items()}
            if judged is not None
            else None,
            note=options.note,
        )
    return RunResult(
        outcome=observation.outcome,
        reason=observation.reason,
        run_id=recorded.run_id,
        metrics=dict(observation.result or {}),
        verdict=verdict,
        wall_seconds=observation.wall_seconds,
        pending=recorded.journal if recorded.pending else None,
    )


def _opening_tags(
    short: ShortDeclaration,
    cap_tags: dict[str, str],
    overrides: str,
    choices: dict[str, Any],
    root: Path,
) -> dict[str, str]:
    """The tags a run opens with (``shorts.record``): what it is, and its caps for display."""
    tags = {
        record.SHORT: short.name,
        record.OUTCOME: record.RUNNING,
        record.HYPOTHESIS: short.hypothesis,
        record.NOTE: short.hypothesis,
        record.TECHNIQUES: ", ".join(short.techniques),
        record.OVERRIDES: overrides,
        record.MEMORY_ENFORCEMENT: "watchdog (tree RSS)",
        record.DATASET: str(choices.get("dataset", "")),
        record.MODEL: str(choices.get("model", "")),
        # config group choices (model@variants.soft: binned_hist_gbm_soft, ...): the configs a
        # retrospective's command needs to rebuild one of the run's models
        record.CHOICES: json.dumps(
            {k: v for k, v in choices.items() if isinstance(v, str) and not k.startswith("hydra")},
            separators=(",", ":"),
        ),
        record.SOURCE_NAME: "shorts run",
        record.SOURCE_TYPE: "LOCAL",
        **cap_tags,
    }
    commit = _git(root, "rev-parse", "HEAD")
    if commit:
        tags[record.GIT_COMMIT] = commit
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
        tags[record.GIT_DIRTY] = "true" if dirty else "false"
    return tags


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _judge(
    rule: VerdictRule, observation: Observation, folds: list[dict[str, Any]]
) -> FoldsVerdict | None:
    """The verdict of a completed short from the fold scores it reported for the rule's metric."""
    reported = [f for f in folds if f.get("metric") == rule.metric]
    if observation.outcome is not Outcome.COMPLETED or not reported:
        return None
    return judge_folds(rule, reported[-1])


def _closing(observation: Observation, judged: FoldsVerdict | None, caps: Caps) -> RunClosing:
    """What the run closes with (``shorts.record``): its usage and the share of each cap it
    used, its outcome and verdict."""
    wall = observation.wall_seconds
    metrics = dict(observation.result or {})
    metrics.update(caps.usage_metrics(observation.usage))
    tags = {record.OUTCOME: observation.outcome.value, record.REASON: observation.reason}
    if judged is not None:
        judgement = judged.model
        tags[record.VERDICT] = judgement.verdict.value
        tags[record.VERDICT_REASON] = judgement.reason
        tags[record.VERDICT_TEST] = judgement.test
        tags[record.EVIDENCE] = evidence_json(judged.record)
        metrics[record.UPLIFT] = judgement.uplift
        metrics[record.P_VALUE] = judgement.p_value
        for name, variant in judged.variants.items():
            tags[record.variant_verdict(name)] = variant.verdict.value
            tags[record.variant_verdict_reason(name)] = variant.reason
    elif observation.outcome is Outcome.COMPLETED:
        tags[record.VERDICT] = record.VERDICT_NONE
        tags[record.VERDICT_REASON] = "the short reported no fold scores for the verdict metric"
    if observation.exit_code is not None:
        tags[record.EXIT_CODE] = str(observation.exit_code)
    if observation.exit_signal is not None:
        tags[record.EXIT_SIGNAL] = str(observation.evidence()["exit_signal"])
    if observation.error:
        tags[record.ERROR_TYPE] = str(observation.error.get("type"))
        if observation.error.get("where"):
            tags[record.ERROR_WHERE] = str(observation.error["where"])
    staging = observation.output_log.parent.parent if observation.output_log else Path(".")
    return RunClosing(
        outcome=observation.outcome.value,
        reason=observation.reason,
        status=observation.outcome.mlflow_status,
        metrics=metrics,
        tags=tags,
        artifact_dirs={"shorts": staging / "evidence", "": staging / "artifacts"},
        end_time=observation.started_at + wall,
    )


def _write_evidence(spec: WorkerSpec, observation: Observation, config: dict[str, Any]) -> None:
    """The redacted config and the supervisor's observation, beside the output log."""
    evidence = spec.evidence_dir
    (evidence / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(redact(config))))
    (evidence / "observation.json").write_text(json.dumps(observation.evidence(), indent=2))
