"""The warning before a run whose memory cap leaves too little headroom over its last peak.

"Always allocate more memory than you think you need": a short whose last run (same data set and
configuration, ``shorts.headroom.last_peak``) peaked at 212 MiB, started under a 256 MiB cap, is
one unlucky allocation away from a memout. The warning names that peak, the headroom factor and a
ready override; the run still goes ahead. After a memout the need is unknown beyond "more than
its cap", so the figure is called what it is: a guess, at least that much.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from shorts.caps import format_size
from shorts.headroom.last_peak import LastPeak, last_peak, run_configuration
from shorts.outcome import Outcome

__all__ = ["headroom_warning", "warn_before_start"]


def headroom_warning(
    memory: int, headroom: float, short: str, dataset: str, last: LastPeak
) -> str | None:
    """A line if ``memory`` (bytes) is under ``headroom`` x the need ``last`` showed, else None."""
    need = last.need_mib
    if memory >= need * headroom * 2**20:
        return None
    wanted = math.ceil(need * headroom)
    cap = format_size(memory)
    on = f"{short} on {dataset}" if dataset else short
    when = last.started.strftime("%Y-%m-%d %H:%M")
    if last.killed_at_cap:
        cap_then = (
            f"its {format_size(last.cap_mib * 2**20)} cap"
            if math.isfinite(last.cap_mib)
            else "its cap"
        )
        return (
            f"shorts: warning: caps.memory ({cap}) is less than {headroom:g}x what {on} needs: "
            f"its last run ({last.run_id}, {when}) was killed at {cap_then}, so it needs more "
            f"than {format_size(need * 2**20)} by an unknown amount; use at least "
            f"caps.memory={wanted}MiB ({headroom:g} x {format_size(need * 2**20)}, a guess)"
        )
    ended = "" if last.outcome == Outcome.COMPLETED else f", {last.outcome}, so it may need more"
    return (
        f"shorts: warning: caps.memory ({cap}) is less than {headroom:g}x the last peak of "
        f"{on}: {format_size(last.peak_mib * 2**20)} in run {last.run_id} ({when}{ended}); "
        f"use caps.memory={wanted}MiB"
    )


def warn_before_start(
    tracking_uri: str,
    short: str,
    dataset: str,
    memory: int,
    headroom: float,
    console: Console,
    config: Mapping[str, Any] | None = None,
    configuration: str | None = None,
) -> str | None:
    """Print the warning for a run about to start, if its cap calls for one; returns the line.

    One read of the store (``last_peak``); a store that cannot be read gives no warning.

    Args:
        config: the run's resolved config (``PreparedRun.config``): the last peak is then that of
            the newest run of the same configuration (``run_configuration``), seeds and caps
            aside. None compares with the newest run of the short on the data set, whatever its
            configuration.
        configuration: ``run_configuration`` of the config, when the caller has it already.
    """
    if configuration is None and config is not None:
        try:
            configuration = run_configuration(config)
        except Exception:  # never a reason not to run: no warning instead
            return None
    last = last_peak(tracking_uri, short, dataset, configuration=configuration)
    line = headroom_warning(memory, headroom, short, dataset, last) if last else None
    if line is not None:
        console.print(Text(line, style="yellow"), soft_wrap=True)
    return line
