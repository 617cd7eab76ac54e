"""Errors that are the user's to fix: shown as one line, exit status 2, nothing started."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in the command line, config or environment that the user can fix.

    The CLI prints ``str(error)`` as one line and exits 2; no run is created.
    """


def one_line(message: str) -> str:
    """Hydra's multi-line messages folded into one line (without its config search path)."""
    message = message.split("Config search path:")[0]
    return " ".join(line.strip() for line in message.splitlines() if line.strip())
