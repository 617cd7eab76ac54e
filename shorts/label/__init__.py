"""``shorts label``: be the model for a few rows, a Wizard-of-Oz human baseline.

Row ids, argument parsing and out-of-fold predictions are shared with ``shorts inspect``
(``shorts.inspect``); each module's docstring says its part.
"""
