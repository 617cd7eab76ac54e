"""Multiruns (``shorts run -m``): jobs on any Hydra launcher, nested under one parent run per short.

Two sides that share no memory, only the sweep folder and the tracking store:

* ``launching``: the process that ran ``shorts run -m`` plans and checks every job, sizes the
  launcher (``launchers``), opens and closes the parent runs and handles interrupts;
* ``job``: each job, wherever the launcher runs it, finds its parent and any interrupt in the
  sweep folder and leaves its outcome there.

``job`` imports nothing of ``launching`` or ``shorts.launch``; ``launching`` checks its jobs with
``shorts.launch.prepare``, and ``shorts.launch`` runs a job through ``job``: no import circle.
The names below are resolved on first use (PEP 562), so importing the job side never loads the
launching side; ``configs/shorts.yaml`` names the callback as ``shorts.multirun.MultirunCallback``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shorts.lazy import lazy_exports

if TYPE_CHECKING:
    from shorts.multirun.job import MultirunJob
    from shorts.multirun.launching import MultirunCallback

__all__ = ["MultirunCallback", "MultirunJob"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"MultirunCallback": "shorts.multirun.launching", "MultirunJob": "shorts.multirun.job"},
)
