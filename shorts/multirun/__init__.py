"""Multiruns (``shorts run -m``): jobs on any Hydra launcher, nested under one parent run per short.

``launching`` (the process that ran the command) and ``job`` (each job, wherever the launcher runs
it) share no memory, only the sweep folder and the tracking store. Names resolve on first use (PEP
562): the job side never loads the launching side, whose callback ``configs/shorts.yaml`` names as
``shorts.multirun.MultirunCallback``.
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
