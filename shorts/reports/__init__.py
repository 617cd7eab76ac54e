"""Reports people read: one report model (``document``), Jinja2 templates for its look.

``shorts retro``, ``shorts inspect`` and ``shorts label`` build a ``Report`` (sections, tables,
plots, lessons) and ``write_report`` renders it through ``templates/`` as a self-contained HTML
page and GitHub-flavoured Markdown, ``terminal.print_report`` on the terminal (rich); each
command writes its own JSON twin.
"""

from shorts.reports.files import jsonable
from shorts.reports.values import format_number, format_probability, format_score, format_value

__all__ = [
    "format_number",
    "format_probability",
    "format_score",
    "format_value",
    "jsonable",
]
