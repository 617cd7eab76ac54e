"""A finished labelling session as three runs, side by side in the experiment ``on_location``.

Why three runs and not one: in the MLflow UI's runs table each run is a line and each metric a
column, so the person (``human_baseline``), the model on the same rows and the trivial baseline,
logged with the same metric keys, line up as three comparable lines. They are linked by the tag
``shorts.label.session`` (filter on it to see one session) and carry the same ``shorts.dataset``,
``n``, ``seed`` and row ids (tag ``shorts.label.rows``; ``shorts.label.picked`` says whether
they were drawn with the seed or chosen by hand, and then the human run also counts whom the
person sided with: ``sided_with_label``, ``sided_with_model``, ...). The human run is logged
last, so it tops the table sorted by start time, and carries the note, the report and the
results file.

Nothing is logged before the session is complete: the runs are created only here, each one
whole (``log_finished_run``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shorts import record
from shorts.inspect import ON_LOCATION_EXPERIMENT
from shorts.label.report import SessionFacts, note_text
from shorts.label.scoring import Comparison, Contender, sides
from shorts.project import Project
from shorts.tracking.oneshot import log_finished_run

HUMAN_RUN = record.KIND_HUMAN_BASELINE
KINDS = {
    "human": record.KIND_HUMAN_BASELINE,
    "model": record.KIND_MODEL_ON_SAME_ROWS,
    "trivial": record.KIND_TRIVIAL_ON_SAME_ROWS,
}


@dataclass(frozen=True)
class LoggedSession:
    """Where the session's runs are."""

    experiment_id: str
    runs: dict[str, tuple[str, str]]  # role → (run name, run id), in the order logged


def log_session(
    project: Project,
    uri: str,
    comparison: Comparison,
    facts: SessionFacts,
    model_name: str,
    artifacts: Sequence[Path],
) -> LoggedSession:
    """Log the trivial baseline, the model and then the person as FINISHED runs."""
    c = comparison
    n = len(c.rows)
    session = f"labelling session `{facts.session}`"
    shared = _Shared(
        params={
            "dataset": facts.dataset,
            "task": c.task,
            "target": c.target,
            "n": str(n),
            "seed": str(facts.seed),
        },
        tags={
            record.DATASET: facts.dataset,
            record.LABEL_SESSION: facts.session,
            record.LABEL_WHO: facts.who,
            record.LABEL_ROWS: ",".join(str(int(r)) for r in c.rows),
            record.LABEL_PICKED: "by_hand" if facts.by_hand else "seed",
        },
    )
    trivial = _log(
        project,
        uri,
        shared,
        c.trivial,
        f"trivial baseline (same {n} rows)",
        params={"baseline": c.trivial.label, "prediction": f"{c.trivial.predictions[0]:.6g}"},
        note=f"{c.trivial.label} on the {n} rows of {session} (computed from the other rows), "
        f"beside `{HUMAN_RUN}`.",
    )
    model = _log(
        project,
        uri,
        shared,
        c.model,
        f"{model_name} (same {n} rows)",
        params={"model": model_name, "model_class": facts.model_class, "folds": str(facts.folds)},
        note=f"{model_name} ({facts.model_class}) scored out of fold ({facts.folds} folds) on the "
        f"{n} rows of {session}, beside `{HUMAN_RUN}`.",
    )
    rho = c.agreement.rho
    extra = {"error_rank_spearman": rho} if math.isfinite(rho) else {}
    if facts.by_hand:
        counted = sides(c)
        extra |= {
            "sided_with_label": float(counted.label),
            "sided_with_model": float(counted.model),
            "sided_with_both": float(counted.both),
        }
        if c.task == "classification":
            extra["sided_with_neither"] = float(counted.neither)
    human = _log(
        project,
        uri,
        shared,
        c.human,
        HUMAN_RUN,
        params={"labeller": facts.who, "examples": str(facts.examples)},
        note=note_text(c, facts),
        tags={record.LABEL_MODEL_RUN: model[2], record.LABEL_TRIVIAL_RUN: trivial[2]},
        metrics=extra,
        artifacts=artifacts,
    )
    return LoggedSession(
        human[0], {role: (name, run_id) for _, role, run_id, name in (trivial, model, human)}
    )


@dataclass(frozen=True)
class _Shared:
    """What the three runs of a session have in common."""

    params: dict[str, str]
    tags: dict[str, str]


def _log(
    project: Project,
    uri: str,
    shared: _Shared,
    contender: Contender,
    name: str,
    *,
    params: dict[str, str],
    note: str,
    tags: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    artifacts: Sequence[Path] = (),
) -> tuple[str, str, str, str]:
    """One run of the session; ``(experiment id, role, run id, run name)``."""
    logged = log_finished_run(
        project,
        uri,
        ON_LOCATION_EXPERIMENT,
        name,
        params={**shared.params, **params},
        metrics={**contender.metrics, **(metrics or {})},
        tags={
            **shared.tags,
            record.KIND: KINDS[contender.role],
            record.NOTE: note,
            **(tags or {}),
        },
        artifacts=artifacts,
    )
    return logged.experiment_id or "?", contender.role, logged.shown, name
