"""``shorts inspect``: go on location, look at the data the way a model will, before modelling it.

``command`` reads the arguments and the data and runs every data-QA check of the registry
(``checks``: one module per check, each with its computation, finding, checklist items, report
section and metrics); ``findings`` holds what they found, ``report`` writes it. The pieces
``shorts label`` shares live here too: ``setup`` (arguments), ``row_ids`` (what a row number
means) and ``predictions`` (out-of-fold predictions). Both commands record their runs in the
MLflow experiment ``on_location``.
"""

ON_LOCATION_EXPERIMENT = "on_location"
