"""The worker: runs one short's function in its own process and reports back over a pipe.

Started by the guardian as ``python -m shorts.runner.worker SPEC.json``. It imports neither MLflow
nor Hydra's app machinery: it rebuilds the config, calls ``fn(cfg, ctx)``, and sends the result (or
the error) to the supervisor, which decides the outcome from what it observes.
"""

from __future__ import annotations

import json
import math
import os
import pkgutil
import signal
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from shorts.context import Context, TrialPruned

EXIT_ERROR = 1
EXIT_TERMINATED = 143


class ShortTerminated(BaseException):
    """Raised in the short when the runner sends SIGTERM, so ``finally`` blocks still run."""


def resolve_function(target: str, project_root: Path) -> Any:
    """Import ``module:function`` with the project root on ``sys.path``."""
    if str(project_root) not in sys.path:
        sys.path.insert(0, str(project_root))
    return pkgutil.resolve_name(target)


LIBRARY_FOLDERS = frozenset({"site-packages", "dist-packages"})


def innermost_own_frame(tb: TracebackType | None, own_root: Path) -> str | None:
    """``path:line in function`` of the deepest frame in the project's own code."""
    where = None
    for frame, line in traceback.walk_tb(tb):
        path = Path(frame.f_code.co_filename).resolve()
        if not path.is_relative_to(own_root):
            continue
        relative = path.relative_to(own_root)
        # The project's own code: not the framework, and not a virtualenv kept inside the
        # project (.venv/lib/python3.11/site-packages/sklearn/... is a library's frame).
        if relative.parts[:1] != ("shorts",) and not LIBRARY_FOLDERS.intersection(relative.parts):
            where = f"{relative}:{line} in {frame.f_code.co_name}"
    return where


def clean_result(result: Any) -> dict[str, Any]:
    """The event describing what the short returned: metrics, or why they are unusable."""
    if result is None:
        return {"t": "bad_result", "why": "returned None"}
    if not isinstance(result, Mapping):
        return {"t": "bad_result", "why": f"returned a {type(result).__name__}"}
    metrics: dict[str, float] = {}
    for key, value in result.items():
        try:
            metrics[str(key)] = float(value)
        except (TypeError, ValueError):
            return {"t": "bad_result", "why": f"returned a non-number for {key!r}: {value!r:.80}"}
    non_finite = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    return {"t": "result", "metrics": metrics, "non_finite": non_finite}


def _is_pruned(exc: BaseException) -> bool:
    """``shorts.TrialPruned`` or Optuna's own ``TrialPruned`` (without importing Optuna)."""
    if isinstance(exc, TrialPruned):
        return True
    kind = type(exc)
    return kind.__name__ == "TrialPruned" and kind.__module__.startswith("optuna")


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    project_root = Path(spec["project_root"])
    event_fd = int(spec["event_fd"])
    ctx = Context(
        artifact_dir=Path(spec["artifact_dir"]),
        started_at=float(spec["started_at"]),
        wall_time=float(spec["wall_time"]),
        soft_time=float(spec["soft_time"]),
        cpus=int(spec["cpus"]),
        memory=int(spec["memory"]),
        event_fd=event_fd,
        trial=spec.get("trial"),
    )

    terminated = False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # The runner signals the worker's process group and each process of the tree, so SIGTERM
        # can arrive twice: raise only once, or the second would abort the short's ``finally``.
        nonlocal terminated
        ctx.request_stop()
        if not terminated:
            terminated = True
            raise ShortTerminated()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        from omegaconf import OmegaConf

        cfg = OmegaConf.create(spec["config"])
        fn = resolve_function(spec["fn"], project_root)
        result = fn(cfg, ctx)
    except ShortTerminated:
        ctx._send({"t": "terminated"})
        return EXIT_TERMINATED
    except Exception as exc:
        if _is_pruned(exc):
            ctx._send({"t": "pruned", "why": str(exc)[:500]})
            return 0
        Path(spec["traceback_path"]).write_text(traceback.format_exc())
        ctx._send(
            {
                "t": "error",
                "type": type(exc).__name__,
                "message": str(exc)[:2000],
                "where": innermost_own_frame(exc.__traceback__, project_root),
            }
        )
        return EXIT_ERROR
    ctx._send(clean_result(result))
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
