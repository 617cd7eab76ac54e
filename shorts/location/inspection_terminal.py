"""The inspection on the terminal: the findings at a glance, readable in 100 columns.

The HTML report has every column, plot and value; here each section shows what needs a look
(notable columns, the strongest single columns, the top suspects with a few values each) and
the checklist, then where the report is and which run recorded it. It goes to stdout: it is the
command's output (progress and errors go to stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from shorts.location.findings import (
    OUTLIER_Z,
    TIMES,
    ColumnProfile,
    Inspection,
    Suspect,
    leak_rule,
)
from shorts.reports import format_number as num
from shorts.reports import format_score as score_text
from shorts.reports import format_value

WIDTH = 100
COLUMN_ROWS = 12  # column table rows before the rest are only counted
POWER_ROWS = 8
VALUES_WIDTH = 60  # the rest of the suspect table's 100 columns goes to row, label, scores
VALUE_COLUMNS = 3  # values shown per suspect, besides ids: the strongest single columns


def _console() -> Console:
    """Stdout, at most ``WIDTH`` wide; no markup, so names from the data print as they are."""
    console = Console(highlight=False, markup=False)
    console.width = min(console.width, WIDTH) if console.is_terminal else WIDTH
    return console


def print_report(found: Inspection, paths: dict[str, Path], run_id: str, experiment: str) -> None:
    """Print the findings, then the report's files and the run that recorded them."""
    console = _console()
    head = Text()
    head.append("shorts inspect ", style="bold")
    head.append(found.dataset, style="bold cyan")
    head.append(f"  {found.source}", style="dim")
    console.print(head)
    console.print(
        Text.assemble(
            "target ",
            (found.target, "bold"),
            f" · {found.task} · {found.rows:,} rows {TIMES} {found.columns} columns · "
            f"{found.features} features",
        )
    )
    console.print(Text(found.summary().split(" · ", 1)[1]), style="bold")
    _columns(console, found)
    _target(console, found)
    _power(console, found)
    _noisy(console, found)
    _checklist(console, found)
    for note in found.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print()
    # Paths and ids are never wrapped: a terminal or a script must be able to copy them whole.
    console.print(Text(f"report  {paths['html']}"), soft_wrap=True)
    console.print(Text(f"        {paths['md']}"), soft_wrap=True)
    console.print(Text(f"        {paths['json']}"), soft_wrap=True)
    console.print(
        Text(f"run     {run_id}  (experiment {experiment})  ·  checks took {found.seconds:.1f} s"),
        soft_wrap=True,
    )


def _rule(console: Console, title: str) -> None:
    console.print()
    console.rule(Text(title, style="bold"), align="left", style="dim")


def _note(c: ColumnProfile) -> str:
    notes = []
    if c.id_like:
        notes.append(f"ID-like: {c.id_like}")
    if c.constant:
        notes.append("constant")
    return "; ".join(notes)


def _notable(c: ColumnProfile) -> bool:
    return bool(c.missing or c.constant or c.id_like or c.role not in ("feature", "target"))


def _columns(console: Console, found: Inspection) -> None:
    _rule(console, "Columns")
    console.print("types: " + ", ".join(f"{n} {kind}" for kind, n in found.kinds()))
    notable = [c for c in found.column_profiles if _notable(c)]
    shown = found.column_profiles if len(found.column_profiles) <= COLUMN_ROWS else notable
    if not shown:
        console.print(
            Text(
                f"all {found.columns} columns are numeric features without missing values, "
                "constants or ids (every column is in the HTML report)",
                style="dim",
            )
        )
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("column", overflow="fold", max_width=28)
    table.add_column("type")
    table.add_column("missing", justify="right")
    table.add_column("distinct", justify="right")
    table.add_column("role", overflow="fold", max_width=22)
    table.add_column("note", overflow="fold")
    for c in shown[:COLUMN_ROWS]:
        missing = f"{c.missing:,} ({c.missing_share:.0%})" if c.missing else "0"
        table.add_row(
            c.name, c.kind, missing, f"{c.distinct:,}", c.role, Text(_note(c), style="yellow")
        )
    console.print(table)
    rest = len(found.column_profiles) - min(len(shown), COLUMN_ROWS)
    if rest > 0:
        console.print(
            Text(
                f"... and {rest} more column{'s' if rest > 1 else ''} without issues "
                "(all in the HTML report)",
                style="dim",
            )
        )
    d = found.duplicates
    dup = f"duplicate rows: {d.duplicate_rows:,}"
    if d.ignored_columns and d.exact_rows != d.duplicate_rows:
        dup += f" ignoring {', '.join(d.ignored_columns)} ({d.exact_rows:,} exact)"
    if d.examples:
        dup += f", e.g. rows {', '.join(str(r) for r in d.examples[0][:4])}"
    if d.conflicting_groups:
        dup += (
            f" · same features, different target: {d.conflicting_groups:,} groups "
            f"({d.conflicting_rows:,} rows)"
        )
    console.print(Text(dup))


def _target(console: Console, found: Inspection) -> None:
    t = found.target_profile
    _rule(console, f"Target  {t.name}")
    if t.task == "classification":
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("class", justify="right")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        table.add_column("")
        for c in t.classes[:12]:
            table.add_row(num(c.label), f"{c.count:,}", f"{c.share:.1%}", "█" * round(40 * c.share))
        console.print(table)
        if len(t.classes) > 12:
            console.print(Text(f"... {len(t.classes) - 12} more classes", style="dim"))
        console.print(f"largest class / smallest: {num(t.imbalance)}")
    else:
        console.print(
            f"mean {num(t.mean)} · sd {num(t.std)} · min {num(t.minimum)} · q1 {num(t.q1)} · "
            f"median {num(t.median)} · q3 {num(t.q3)} · max {num(t.maximum)}"
        )
        robust = "n/a" if t.robust_outliers is None else f"{t.robust_outliers:,}"
        console.print(
            f"skew {score_text(t.skew, 2)} · excess kurtosis {score_text(t.excess_kurtosis, 2)}"
            f" · beyond 1.5 IQR: {t.low_outliers:,} low, {t.high_outliers:,} high"
            f" · beyond {OUTLIER_Z:g} robust sd: {robust}"
            + (f" · zeros {t.zero_share:.0%}" if t.zero_share else "")
        )
    if t.missing:
        console.print(
            Text(f"{t.missing:,} rows without a target value are left out", style="yellow")
        )


def _power(console: Console, found: Inspection) -> None:
    metric = found.power_label
    regression = found.power_metric == "r2"
    _rule(console, "Leakage: each column alone (decision tree, out of fold)")
    if not found.power:
        console.print(Text("not checked (too few rows)", style="dim"))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("column", overflow="fold", max_width=30)
    table.add_column(metric, justify="right")
    if not regression:
        table.add_column("bal. acc.", justify="right")
    table.add_column("", min_width=20)
    table.add_column("")
    for p in found.power[:POWER_ROWS]:
        share = max(0.0, min(1.0, p.score if regression else (p.score - 0.5) * 2))
        bar = Text("█" * round(20 * share), style="red" if p.leak else "cyan")
        cells: list[Any] = [p.column, score_text(p.score)]
        if not regression:
            cells.append(score_text(p.balanced_accuracy))
        cells += [bar, Text("suspected leak", style="bold red") if p.leak else ""]
        table.add_row(*cells)
    console.print(table)
    if len(found.power) > POWER_ROWS:
        console.print(Text(f"... {len(found.power) - POWER_ROWS} weaker columns", style="dim"))
    threshold = leak_rule(regression)
    score = found.model_score
    if score is not None:
        without = f" without {', '.join(score.left_out)}" if score.left_out else ""
        auc = f", AUC {score_text(score.auc)}" if score.auc is not None else ""
        console.print(Text(f"model {score.model}{without}: {score.with_interval()}{auc}"))
    leaks = found.leaks
    if leaks:
        console.print(Text(f"suspected leaks ({threshold}): {', '.join(leaks)}", style="bold red"))
    else:
        console.print(
            Text(f"no suspected leak (a column alone would need {threshold})", style="green")
        )


def _values(s: Suspect, found: Inspection) -> str:
    strong = [p.column for p in found.power if not p.leak][:VALUE_COLUMNS]
    ids = [c for c in found.id_like if c in s.values]
    shown = []
    for key in [*ids, *strong]:
        if key in s.values:
            value = s.values[key]
            shown.append(f"{key}={format_value(value)}")
    return ", ".join(shown)


def _noisy(console: Console, found: Inspection) -> None:
    noisy = found.noisy
    _rule(console, "Noisy labels: rows the model doubts most")
    if noisy is None:
        console.print(Text("not checked", style="dim"))
        return
    console.print(f"{noisy.meeting()}; the top {len(noisy.top)}:")
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("row", justify="right", no_wrap=True)
    table.add_column("label", justify="right", no_wrap=True)
    table.add_column("predicted", justify="right", no_wrap=True)
    header, score_of = found.suspect_score()
    table.add_column(header, justify="right", no_wrap=True)
    table.add_column("values", overflow="ellipsis", no_wrap=True, max_width=VALUES_WIDTH)
    for s in noisy.top:
        table.add_row(
            str(s.row),
            num(s.label),
            num(s.prediction),
            score_of(s),
            _values(s, found),
        )
    console.print(table)
    if found.relabel_command:
        # Never wrapped: the command must copy whole.
        console.print(Text("relabel them by hand (features only):", style="dim"))
        console.print(Text(f"  {found.relabel_command}"), soft_wrap=True)


def _checklist(console: Console, found: Inspection) -> None:
    _rule(console, "What to watch")
    if not found.checklist:
        console.print(Text("nothing: no check found evidence of a problem", style="green"))
        return
    for n, item in enumerate(found.checklist, 1):
        line = Text(f"{n:>2}. ")
        line.append(item.title, style="bold yellow")
        console.print(line)
        console.print(Padding(Text(f"seen: {item.evidence}"), (0, 0, 0, 4), expand=False))
        console.print(Padding(Text(f"→ {item.advice}", style="dim"), (0, 0, 0, 4), expand=False))
