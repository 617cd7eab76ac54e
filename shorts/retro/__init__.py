"""Retrospectives: what a period of shorts cost, what worked, and what the failed ones teach.

``period_from`` names the window, ``load_runs`` reads MLflow, ``harvest`` makes a
``Retrospective`` and ``render`` writes it. The functions are resolved on first use, because
their modules import pandas and matplotlib: ``shorts --help`` never pays for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shorts.lazy import lazy_exports
from shorts.retro.model import Period, Retrospective

if TYPE_CHECKING:
    from shorts.retro.analysis import harvest, history_runs
    from shorts.retro.load import load_histories, load_runs, load_short_runs, load_tracebacks
    from shorts.retro.period import period_from
    from shorts.retro.render import render

__all__ = [
    "Period",
    "Retrospective",
    "harvest",
    "history_runs",
    "load_histories",
    "load_runs",
    "load_short_runs",
    "load_tracebacks",
    "period_from",
    "render",
]

_LAZY = {
    "period_from": "shorts.retro.period",
    "load_runs": "shorts.retro.load",
    "load_short_runs": "shorts.retro.load",
    "load_histories": "shorts.retro.load",
    "load_tracebacks": "shorts.retro.load",
    "harvest": "shorts.retro.analysis",
    "history_runs": "shorts.retro.analysis",
    "render": "shorts.retro.render",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
