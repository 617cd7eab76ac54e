"""The data-QA checks of ``shorts inspect``: the registry.

``CHECKS`` lists them in the order they run and their sections show in the report (a check may
read the findings of those before it). Adding a check touches two files: a module here with a
``Check`` subclass (compute, finding, checklist items, section, metrics), and one line below.
"""

from shorts.inspect.checks.base import Check, Context
from shorts.inspect.checks.columns import Columns
from shorts.inspect.checks.duplicates import DuplicateRows
from shorts.inspect.checks.leakage import LeakageCheck
from shorts.inspect.checks.noisy import Noisy
from shorts.inspect.checks.target import Target

__all__ = ["CHECKS", "Check", "Context"]

CHECKS: tuple[Check, ...] = (Columns(), DuplicateRows(), Target(), LeakageCheck(), Noisy())
