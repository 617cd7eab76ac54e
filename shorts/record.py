"""The record of a run: every tag, metric and param name ``shorts`` writes to MLflow, and units.

One module names the record, so its writers and readers cannot disagree on a name; names are kept
exactly as first written, as stores already hold them. Figures are numbers in fixed units, as
measured (seconds, bytes, cores); the ``shorts.caps.*`` tags are display text made from them for
the MLflow UI, never parsed back. Params are the run's flattened, redacted config
(``shorts.config.run_params``). Plain data only: ``shorts run`` imports it before its worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "shorts."  # every tag and metric shorts itself writes, but MLflow's own (``mlflow.*``)

# -- what the run is: tags set when it opens ---------------------------------------------------

SHORT = "shorts.short"  # the short's name (also its MLflow experiment's): groups its runs
HYPOTHESIS = "shorts.hypothesis"  # what the short sets out to show, from its declaration
TECHNIQUES = "shorts.techniques"  # comma-separated: the retrospective's technique ledger
OVERRIDES = "shorts.overrides"  # the command-line overrides that made the run: reruns it
CHOICES = "shorts.choices"  # config group choices as JSON: rebuilds the run's models
DATASET = "shorts.dataset"  # the data set choice: groups runs for the headroom and cap advice
MODEL = "shorts.model"  # the model choice
MEMORY_ENFORCEMENT = "shorts.memory_enforcement"  # how the memory cap was enforced
GIT_DIRTY = "shorts.git.dirty"  # "true" if the code had uncommitted changes (beside the commit)
KIND = "shorts.kind"  # set on runs that are not a short's run: one of the ``KIND_*`` below

# ``KIND`` values. A run without the tag is a short's run (``shorts run``, a sweep trial, a job).
KIND_SWEEP = "sweep"  # a sweep's parent run; its trials are the shorts run
KIND_MULTIRUN = "multirun"  # a ``shorts run -m``'s parent run; its jobs are the shorts run
KIND_RETROSPECTIVE = "retrospective"
KIND_INSPECT = "inspect"  # ``shorts inspect``: data QA on location
# A labelling session's three runs (``shorts label``), side by side on the same rows.
KIND_HUMAN_BASELINE = "human_baseline"
KIND_MODEL_ON_SAME_ROWS = "model_on_same_rows"
KIND_TRIVIAL_ON_SAME_ROWS = "trivial_on_same_rows"
PARENT_KINDS = (KIND_SWEEP, KIND_MULTIRUN)  # parents: the retrospective counts their children

# -- caps: display tags at opening, numeric metrics at closing ----------------------------------

# What a person reads in the UI (``shorts.caps.Caps.as_tags``): never parsed back.
CAPS_WALL_TIME = "shorts.caps.wall_time"
CAPS_MEMORY = "shorts.caps.memory"
CAPS_CPUS = "shorts.caps.cpus"
CAPS_GRACE = "shorts.caps.grace"
CAPS_PREFIX = "shorts.caps."  # + a cap's config key (``caps_tag``), + ``_unit`` (``caps_metric``)
# The same caps as numbers (``shorts.caps.Caps.as_metrics``): what every reader uses. Each is the
# display tag's name with its unit. Runs recorded before these existed have the tags only.
CAPS_WALL_TIME_SECONDS = "shorts.caps.wall_time_seconds"
CAPS_MEMORY_BYTES = "shorts.caps.memory_bytes"
CAPS_CPUS_CORES = "shorts.caps.cpus_cores"
CAPS_GRACE_SECONDS = "shorts.caps.grace_seconds"
CAP_METRICS = (CAPS_WALL_TIME_SECONDS, CAPS_MEMORY_BYTES, CAPS_CPUS_CORES, CAPS_GRACE_SECONDS)

# -- usage: metrics at closing, as the supervisor measured it ---------------------------------

WALL_SECONDS = "shorts.wall_seconds"  # from the worker's start to the tree's end
CPU_SECONDS = "shorts.cpu_seconds"  # user + system CPU of the whole process tree
PEAK_RSS_BYTES = "shorts.peak_rss_bytes"  # highest resident memory of the tree, in bytes
PEAK_RSS_MIB = "shorts.peak_rss_mib"  # the same in MiB: the UI's column, and older runs' only one
# Share of each cap used (1.0 = all of it): sorts runs by how close they came to a cap.
CAP_USED_WALL_TIME = "shorts.cap_used.wall_time"
CAP_USED_MEMORY = "shorts.cap_used.memory"
CAP_USED_CPUS = "shorts.cap_used.cpus"  # CPU seconds over (wall seconds x cores)
CAP_USED_PREFIX = "shorts.cap_used."  # + a cap's config key (``cap_used``)
INTERMEDIATE = "shorts.intermediate"  # what ``ctx.report`` sends a sweep's pruner, by step

# -- how it ended: tags and metrics at closing --------------------------------------------------

OUTCOME = "shorts.outcome"  # an ``Outcome`` value, or ``RUNNING`` until the run ends
RUNNING = "running"  # ``OUTCOME`` of a run whose supervisor has not recorded its end yet
REASON = "shorts.reason"  # the outcome in a sentence (which cap, what was raised, ...)
VERDICT = "shorts.verdict"  # hit, miss, inconclusive, or none (completed without fold scores)
VERDICT_NONE = "none"
VERDICT_REASON = "shorts.verdict.reason"
VERDICT_TEST = "shorts.verdict.test"  # the statistical test behind the verdict
EVIDENCE = "shorts.evidence"  # JSON: the fold gains the verdict rests on, pooled by retro claims
UPLIFT = "shorts.uplift"  # metric: the model's relative gain over the baseline
P_VALUE = "shorts.p_value"  # metric: of the verdict's test
EXIT_CODE = "shorts.exit_code"  # the worker's exit status, when it exited
EXIT_SIGNAL = "shorts.exit_signal"  # the signal that ended the worker, by name
ERROR_TYPE = "shorts.error.type"  # the exception the short raised: a crash's fingerprint
ERROR_WHERE = "shorts.error.where"  # ``path:line in function`` where it was raised
HARVEST_PREFIX = "shorts.harvest."  # + name: JSON of a component the short harvested


def variant_verdict(name: str) -> str:
    """The verdict tag of the variant model ``name``, judged on the same folds as the model."""
    return f"shorts.variant.{name}.verdict"


def variant_verdict_reason(name: str) -> str:
    return f"shorts.variant.{name}.verdict.reason"


# -- links between runs --------------------------------------------------------------------------

RETRY_OF = "shorts.retry_of"  # on a memout's retry: the memout's run id
RETRIED_AS = "shorts.retried_as"  # on the memout: its retry's run id
JOURNAL = "shorts.journal"  # the local journal's id: finds a run whose creation was not noted
HEARTBEAT = "shorts.heartbeat"  # epoch seconds: a live supervisor; a stale one is repaired as lost
SUPERVISOR_HOST = "shorts.supervisor.host"  # where the supervisor ran: names a lost run's machine

# -- parent runs: a multirun's and a sweep's ---------------------------------------------------

OUTCOMES = "shorts.outcomes"  # ``outcome:count, ...`` of the children
LAUNCHER = "shorts.launcher"  # Hydra's launcher of a multirun's jobs
JOBS = "shorts.jobs"  # how many jobs the multirun planned for this short and store
SWEEP_DIR = "shorts.sweep_dir"  # the multirun's sweep folder (its jobs' records)
MULTIRUN_STATUS = "shorts.multirun.status"  # finished, failed or killed, as the parent closed
MULTIRUN_METRIC_PREFIX = "multirun."  # + jobs, or + an outcome: counts of the children
SWEEP_STUDY = "shorts.sweep.study"  # the Optuna study (on the parent and every trial)
SWEEP_STORAGE = "shorts.sweep.storage"  # where the study lives (credentials redacted)
SWEEP_SESSIONS = "shorts.sweep.sessions"  # how many times the sweep was started (resumes)
SWEEP_TRIAL = "shorts.sweep.trial"  # on a trial: its number in the study
SWEEP_PARAMS = "shorts.sweep.params"  # on a trial: the overrides the sampler chose
SWEEP_BUDGET_CLIPPED = "shorts.sweep.budget_clipped"  # on a trial: its wall-time cap was cut
SWEEP_BEST_TRIAL = "shorts.sweep.best_trial"
SWEEP_BEST_OVERRIDES = "shorts.sweep.best_overrides"
SWEEP_BEST_RUN_ID = "shorts.sweep.best_run_id"

# -- on location (``shorts inspect``, ``shorts label``) and retrospectives -----------------------

INSPECT_LEAKS = "shorts.inspect.leaks"  # comma-separated columns that leak the target
LABEL_SESSION = "shorts.label.session"  # ties a labelling session's three runs together
LABEL_WHO = "shorts.label.who"
LABEL_ROWS = "shorts.label.rows"  # comma-separated row ids the human labelled
LABEL_PICKED = "shorts.label.picked"  # by_hand or seed: how the rows were chosen
LABEL_MODEL_RUN = "shorts.label.model_run"  # on the human's run: the model's run on the rows
LABEL_TRIVIAL_RUN = "shorts.label.trivial_run"
RETRO_PERIOD = "shorts.retro.period"  # on a retrospective's run: its period, e.g. 2026Q4

# -- MLflow's own tags that shorts sets ----------------------------------------------------------

NOTE = "mlflow.note.content"  # the run's description in the UI
PARENT_RUN = "mlflow.parentRunId"  # nests a multirun's jobs and a sweep's trials
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"

TAG_CHARS = 8000  # MLflow's limit on a tag's value (FIELD_NOTES): longer values are cut

MIB = 2**20


# -- caps and usage as numbers -----------------------------------------------------------------


def caps_tag(key: str) -> str:
    """The display tag of the cap ``caps.KEY``: ``shorts.caps.cpu_time``."""
    return f"{CAPS_PREFIX}{key}"


def caps_metric(key: str, unit: str) -> str:
    """The numeric metric of the cap ``caps.KEY`` in ``unit``: ``shorts.caps.cpu_time_seconds``
    (the pattern of ``CAP_METRICS``)."""
    return f"{CAPS_PREFIX}{key}_{unit}"


def cap_used(key: str) -> str:
    """The share of the cap ``caps.KEY`` a run used: ``shorts.cap_used.cpu_time``."""
    return f"{CAP_USED_PREFIX}{key}"


def cap_metrics(
    wall_time_seconds: float, memory_bytes: int, cpus: int, grace_seconds: float | None = None
) -> dict[str, float]:
    """The caps as the metrics ``CAP_METRICS`` (grace left out when not given)."""
    metrics = {
        CAPS_WALL_TIME_SECONDS: float(wall_time_seconds),
        CAPS_MEMORY_BYTES: float(memory_bytes),
        CAPS_CPUS_CORES: float(cpus),
    }
    if grace_seconds is not None:
        metrics[CAPS_GRACE_SECONDS] = float(grace_seconds)
    return metrics


def usage_metrics(
    wall_seconds: float,
    cpu_seconds: float,
    peak_rss_bytes: int,
    wall_time_cap: float,
    memory_cap: int,
    cpus: int,
) -> dict[str, float]:
    """What the run used, and the share of each cap (``cap_used.*``), as metrics."""
    return {
        WALL_SECONDS: wall_seconds,
        CPU_SECONDS: cpu_seconds,
        PEAK_RSS_BYTES: float(peak_rss_bytes),
        PEAK_RSS_MIB: peak_rss_bytes / MIB,
        CAP_USED_WALL_TIME: wall_seconds / wall_time_cap,
        CAP_USED_MEMORY: peak_rss_bytes / memory_cap,
        CAP_USED_CPUS: cpu_seconds / (wall_seconds * cpus) if wall_seconds > 0 else 0.0,
    }


@dataclass(frozen=True)
class RecordedCaps:
    """The caps a run recorded, as numbers; NaN for a cap it did not record.

    A run recorded before the numeric cap metrics existed has its caps as display tags only, and
    its params hold the caps as configured, which a sweep may have cut for its budget: such a
    cap is unknown here rather than parsed back from text.
    """

    wall_time_seconds: float
    memory_bytes: float
    cpus: float

    @classmethod
    def of(cls, metrics: Mapping[str, object]) -> RecordedCaps:
        return cls(
            number(metrics, CAPS_WALL_TIME_SECONDS),
            number(metrics, CAPS_MEMORY_BYTES),
            number(metrics, CAPS_CPUS_CORES),
        )

    @property
    def memory_mib(self) -> float:
        return self.memory_bytes / MIB


def peak_rss_mib(metrics: Mapping[str, object]) -> float:
    """The run's peak memory in MiB: from the bytes, else (older runs) the MiB metric; NaN if
    neither was recorded."""
    peak = number(metrics, PEAK_RSS_BYTES)
    return peak / MIB if math.isfinite(peak) else number(metrics, PEAK_RSS_MIB)


def number(metrics: Mapping[str, object], key: str) -> float:
    """A recorded metric as a float; NaN when absent or not a number."""
    value = metrics.get(key)
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
