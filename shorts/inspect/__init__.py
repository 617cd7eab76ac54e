"""``shorts inspect``: look at the data the way a model will, before modelling it.

One module per part: ``command``, ``checks`` (the registry), ``findings``, ``report``; ``setup``,
``row_ids`` and ``predictions`` are shared with ``shorts label``. Both record their runs in the
MLflow experiment ``on_location``.
"""

ON_LOCATION_EXPERIMENT = "on_location"
