"""``shorts list``: the shorts a project declares, with hypothesis and effective caps."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from shorts.caps import format_duration, format_size, parse_caps
from shorts.project import Project


@dataclass(frozen=True)
class CatalogEntry:
    """One short as its composed config declares it."""

    name: str
    hypothesis: str
    techniques: tuple[str, ...]
    wall_time: float
    memory: int
    cpus: int


def catalog(project: Project) -> list[CatalogEntry]:
    """Compose every experiment config (Compose API: no runs, no output folders)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    entries = []
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(project.configs), version_base="1.3"):
        for name in project.experiment_names():
            cfg = compose("shorts", overrides=[f"+experiment={name}"])
            caps = parse_caps(cfg.caps)
            entries.append(
                CatalogEntry(
                    name=name,
                    hypothesis=str(cfg.short.get("hypothesis") or ""),
                    techniques=tuple(cfg.short.get("techniques") or ()),
                    wall_time=caps.wall_time,
                    memory=caps.memory,
                    cpus=caps.cpus,
                )
            )
    GlobalHydra.instance().clear()
    return entries


def print_catalog(project: Project, console: Console | None = None) -> None:
    """A table of the catalog; run one with ``shorts run +experiment=NAME``."""
    console = console or Console()
    table = Table(title=f"shorts in {project.root}", title_justify="left", expand=False)
    table.add_column("short", style="bold", no_wrap=True)
    table.add_column("hypothesis")
    table.add_column("techniques", style="dim")
    table.add_column("caps", no_wrap=True)
    for entry in catalog(project):
        caps = (
            f"{format_duration(entry.wall_time)} · {format_size(entry.memory)} · {entry.cpus} cpu"
        )
        table.add_row(entry.name, entry.hypothesis, ", ".join(entry.techniques), caps)
    console.print(table)
    console.print("run one with: shorts run +experiment=NAME", style="dim")
