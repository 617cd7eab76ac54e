"""A run that records a finished piece of work at once: a report, a QA, a human baseline.

Why its own path: these commands compute everything first and log only at the end, so a user's
mistake (or a bug) found while computing leaves no half-created run. The record goes through a
journal like a short's run (``shorts.tracking.recorder``): a store that does not answer leaves
it pending for ``shorts sync`` instead of losing it.
"""

from __future__ import annotations

import math
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from shorts.project import Project
from shorts.tracking.recorder import Recorded, RunClosing, RunRecorder


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
) -> Recorded:
    """Create, fill and close (FINISHED) one run of ``experiment``, through a journal.

    The artifacts are copied beside the journal, so a record delivered later has them even if
    the originals moved. Non-finite metrics are left out: MLflow stores NaN, but it sorts and
    plots as noise.
    """
    folder = project.state / "records" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    shipped = folder / "artifacts"
    shipped.mkdir(parents=True)
    for path in artifacts:
        if path.is_dir():
            shutil.copytree(path, shipped, dirs_exist_ok=True)
        else:
            shutil.copy2(path, shipped / path.name)
    recorder = RunRecorder(project, folder, uri, experiment)
    recorder.open(
        run_name, {k: str(v) for k, v in (params or {}).items()}, dict(tags or {}), time.time()
    )
    closing = RunClosing(
        outcome="finished",
        reason="",
        status="FINISHED",
        metrics={k: float(v) for k, v in (metrics or {}).items() if math.isfinite(float(v))},
        tags={},
        artifact_dirs={"": shipped},
        end_time=time.time(),
    )
    return recorder.close(closing)
