"""``shorts list``: the shorts a project declares, with hypothesis and effective caps."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from shorts.caps import format_duration, format_size, parse_caps
from shorts.errors import UsageError, one_line
from shorts.outcome import EXIT_USAGE
from shorts.project import Project


@dataclass(frozen=True)
class CatalogEntry:
    """One short as its composed config declares it; ``error`` says why it does not compose."""

    name: str
    hypothesis: str
    techniques: tuple[str, ...]
    wall_time: float
    memory: int
    cpus: int
    error: str = ""


def catalog(project: Project) -> list[CatalogEntry]:
    """Compose every experiment config (``config.compose``: no runs, no output folders).

    A config that does not compose (a missing option, a YAML mistake, a malformed cap) is listed
    with its error instead of hiding the others behind a traceback.
    """
    from omegaconf.errors import OmegaConfBaseException

    from shorts.config import compose, composing

    entries = []
    with composing(project):
        for name in project.experiment_names():
            try:
                cfg = compose(project, [f"+experiment={name}"]).cfg
                caps = parse_caps(cfg.caps)
                entry = CatalogEntry(
                    name=name,
                    hypothesis=str(cfg.short.get("hypothesis") or ""),
                    techniques=tuple(str(t) for t in cfg.short.get("techniques") or ()),
                    wall_time=caps.wall_time,
                    memory=caps.memory,
                    cpus=caps.cpus,
                )
            except (UsageError, OmegaConfBaseException, ValueError) as exc:
                entry = CatalogEntry(name, "", (), 0.0, 0, 0, error=one_line(str(exc)))
            entries.append(entry)
    return entries


def print_catalog(project: Project) -> int:
    """A table of the catalog; returns the exit status (2 when a short's config is broken).

    On the way it delivers the records of dead supervisors (a directory listing when none died).
    """
    from shorts.tracking.pending import settle

    settle(project)
    console = Console()
    table = Table(title=f"shorts in {project.root}", title_justify="left", expand=False)
    table.add_column("short", style="bold", no_wrap=True)
    table.add_column("hypothesis")
    table.add_column("techniques", style="dim")
    table.add_column("caps", no_wrap=True)
    entries = catalog(project)
    for entry in entries:
        if entry.error:
            table.add_row(entry.name, "[red]config error (below)[/red]", "", "")
            continue
        caps = (
            f"{format_duration(entry.wall_time)} · {format_size(entry.memory)} · {entry.cpus} cpu"
        )
        table.add_row(entry.name, entry.hypothesis, ", ".join(entry.techniques), caps)
    console.print(table)
    console.print("run one with: shorts run +experiment=NAME", style="dim")
    broken = [e for e in entries if e.error]
    for entry in broken:
        print(
            f"shorts: error: configs/experiment/{entry.name}.yaml: {entry.error}", file=sys.stderr
        )
    return EXIT_USAGE if broken else 0
