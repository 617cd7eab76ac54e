"""Plots for reports: matplotlib on its own Agg canvas, drawn in the house style.

No display and no global backend switch; matplotlib is imported only when a figure is drawn.
Colours come from the templates' ``theme.json`` (``shorts.reports.rendering.theme``), so the
plots and the page change colour together.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from shorts.reports.document import Plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["agg_figure", "plot", "plot_label", "tidy_axes"]


def agg_figure(width: float, height: float) -> Figure:
    """A matplotlib figure on its own Agg canvas (inches, 100 dpi, constrained layout)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot(fig: Figure, alt: str, caption: str) -> Plot:
    """``fig`` as a report block: a PNG without the software stamp (the same plot, the same
    bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return Plot(buffer.getvalue(), alt, caption)


def plot_label(text: str, width: int = 32) -> str:
    """Text for matplotlib: no mathtext from a ``$`` in a name, long names shortened."""
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def tidy_axes(ax: Axes) -> None:
    """No top and right spines, small tick labels: the house style of report plots."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
