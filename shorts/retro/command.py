"""``shorts retro``: read a period's runs, harvest what they teach, write and log the report.

The report goes to ``<out>/retro-<period>/`` (default ``<project root>/reports``) as HTML,
Markdown and JSON, and is logged as one run of the MLflow experiment ``retrospectives`` in the
same store, so the retrospective sits beside the runs it reads (``load_runs`` leaves that
experiment out, so a retrospective never counts an earlier one).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shorts import record
from shorts.arguments import OneLineParser
from shorts.caps import parse_headroom
from shorts.errors import UsageError
from shorts.project import Project

if TYPE_CHECKING:
    from shorts.reports.document import Report
    from shorts.retro.model import Retrospective

USAGE = (
    "usage: shorts retro [--quarter YYYYQn | --since YYYY-MM-DD --until YYYY-MM-DD] "
    "[--tracking-uri URI] [--ui-url URL] [--headroom 1.5] [--fdr 0.05] [--out DIR]"
)


def _parser() -> OneLineParser:
    parser = OneLineParser(
        USAGE,
        prog="shorts retro",
        description="A retrospective of the shorts run in a period: what it cost, what worked, "
        "and what the failed shorts leave to harvest. Writes report.html, report.md and "
        "report.json and logs them to the MLflow experiment 'retrospectives'.",
    )
    parser.add_argument("--quarter", help="calendar quarter, e.g. 2026Q4 (default: this one)")
    parser.add_argument("--since", help="first day included, YYYY-MM-DD")
    parser.add_argument("--until", help="last day included, YYYY-MM-DD")
    parser.add_argument("--tracking-uri", help="MLflow store to read (default: the project's)")
    parser.add_argument("--ui-url", help="MLflow UI address for links to runs")
    parser.add_argument(
        "--headroom",
        default="1.5",
        help="recommended cap = what the runs needed x headroom (default 1.5)",
    )
    parser.add_argument(
        "--fdr",
        help="false discovery rate the quarter's claims are selected at "
        "(default: retro.fdr in configs/shorts.yaml, else 0.05)",
    )
    parser.add_argument("--out", help="folder for reports (default: <project>/reports)")
    return parser


def retro(project: Project, args: list[str]) -> int:
    """Run ``shorts retro ARGS`` in ``project``; returns the exit status.

    Raises:
        UsageError: a malformed option, period, headroom or unreachable store (exit 2).
    """
    options = _parser().parse_or_help(args)
    if options is None:
        return 0
    headroom = parse_headroom(options.headroom, "--headroom")
    ui_url = _ui_url(options.ui_url)
    level = _fdr(options.fdr, project)

    from shorts.retro.period import period_from
    from shorts.tracking.store import check_reachable, resolve_tracking_uri

    # Every mistake of the user's is refused before the heavy imports and before any work.
    period = period_from(quarter=options.quarter, since=options.since, until=options.until)
    uri = resolve_tracking_uri(options.tracking_uri, project)
    check_reachable(uri)
    out_root = Path(options.out).expanduser().resolve() if options.out else project.root / "reports"
    if out_root.exists() and not out_root.is_dir():
        raise UsageError(f"--out {out_root} is a file; pass a folder for the reports.")

    from shorts.console import stderr_console
    from shorts.reports.rendering import write_report
    from shorts.reports.terminal import print_report, report_console
    from shorts.retro.analysis import harvest, history_runs
    from shorts.retro.load import load_histories, load_runs
    from shorts.retro.render import build_report, to_json
    from shorts.tracking.pending import settle

    settle(project)  # pending records first; runs of dead supervisors count as lost

    console = stderr_console()
    runs = load_runs(uri, period, progress=console.is_terminal)
    wanted = history_runs(runs)  # the runs a cap stopped: near misses, and how far they got
    histories = load_histories(uri, wanted) if wanted else {}
    retrospective = harvest(
        runs, period, uri, histories=histories, headroom=headroom, ui_url=ui_url, level=level
    )
    folder = out_root / f"retro-{folder_name(period.label)}"
    report = build_report(retrospective)
    paths = write_report(report, folder, json=to_json(retrospective))
    run_id = _log(project, uri, retrospective, report, headroom, paths)

    out = report_console()
    print_report(report, out, brief=True)
    out.print()
    # Paths and ids are never wrapped: a terminal or a script must be able to copy them whole.
    for label, kind in (("report", "html"), ("", "md"), ("", "json")):
        out.print(f"{label:<9}{paths[kind]}", soft_wrap=True)
    out.print(f"logged   run {run_id} in the MLflow experiment 'retrospectives'", soft_wrap=True)
    return 0


def folder_name(label: str) -> str:
    """A period label as a folder name: ``2026Q4``, ``2026-10-01_to_2026-12-31``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("_") or "period"


def note(report: Report) -> str:
    """The run's note in the MLflow UI: the report's title and summary, in its Markdown (runs by
    name, without links), so the note, the terminal and the report count runs alike."""
    from shorts.reports.document import Paragraph, Strong
    from shorts.reports.rendering import render_markdown

    summary = [Paragraph.of(Strong(report.title)), *report.summary]
    runs = replace(report.runs, ui_url=None)
    return render_markdown(replace(report, name="note", summary=summary, runs=runs))


def _fdr(text: str | None, project: Project) -> float:
    """The false discovery rate: ``--fdr``, else ``retro.fdr`` of the project's primary config."""
    source = "--fdr"
    if text is None:
        from shorts.config import compose_config
        from shorts.retro.claims import DEFAULT_LEVEL

        text = str(compose_config(project, []).get("retro", {}).get("fdr", DEFAULT_LEVEL))
        source = "retro.fdr in configs/shorts.yaml"
    try:
        level = float(text)
    except ValueError:
        level = math.nan
    if not 0 < level < 1:
        raise UsageError(f"{source}={text!r} must be a number in (0, 1), e.g. 0.05.")
    return level


def _ui_url(text: str | None) -> str | None:
    if text is None:
        return None
    if not re.match(r"^https?://[^\s/]+", text):
        raise UsageError(f"--ui-url {text!r} is not an http(s) address, e.g. http://127.0.0.1:5000")
    return text.rstrip("/")


def _log(
    project: Project,
    uri: str,
    retro: Retrospective,
    report: Report,
    headroom: float,
    paths: dict[str, Path],
) -> str:
    """One FINISHED run ``retro-<label>`` in ``retrospectives`` with the figures and the files."""
    from shorts.retro.load import RETRO_EXPERIMENT
    from shorts.tracking.oneshot import log_finished_run

    p = retro.portfolio
    rows = [c for c in p.counts if c.short != "*"] or list(p.counts)
    hits = sum(len(c.runs) for c in rows if c.outcome == "completed" and c.verdict == "hit")
    misses = sum(len(c.runs) for c in rows if c.outcome == "completed" and c.verdict == "miss")
    figures = {
        "claims_tested": float(len(retro.claims)),
        "claims_selected": float(sum(1 for c in retro.claims if c.get("selected"))),
        "total_runs": float(p.total_runs),
        "failed_share": float(p.failed_share),
        "hits": float(hits),
        "misses": float(misses),
        "cpu_hours": float(p.cpu_hours),
        "failed_cpu_hours": float(p.failed_cpu_hours),
    }
    logged = log_finished_run(
        project,
        uri,
        RETRO_EXPERIMENT,
        f"retro-{retro.period.label}",
        tags={
            record.KIND: record.KIND_RETROSPECTIVE,
            record.RETRO_PERIOD: retro.period.label,
            record.NOTE: note(report),
        },
        params={
            "period_start": retro.period.start.isoformat(),
            "period_end": retro.period.end.isoformat(),
            "period_label": retro.period.label,
            "headroom": str(headroom),
            "fdr": str(retro.fdr_level),
        },
        metrics={k: v if math.isfinite(v) else 0.0 for k, v in figures.items()},
        artifacts=paths.values(),
    )
    return logged.shown
