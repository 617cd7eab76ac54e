"""``shorts caps suggest``: memory and wall-time caps for a short, from its runs on record.

The short's config is composed first: its ``caps.headroom`` is the default factor, so the proposal
and the runner's warning use the same one. One proposal per data set and configuration
(``shorts.headroom.advice``); the configuration ``shorts run`` would run now comes first. A short
with no runs on record is not a mistake: it says so and exits 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shorts.arguments import OneLineParser
from shorts.caps import KINDS, Caps, format_duration, parse_caps, parse_headroom
from shorts.errors import UsageError
from shorts.project import Project

if TYPE_CHECKING:
    from shorts.headroom.advice import CapAdvice, Spread

SUBCOMMANDS = ("suggest",)
SUGGEST_USAGE = (
    "usage: shorts caps suggest +experiment=NAME [dataset=NAME] [--headroom 1.5] "
    "[--tracking-uri URI]"
)
CAPS_HELP = f"""\
usage: shorts caps suggest ...

Caps from the runs on record.

subcommands:
  suggest   memory and wall-time caps for a short, per data set, from its runs on record:
            {SUGGEST_USAGE.removeprefix("usage: ")}
"""
KEYS = ("experiment", "dataset")


def caps_command(project: Project, args: list[str]) -> int:
    """Run ``shorts caps ARGS`` in ``project``; returns the exit status.

    Raises:
        UsageError: no or an unknown subcommand, a malformed argument, an unknown short, a bad
            headroom or an unreachable store (exit 2).
    """
    if args[:1] in (["-h"], ["--help"]):
        print(CAPS_HELP, end="")
        return 0
    if not args:
        raise UsageError(f"choose a subcommand: {SUGGEST_USAGE.removeprefix('usage: ')}")
    if args[0] not in SUBCOMMANDS:
        raise UsageError(
            f"unknown caps subcommand {args[0]!r}; use one of: {', '.join(SUBCOMMANDS)} "
            f"({SUGGEST_USAGE})"
        )
    return suggest(project, args[1:])


def suggest(project: Project, args: list[str]) -> int:
    """``shorts caps suggest``: print the evidence and proposed caps for each data set."""
    options = _parser().parse_or_help(args)
    if options is None:
        return 0
    chosen = _key_values(options.overrides)
    short = project.check_short(chosen.get("experiment"))
    dataset = chosen.get("dataset")
    given = None if options.headroom is None else parse_headroom(options.headroom, "--headroom")
    caps, configured_uri, configured = _configured(project, short, dataset)
    headroom = caps.headroom if given is None else given

    from shorts.tracking.store import check_reachable, redact_uri, resolve_tracking_uri, sqlite_path

    uri = resolve_tracking_uri(options.tracking_uri or configured_uri, project)
    check_reachable(uri)
    shown_uri = redact_uri(uri)
    console = Console(highlight=False)
    store = sqlite_path(uri)
    if store is not None and not store.is_file():
        console.print(
            Text(
                f"no runs of {short} on record: there is no store at {store} yet; run it "
                f"(shorts run +experiment={short}) and ask again."
            ),
            soft_wrap=True,
        )
        return 0

    from shorts.headroom.advice import advise_from_store
    from shorts.tracking.pending import settle

    settle(project)  # pending records first; runs of dead supervisors count as lost
    advice, on_record = advise_from_store(uri, short, dataset, headroom)
    if not advice:
        nothing = _nothing_on_record(short, dataset, shown_uri, on_record)
        console.print(Text(nothing), soft_wrap=True)
        return 0
    total = sum(a.runs for a in advice)
    console.print(
        Text(
            f"caps for {short} from {total} run{'s' if total != 1 else ''} on record in "
            f"{shown_uri} (headroom {headroom:g})",
            style="bold",
        ),
        soft_wrap=True,
    )
    # The configuration the short runs in now first (stable: per data set, as advised).
    for item in sorted(advice, key=lambda a: a.configuration != configured):
        _print_advice(console, item, caps, item.configuration == configured)
    sys.stdout.flush()
    return 0


def _parser() -> OneLineParser:
    parser = OneLineParser(
        SUGGEST_USAGE,
        prog="shorts caps suggest",
        description="Memory and wall-time caps for a short, proposed per data set from its runs "
        "on record (all time): how many runs, their outcomes, peak memory and wall time "
        "(p50/p90/max), the caps they ran under, the proposal with its basis, and a command "
        "line that runs the short under it.",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="+experiment=NAME (required) and dataset=NAME (optional: one data set only)",
    )
    parser.add_argument(
        "--headroom",
        help="proposed cap = what the runs needed x headroom, 1 to 100 "
        "(default: the short's caps.headroom, 1.5 unless configured)",
    )
    parser.add_argument("--tracking-uri", help="MLflow store to read (default: the project's)")
    return parser


def _key_values(arguments: list[str]) -> dict[str, str]:
    """``+experiment=NAME dataset=NAME`` as a dict; anything else is a one-line mistake."""
    found: dict[str, str] = {}
    for argument in arguments:
        key, equals, value = argument.partition("=")
        key = key.lstrip("+")
        if not equals or key not in KEYS or not value:
            raise UsageError(
                f"unexpected argument {argument!r}; caps suggest takes +experiment=NAME and "
                f"dataset=NAME ({SUGGEST_USAGE})"
            )
        found[key] = value
    return found


def _configured(
    project: Project, short: str, dataset: str | None
) -> tuple[Caps, str | None, str | None]:
    """The short's caps and tracking URI as its composed config declares them, and the
    configuration ``shorts run +experiment=SHORT [dataset=DATASET]`` would run (None when that
    cannot be told: the data set does not compose, or the config does not resolve here)."""
    from shorts.config import compose_config

    cfg = None
    if dataset is not None:
        try:
            cfg = compose_config(project, [f"+experiment={short}", f"dataset={dataset}"])
        except UsageError:
            cfg = None  # a data set with no config: still advice for its runs on record
    with_dataset = cfg is not None or dataset is None
    if cfg is None:
        try:
            cfg = compose_config(project, [f"+experiment={short}"])
        except UsageError as exc:
            raise UsageError(f"configs/experiment/{short}.yaml: {exc}") from None
    uri = cfg.get("tracking", {}).get("uri")
    configuration = _configuration(cfg) if with_dataset else None
    return parse_caps(cfg.caps), str(uri) if uri else None, configuration


def _configuration(cfg: Any) -> str | None:
    """The configuration a run of ``cfg`` would have (``run_configuration``), or None."""
    from omegaconf import OmegaConf

    from shorts.headroom.last_peak import run_configuration

    try:
        config = OmegaConf.to_container(cfg, resolve=True)
        return run_configuration(cast("dict[str, Any]", config))
    except Exception:  # an interpolation only a run resolves: nothing is marked as configured
        return None


def _nothing_on_record(short: str, dataset: str | None, shown_uri: str, others: list[str]) -> str:
    """Why there is no advice, and what would give some (``others``: data sets with runs)."""
    ask = f"run it (shorts run +experiment={short}) and ask again"
    if dataset is None:
        return f"no runs of {short} on record in {shown_uri}; {ask}."
    where = f"; it has runs on: {', '.join(others)}" if others else f"; {ask}"
    return f"no runs of {short} on data set {dataset!r} on record in {shown_uri}{where}."


def _print_advice(console: Console, item: CapAdvice, caps: Caps, configured: bool) -> None:
    """One data set and configuration: a table of the evidence and proposal, the bases, the
    command line. The heading names what sets the configuration apart from the short's others
    on the data set, and whether it is the one the short runs in now (``configured``)."""
    outcomes = ", ".join(f"{n} {outcome}" for outcome, n in item.outcomes.items())
    which = [item.configuration_note] if item.configuration_note else []
    if configured and item.configuration_note:
        which.append("as configured now")
    label = f" ({'; '.join(which)})" if which else ""
    console.print()
    console.print(
        Text(
            f"{item.dataset or '(no data set)'}{label}: {item.runs} "
            f"run{'s' if item.runs != 1 else ''} ({outcomes})",
            style="bold",
        ),
        soft_wrap=True,
    )
    # Memory in whole MiB throughout (as the proposed override has it), so the table fits 80
    # columns; wall times as durations.
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="bold dim")
    for column in ("", "p50", "p90", "max", "ran under", "configured", "proposed"):
        table.add_column(column, justify="left" if column in ("", "ran under") else "right")
    table.add_row(
        "peak memory (MiB)",
        *_spread(item.peak_memory_mib, _mib),
        ", ".join(_mib(c) for c in item.memory_caps_mib) or "-",
        _mib(caps.memory / 2**20),
        Text(str(item.memory_mib) if item.memory_mib else "-", style="bold"),
    )
    table.add_row(
        "wall time",
        *_spread(item.wall_seconds, format_duration),
        ", ".join(format_duration(c) for c in item.wall_caps_seconds) or "-",
        format_duration(caps.wall_time),
        Text(f"{item.wall_time_seconds}s" if item.wall_time_seconds else "-", style="bold"),
    )
    for need in item.others:  # the optional caps (caps.cpu_time), read as wall time is
        kind = next(k for k in KINDS if k.key == need.key)
        now = caps.get(need.key)
        table.add_row(
            f"{need.noun.replace('-', ' ')}",
            *_spread(item.others_used.get(need.key), kind.display),
            need.shown["caps"] or "-",
            kind.display(now.limit) if now else "-",
            Text(need.override.partition("=")[2] or "-", style="bold"),
        )
    console.print(table)
    notes = Table.grid(padding=(0, 2, 0, 0))
    notes.add_column(style="bold", no_wrap=True)
    notes.add_column()
    for label, basis, guess in (
        ("memory", item.memory_basis, item.memory_guess),
        ("wall time", item.wall_basis, item.wall_guess),
        *((n.noun.replace("-", " "), n.basis, n.guess) for n in item.others),
    ):
        notes.add_row(label, Text(basis, style="yellow" if guess else ""))
    console.print(notes)
    if item.overrides:
        # Not wrapped by rich: the command line stays one line to copy.
        console.print(Text(f"{'run':<9}  ", style="bold") + Text(item.command), soft_wrap=True)


def _mib(mib: float) -> str:
    return f"{mib:,.0f}"


def _spread(spread: Spread | None, show: Callable[[float], str]) -> list[str]:
    """p50, p90 and max as the table shows them; ``-`` when no run recorded the figure."""
    return [show(v) for v in (spread.p50, spread.p90, spread.high)] if spread else ["-"] * 3
