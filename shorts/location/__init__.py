"""Going on location: commands that put a person in contact with the data before modelling it.

``shorts inspect`` is data QA (what is in the table, what could mislead a model); ``shorts label``
makes the person the model for a few rows (a Wizard-of-Oz baseline). Both choose their data the
way ``shorts run`` does (``dataset=NAME`` and its keys, or a short's with ``+experiment=NAME``)
and record what they found as runs of the MLflow experiment ``on_location``.
"""

ON_LOCATION_EXPERIMENT = "on_location"
