"""Pieces every self-contained report shares (``shorts retro``, ``shorts inspect``).

A report is an HTML file that opens anywhere (a file, a mail attachment, an MLflow artifact
view): plots are PNGs drawn with matplotlib's Agg canvas (no display, no global backend switch)
and inlined as base64; text is escaped; a JSON twin holds the same content for machines, with
non-finite numbers as ``null``. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "agg_figure",
    "escape",
    "format_number",
    "format_probability",
    "format_score",
    "format_value",
    "img_tag",
    "jsonable",
    "plot_label",
    "png_bytes",
    "tidy_axes",
    "write_text_atomically",
]


def agg_figure(width: float, height: float) -> Figure:
    """A matplotlib figure on its own Agg canvas (inches, 100 dpi, constrained layout)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """``fig`` as PNG bytes, without the software stamp (the same plot gives the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def plot_label(text: str, width: int = 32) -> str:
    """Text for matplotlib: no mathtext from a ``$`` in a name, long names shortened."""
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def tidy_axes(ax: Axes) -> None:
    """No top and right spines, small tick labels: the house style of report plots."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)


def escape(text: object) -> str:
    """``text`` safe inside HTML elements and quoted attributes."""
    return html.escape(str(text), quote=True)


def img_tag(png: bytes, alt: str, caption: str) -> str:
    """A ``<figure>`` with the PNG inlined as base64, its alt text and a caption."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values: datetimes in ISO 8601, NaN and inf as ``None``, numpy
    scalars as Python numbers, anything else as its ``str``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a hidden partial file, so a reader never sees half."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def format_number(x: float | None) -> str:
    """A figure to read at a glance: ``0.4521``, ``152.1``, ``18,823``; a dash when unknown."""
    if x is None or not math.isfinite(x):
        return "\N{EN DASH}"
    if x == round(x) and abs(x) < 1e15:
        return f"{round(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def format_probability(p: float | None) -> str:
    """A probability to three decimals, ``<0.001`` below that (never a misleading ``0.000``)."""
    if p is None or not math.isfinite(p):
        return "\N{EN DASH}"
    return "<0.001" if 0 < p < 0.0005 else f"{p:.3f}"


def format_score(x: float | None, digits: int = 3) -> str:
    """A score (R², AUC, a probability) with fixed decimals: ``0.404``, ``-0.000``."""
    if x is None or not math.isfinite(x):
        return "\N{EN DASH}"
    return f"{x:.{digits}f}"


def format_value(value: Any) -> str:
    """A value from a table as it reads there: ids and counts without separators, floats
    to 4 significant digits, missing as an empty string."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)
