"""``notebooks/retrospective.ipynb`` runs top to bottom, so it cannot rot.

It is executed as a user opens it: in a project, with no environment variables, so it reads the
project's store for the current quarter like ``shorts retro``; and in a project whose store has no
runs this quarter, where it says so and falls back to the synthetic demo store. Either way its
plots must render as images in the notebook.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import REPO, ShortsProject
from nbclient import NotebookClient

NOTEBOOK = REPO / "notebooks" / "retrospective.ipynb"
ENV = ("MLFLOW_TRACKING_URI", "SHORTS_ROOT", "SHORTS_RETRO_DEMO", "SHORTS_RETRO_QUARTER")


def _execute(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(cwd))
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def _text(outputs: list[Any]) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {})) for o in outputs)


def _images(outputs: list[Any]) -> list[Any]:
    return [o for o in outputs if "image/png" in o.get("data", {})]


@pytest.mark.slow
def test_notebook_reads_the_projects_store_for_this_quarter(
    project: ShortsProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shorts.retro import period_from
    from shorts.retro.synthetic import timed_build

    period = period_from()  # the current quarter, as the notebook defaults to
    until = min(period.end, max(datetime.now(UTC), period.start + timedelta(days=1)))
    timed_build(project.tracking_uri, 40, period.start, until, seed=1)

    outputs = _execute(project.root, monkeypatch)

    assert not [o for o in outputs if o.output_type == "error"]
    text = _text(outputs)
    assert f"store {project.tracking_uri}, period {period.label}: 40 runs" in text
    assert "DEMO" not in text
    assert "of compute on failed shorts" in text and "report.html" in text
    assert len(_images(outputs)) >= 2  # the weekly compute and the cap use, drawn inline


@pytest.mark.slow
def test_notebook_falls_back_to_the_demo_store_and_says_so(
    project: ShortsProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = _execute(project.root, monkeypatch)  # a fresh project: no store yet

    assert not [o for o in outputs if o.output_type == "error"]
    text = _text(outputs)
    assert "DEMO: the project's store" in text and "does not exist yet" in text
    assert "synthetic store of 60 runs" in text and "These runs are made up" in text
    assert _images(outputs)
