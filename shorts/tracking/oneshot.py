"""A run that records a finished piece of work at once: a report, a QA, a human baseline.

Why its own path: these commands compute everything first and log only at the end, so a user's
mistake (or a bug) found while computing leaves no half-created run; and a failure while logging
closes the run as FAILED instead of leaving it RUNNING.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from shorts.project import Project
from shorts.tracking.store import experiment_id, open_client


def log_finished_run(
    project: Project,
    uri: str,
    experiment: str,
    run_name: str,
    *,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    artifacts: Iterable[Path] = (),
) -> tuple[str, str]:
    """Create, fill and close (FINISHED) one run of ``experiment``; ``(run id, experiment id)``.

    Non-finite metrics are left out: MLflow stores NaN, but it sorts and plots as noise.
    """
    from mlflow.entities import Metric, Param

    client = open_client(uri)
    exp = experiment_id(client, experiment, uri, project.default_artifact_root)
    run = client.create_run(
        exp, run_name=run_name, tags={k: v[:8000] for k, v in (tags or {}).items()}
    )
    run_id = str(run.info.run_id)
    try:
        stamp = run.info.start_time
        client.log_batch(
            run_id,
            metrics=[
                Metric(key, float(value), stamp, 0)
                for key, value in (metrics or {}).items()
                if math.isfinite(float(value))
            ],
            params=[Param(key, str(value)[:6000]) for key, value in (params or {}).items()],
        )
        for path in artifacts:
            if path.is_dir():
                client.log_artifacts(run_id, str(path))
            else:
                client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id, exp
