"""Retrospectives: what a period of shorts cost, what worked, and what the failed ones teach.

The public API, re-exported from the modules that hold it: ``period_from`` (period.py) names the
window, ``load_runs``/``load_short_runs``/``load_histories`` (load.py) read MLflow
(``history_runs`` names the runs whose histories matter), ``harvest`` (analysis.py) turns the
runs into a ``Retrospective`` (model.py), and ``render`` (render.py) writes it as HTML, Markdown
and JSON. The runs' records (records.py) and cap lessons (cap_lessons.py) are shared with
``shorts caps suggest``. The data classes are imported eagerly (they are plain dataclasses); the
functions are resolved on first use, because their modules import pandas and matplotlib:
``import shorts.retro`` stays cheap, and ``shorts --help`` never pays for it.
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
