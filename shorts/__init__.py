"""shorts: cheap, capped ML experiments recorded in MLflow.

The public surface is small: the ``Context`` a short receives. Everything else is reached through
the ``shorts`` command. Heavy libraries (MLflow, scikit-learn) are imported only where used, so
``shorts --help`` stays instant.
"""

from __future__ import annotations

from shorts.context import Context, TrialPruned

__all__ = ["Context", "TrialPruned", "__version__"]
__version__ = "0.1.0"
