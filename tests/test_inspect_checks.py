"""The data-QA checks as objects: the registry decides what runs and what every report shows.

In process, on diabetes (no command, no store): every registered check, and one registered here
the way a new check is added, shows its section in the Markdown, the HTML and the terminal, in
the registry's order, with its finding in report.json and its item in the checklist.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]


def inspect_diabetes() -> Any:
    """``shorts inspect dataset=diabetes``'s findings, computed in process."""
    from shorts.datasets import load_dataset, load_table
    from shorts.inspect.command import Setting, inspect_dataset

    spec = OmegaConf.load(ROOT / "configs" / "dataset" / "diabetes.yaml")
    data = load_dataset(spec)
    model = OmegaConf.load(ROOT / "configs" / "model" / "hist_gbm.yaml")
    setting = Setting("hist_gbm", None, "shorts label dataset=diabetes", top=5)
    return inspect_dataset(load_table(spec, data), data, model, setting)


def renderings(found: Any) -> tuple[str, str, str]:
    """The inspection as Markdown, HTML and terminal text."""
    from shorts.inspect.report import build_report
    from shorts.reports.rendering import render_html, render_markdown
    from shorts.reports.terminal import print_report

    report = build_report(found)
    out = io.StringIO()
    print_report(report, Console(file=out, width=100, markup=False, highlight=False))
    return render_markdown(report), render_html(report), out.getvalue()


def test_a_registered_check_shows_in_every_rendering_in_the_registrys_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shorts.inspect import checks
    from shorts.inspect.checks import Check, Context
    from shorts.inspect.findings import ChecklistItem, Inspection, Remedies
    from shorts.reports.document import Block, Paragraph

    class Balance(Check):
        """A check added the way a newcomer adds one: a class, and a line in the registry."""

        name = "balance"
        title = "Balance of the sexes"

        def compute(self, ctx: Context, found: Inspection) -> dict[str, int]:
            return {"women": int((ctx.frame["sex"] > 0).sum())}

        def checklist(self, found: Inspection, remedies: Remedies) -> list[ChecklistItem]:
            women = found.findings["balance"]["women"]
            return [ChecklistItem("balance", "Check the balance", f"{women} rows", "Look.", rank=1)]

        def blocks(self, found: Inspection) -> list[Block]:
            return [Paragraph.of(f"{found.findings['balance']['women']} rows of women.")]

    monkeypatch.setattr(checks, "CHECKS", (*checks.CHECKS, Balance()))
    found = inspect_diabetes()
    markdown, html, terminal = renderings(found)

    headings = [check.heading(found) for check in checks.CHECKS]
    assert headings[-1] == "Balance of the sexes" and len(headings) == 6
    for shown, form in ((markdown, "## {}"), (html, "<h2>{}</h2>"), (terminal, "{} ─")):
        at = [shown.index(form.format(heading)) for heading in headings]
        assert at == sorted(at), shown
    assert [html.index(f'<section id="{c.name}">') for c in checks.CHECKS] == sorted(
        html.index(f'<section id="{c.name}">') for c in checks.CHECKS
    )
    women = found.findings["balance"]["women"]
    assert 0 < women < 442 and f"{women} rows of women." in terminal
    assert json.loads(found.to_json())["balance"] == {"women": women}
    assert found.checklist[0].key == "balance"  # the most serious rank comes first


def test_the_checklist_is_ordered_by_seriousness_and_every_metric_is_named_once() -> None:
    from shorts.inspect import checks

    found = inspect_diabetes()
    ranks = [item.rank for item in found.checklist]
    assert ranks == sorted(ranks) and {i.key for i in found.checklist} >= {"small_data"}
    keys = [key for check in checks.CHECKS for key in check.metrics(found)]
    assert len(keys) == len(set(keys)) and {"duplicate_rows", "leak_suspects"} <= set(keys)
