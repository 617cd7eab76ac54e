"""The capped runner: a supervisor that runs a short in an isolated worker tree under caps."""

from __future__ import annotations

from shorts.runner.supervisor import Observation, Supervisor, WorkerSpec

__all__ = ["Observation", "Supervisor", "WorkerSpec"]
