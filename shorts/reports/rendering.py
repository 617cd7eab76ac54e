"""Reports through Jinja2 templates: ``templates/base.html.j2`` and ``base.md.j2``.

One base layout, stylesheet and set of macros per format, so every report looks alike and its look
changes with a template edit (a ``<report>.html.j2`` replaces the base, e.g. to reorder sections).
The Markdown templates escape through the ``md`` filter with backslashes, never HTML entities,
which some viewers show literally. Colours live in ``templates/theme.json``, read by the
stylesheet and the plots. ``$SHORTS_REPORT_TEMPLATES`` names a team's own templates folder,
looked up first: restyling or reordering a report needs no Python.
"""

from __future__ import annotations

import base64
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    select_autoescape,
)

from shorts.files import write_atomic
from shorts.outcome import Outcome
from shorts.reports.document import Report

__all__ = ["render_html", "render_markdown", "theme", "write_report"]

# A folder of the team's own templates (any of base.html.j2, style.css.j2, theme.json, ...);
# what it lacks comes from the package's.
TEMPLATES_VARIABLE = "SHORTS_REPORT_TEMPLATES"


def theme() -> dict[str, Any]:
    """The colours of reports: outcomes and verdicts, plot series, page ink (``theme.json``)."""
    env = _environment(os.environ.get(TEMPLATES_VARIABLE))
    loaded: dict[str, Any] = env.globals["theme"]  # type: ignore[assignment]
    return loaded


def _md(text: object) -> str:
    """Text safe in Markdown and in a table cell: no HTML, no emphasis, no pipes, one line."""
    text = str(text)
    for char in ("\\", "`", "*", "[", "]", "|", "<", ">", "&"):
        text = text.replace(char, "\\" + char)
    return re.sub(r"\s+", " ", text)


def _md_code(text: object) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


@cache
def _environment(own_folder: str | None) -> Environment:
    """Templates from ``own_folder`` first (``$SHORTS_REPORT_TEMPLATES``), then the package's."""
    loaders: list[BaseLoader] = [PackageLoader("shorts.reports", "templates")]
    if own_folder:
        loaders.insert(0, FileSystemLoader(own_folder))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        md=_md, mdcode=_md_code, mdurl=_md_url, b64=lambda data: base64.b64encode(data).decode()
    )
    source, _, _ = env.loader.get_source(env, "theme.json")  # type: ignore[union-attr]
    loaded = json.loads(source)
    # An outcome's colour is said once, in shorts.outcome; theme.json may override it.
    defaults = {outcome.value: outcome.description.colour for outcome in Outcome}
    loaded["outcomes"] = defaults | loaded.get("outcomes", {})
    env.globals["theme"] = loaded
    return env


def _template(report: str, kind: str) -> Template:
    """``<report>.<kind>.j2`` if there is one (a team's own, say), else ``base.<kind>.j2``."""
    names = [f"{report}.{kind}.j2", f"base.{kind}.j2"]
    return _environment(os.environ.get(TEMPLATES_VARIABLE)).select_template(names)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (CSS inline, plots as base64, no script)."""
    return _template(report.name, "html").render(report=report)


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown without raw HTML (plots stay in the HTML)."""
    text = _template(report.name, "md").render(report=report)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def write_report(report: Report, folder: Path, **extra: str) -> dict[str, Path]:
    """Write ``report.html`` and ``report.md`` (and ``extra``: kind to text, e.g. ``json``)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"html": render_html(report), "md": render_markdown(report), **extra}
    return {kind: write_atomic(folder / f"report.{kind}", text) for kind, text in texts.items()}
