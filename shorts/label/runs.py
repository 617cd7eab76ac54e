"""A finished labelling session as three runs, side by side in the experiment ``on_location``.

Why three runs and not one: in the MLflow UI's runs table each run is a line and each metric a
column, so the person, the model on the same rows and the trivial baseline, logged with the same
metric keys, line up. The tag ``shorts.label.session`` links them; the human run is logged last,
so it tops the table sorted by start time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shorts import record
from shorts.inspect import ON_LOCATION_EXPERIMENT
from shorts.label.report import SessionFacts, note_text
from shorts.label.scoring import Comparison, Contender, sides
from shorts.project import Project
from shorts.tracking.oneshot import log_finished_run
from shorts.tracking.recorder import Recorded

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
    shared_params = {
        "dataset": facts.dataset,
        "task": c.task,
        "target": c.target,
        "n": str(n),
        "seed": str(facts.seed),
    }
    shared_tags = {
        record.DATASET: facts.dataset,
        record.LABEL_SESSION: facts.session,
        record.LABEL_WHO: facts.who,
        record.LABEL_ROWS: ",".join(str(int(r)) for r in c.rows),
        record.LABEL_PICKED: "by_hand" if facts.by_hand else "seed",
    }
    runs: dict[str, tuple[str, str]] = {}

    def log(
        contender: Contender,
        name: str,
        params: dict[str, str],
        note: str,
        tags: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None,
        files: Sequence[Path] = (),
    ) -> Recorded:
        logged = log_finished_run(
            project,
            uri,
            ON_LOCATION_EXPERIMENT,
            name,
            params={**shared_params, **params},
            metrics={**contender.metrics, **(metrics or {})},
            tags={
                **shared_tags,
                record.KIND: KINDS[contender.role],
                record.NOTE: note,
                **(tags or {}),
            },
            artifacts=files,
        )
        runs[contender.role] = (name, logged.shown)
        return logged

    trivial = log(
        c.trivial,
        f"trivial baseline (same {n} rows)",
        {"baseline": c.trivial.label, "prediction": f"{c.trivial.predictions[0]:.6g}"},
        f"{c.trivial.label} on the {n} rows of {session} (computed from the other rows), "
        f"beside `{HUMAN_RUN}`.",
    )
    model = log(
        c.model,
        f"{model_name} (same {n} rows)",
        {"model": model_name, "model_class": facts.model_class, "folds": str(facts.folds)},
        f"{model_name} ({facts.model_class}) scored out of fold ({facts.folds} folds) on the "
        f"{n} rows of {session}, beside `{HUMAN_RUN}`.",
    )
    extra = {"error_rank_spearman": c.agreement.rho}  # left out when NaN (log_finished_run)
    if facts.by_hand:
        counted = sides(c)
        extra |= {
            "sided_with_label": float(counted.label),
            "sided_with_model": float(counted.model),
            "sided_with_both": float(counted.both),
        }
        if c.task == "classification":
            extra["sided_with_neither"] = float(counted.neither)
    human = log(
        c.human,
        HUMAN_RUN,
        {"labeller": facts.who, "examples": str(facts.examples)},
        note_text(c, facts),
        tags={record.LABEL_MODEL_RUN: model.shown, record.LABEL_TRIVIAL_RUN: trivial.shown},
        metrics=extra,
        files=artifacts,
    )
    return LoggedSession(human.experiment_id or "?", runs)
