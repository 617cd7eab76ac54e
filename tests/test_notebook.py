"""``notebooks/retrospective.ipynb`` runs top to bottom on a generated store, so it cannot rot."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "notebooks" / "retrospective.ipynb"


@pytest.mark.slow
def test_retrospective_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    from shorts.retro import period_from
    from shorts.retro.synthetic import timed_build

    period = period_from(quarter="2026Q4")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    timed_build(uri, 120, period.start, period.start.replace(day=28), seed=1)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "SHORTS_RETRO_QUARTER")}
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ["SHORTS_RETRO_QUARTER"] = "2026Q4"
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(tmp_path))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {})) for o in outputs)
    assert "runs," in text and "of compute on failures" in text
    assert "report.html" in text
