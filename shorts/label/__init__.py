"""``shorts label``: be the model for a few rows, a Wizard-of-Oz human baseline.

``command`` is the command; ``session`` asks a person row by row, ``rows`` picks the rows,
``answers`` reads and writes the answers file, ``scoring`` compares the person with the model and
a trivial baseline, ``report`` and ``runs`` write what was found. Row ids, argument parsing and
out-of-fold predictions are shared with ``shorts inspect`` (``shorts.inspect``).
"""
