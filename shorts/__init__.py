"""shorts: cheap, capped ML experiments recorded in MLflow.

The public surface is what a short may use (``from shorts import Context, run_folds``); everything
else is reached through the ``shorts`` command and may change. Heavy libraries load only when a
name that needs them is first used (PEP 562), so ``shorts --help`` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shorts.context import Context, TrialPruned
from shorts.errors import UsageError
from shorts.lazy import lazy_exports

if TYPE_CHECKING:
    from shorts.evaluate import (
        METRICS,
        CVResult,
        fold_metric,
        load_declared,
        quartile_slices,
        quartiles_helped,
        run_folds,
        slice_metrics,
    )
    from shorts.reframe import BinnedRegressor
    from shorts.routing import SliceRouter
    from shorts.verdict import judge, parse_rule

__version__ = "0.1.0"

# name -> the module that defines it, imported on first use
_LAZY = {
    "METRICS": "shorts.evaluate",
    "CVResult": "shorts.evaluate",
    "fold_metric": "shorts.evaluate",
    "load_declared": "shorts.evaluate",
    "quartile_slices": "shorts.evaluate",
    "quartiles_helped": "shorts.evaluate",
    "run_folds": "shorts.evaluate",
    "slice_metrics": "shorts.evaluate",
    "BinnedRegressor": "shorts.reframe",
    "SliceRouter": "shorts.routing",
    "judge": "shorts.verdict",
    "parse_rule": "shorts.verdict",
}

__all__ = [
    "METRICS",
    "BinnedRegressor",
    "CVResult",
    "Context",
    "SliceRouter",
    "TrialPruned",
    "UsageError",
    "__version__",
    "fold_metric",
    "judge",
    "load_declared",
    "parse_rule",
    "quartile_slices",
    "quartiles_helped",
    "run_folds",
    "slice_metrics",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
