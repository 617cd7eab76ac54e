"""The context handed to a short: the one seam between a short and the runner.

A short never sees processes or MLflow: metrics travel to the supervisor as JSON lines over a
pipe and are recorded as they arrive, so they survive even when the worker is killed a moment later.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shorts import record

_HARVEST_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class TrialPruned(Exception):
    """Raise it (or ``optuna.TrialPruned``) when ``ctx.should_prune()`` is true: the run ends as
    ``pruned``, not ``crashed``."""


@dataclass(eq=False)
class Context:
    """What a short's function receives as ``ctx``.

    Args:
        artifact_dir: folder whose contents are logged as the run's artifacts, even on failure.
        started_at: wall-clock start of the run (``time.time()``), shared with the supervisor.
        wall_time: the wall-time cap in seconds.
        soft_time: seconds after start when ``should_stop()`` turns true.
        cpus: the CPU cap (cores); already applied to this process's affinity and thread pools.
        memory: the memory cap in bytes, for the whole worker process tree.
        event_fd: pipe to the supervisor, or ``None`` to keep events in memory (in-process use).
        trial: when the run is a sweep's trial, where its Optuna study lives: ``storage`` and
            ``pruner`` (``_target_`` dicts), ``study`` (its name) and ``number`` (the trial's);
            ``None`` for a plain run.
    """

    artifact_dir: Path
    started_at: float
    wall_time: float
    soft_time: float
    cpus: int = 1
    memory: int = 0
    event_fd: int | None = None
    trial: Mapping[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self.artifact_dir.mkdir(parents=True, exist_ok=True)
        self.trial = dict(self.trial) if self.trial else None
        self._optuna_trial: Any = None
        self._storage_away = False

    @property
    def deadline(self) -> float:
        """Hard deadline (epoch seconds): SIGTERM arrives then, SIGKILL after the grace."""
        return self.started_at + self.wall_time

    @property
    def soft_deadline(self) -> float:
        """Epoch seconds after which a cooperative short should wrap up."""
        return self.started_at + self.soft_time

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.time() - self.started_at

    def remaining(self) -> float:
        """Seconds left before the hard deadline (never negative)."""
        return max(0.0, self.deadline - time.time())

    def soft_remaining(self) -> float:
        """Seconds left before the soft deadline (never negative)."""
        return max(0.0, self.soft_deadline - time.time())

    def should_stop(self) -> bool:
        """True once the soft deadline has passed or the runner asked the short to stop."""
        return self._stop_requested.is_set() or time.time() >= self.soft_deadline

    def request_stop(self) -> None:
        """Called by the worker when SIGTERM arrives, so polling shorts wind down."""
        self._stop_requested.set()

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record one metric value now; it reaches MLflow even if the short is killed later."""
        self._send({"t": "metric", "k": str(name), "v": _as_float(value), "s": step})

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metric values at the same step."""
        for name, value in metrics.items():
            self.log_metric(name, value, step)

    def report(self, value: float, step: int) -> None:
        """An intermediate value of the objective (e.g. the running mean over folds) at ``step``.

        Logged as the metric ``shorts.intermediate``; in a sweep it also goes to the trial, so
        the sweep's pruner can compare it with other trials at the same step.
        """
        self.log_metric(record.INTERMEDIATE, value, step)
        if self.trial is not None and not self._storage_away:
            try:
                self._study_trial().report(_as_float(value), int(step))
            except Exception as exc:  # any storage failure: the short goes on
                self._lose_storage(exc)

    def should_prune(self) -> bool:
        """True when the sweep's pruner judges this trial unpromising (the short then raises
        ``TrialPruned``); a plain run: never."""
        if self.trial is None or self._storage_away:
            return False
        try:
            return bool(self._study_trial().should_prune())
        except Exception as exc:  # any storage failure: the short goes on
            self._lose_storage(exc)
            return False

    def _lose_storage(self, exc: BaseException) -> None:
        """The sweep's storage stopped answering: the trial runs to its end unpruned (its
        record is journaled by the supervisor), and says so once on stderr."""
        self._storage_away = True
        print(
            f"shorts: the sweep's storage did not answer ({type(exc).__name__}); this trial "
            "goes on without pruning",
            file=sys.stderr,
        )

    def _study_trial(self) -> Any:
        """The Optuna trial this run is, reopened in the worker with Optuna's public API: the
        sweep sends its storage and pruner as ``_target_`` dicts, which Hydra builds here."""
        if self._optuna_trial is None:
            import optuna
            from hydra.utils import instantiate

            assert self.trial is not None
            name = str(self.trial["study"])
            storage = instantiate(self.trial["storage"])
            pruner = instantiate(self.trial["pruner"], _convert_="all")
            study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
            number = int(self.trial["number"])
            found = storage.get_trial_id_from_study_id_trial_number(
                storage.get_study_id_from_name(name), number
            )
            self._optuna_trial = optuna.trial.Trial(study, found)
        return self._optuna_trial

    def report_folds(
        self,
        metric: str,
        scores: Sequence[float],
        baseline_scores: Sequence[float],
        test_train: float | None = None,
        variants: Mapping[str, Sequence[float]] | None = None,
        slices: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Per-fold scores of the short and its baseline on the same folds, for the verdict.

        The runner, not the short, turns these into ``shorts.verdict`` (hit, miss or
        inconclusive) with the corrected resampled t-test, so a short cannot grade itself.

        Args:
            metric: the metric scored (the verdict's ``metric``).
            test_train: a fold's test rows over its training rows (default ``1/(k-1)``).
            variants: other models' scores on the same folds (name to scores), each judged
                against the same baseline.
            slices: slice name to its definition (``by``, ``column``, ``low``, ``high``,
                ``quartile``) and ``learners``: ``"model"`` or a variant to its per-fold
                ``[score, baseline score]`` on the slice's rows, the evidence a retrospective
                tests slices with.
        """
        self._send(
            {
                "t": "folds",
                "metric": str(metric),
                "scores": [_as_float(v) for v in scores],
                "baseline": [_as_float(v) for v in baseline_scores],
                "test_train": None if test_train is None else float(test_train),
                "variants": {
                    str(name): [_as_float(v) for v in values]
                    for name, values in (variants or {}).items()
                },
                "slices": {
                    str(name): {
                        **{k: v for k, v in definition.items() if k != "learners"},
                        "learners": {
                            str(learner): [[_as_float(a), _as_float(b)] for a, b in pairs]
                            for learner, pairs in definition.get("learners", {}).items()
                        },
                    }
                    for name, definition in (slices or {}).items()
                },
            }
        )

    def log_dataset(
        self,
        name: str,
        digest: str,
        source: str,
        n_rows: int,
        n_features: int,
        target: str,
        schema: Mapping[str, str] | None = None,
    ) -> None:
        """Declare the data the short trained on; recorded as an MLflow dataset input."""
        self._send(
            {
                "t": "dataset",
                "name": name,
                "digest": digest,
                "source": source,
                "rows": int(n_rows),
                "features": int(n_features),
                "target": target,
                "schema": dict(schema or {}),
            }
        )

    def harvest(self, name: str, item: Any, evidence: Mapping[str, Any] | None = None) -> Path:
        """Save a reusable component (fitted object or note) as a tagged artifact, failed or not.

        Text is saved as ``harvest/NAME.md``; anything else with joblib as
        ``harvest/NAME.joblib``. ``evidence`` (numbers, short strings) is saved beside it and
        travels with it into the retrospective.
        """
        if not _HARVEST_NAME.fullmatch(name):
            raise ValueError(f"harvest name {name!r}: use letters, digits, '.', '_' or '-'")
        folder = self.artifact_dir / "harvest"
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(item, str):
            path, kind = folder / f"{name}.md", "note"
            path.write_text(item)
        else:
            import joblib

            path, kind = folder / f"{name}.joblib", "component"
            joblib.dump(item, path)
        evidence_dict = dict(evidence or {})
        (folder / f"{name}.evidence.json").write_text(
            json.dumps(evidence_dict, indent=2, default=str)
        )
        self._send(
            {
                "t": "harvest",
                "name": name,
                "kind": kind,
                "type": type(item).__name__,
                "path": str(path.relative_to(self.artifact_dir)),
                "evidence": json.loads(json.dumps(evidence_dict, default=str)),
            }
        )
        return path

    def artifact_path(self, name: str) -> Path:
        """A path inside the artifact folder, with parent folders created."""
        path = self.artifact_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _send(self, event: dict[str, Any]) -> None:
        event["ts"] = int(time.time() * 1000)
        if self.event_fd is None:
            self.events.append(event)
            return
        line = (json.dumps(event, allow_nan=True) + "\n").encode()
        with self._lock:
            view = memoryview(line)
            while view:
                written = os.write(self.event_fd, view)
                view = view[written:]


def _as_float(value: Any) -> float:
    """Metric values as floats; numpy scalars and ints are fine, other types are a bug."""
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metric values must be numbers, got {value!r}") from exc
