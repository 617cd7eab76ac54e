"""Option parsing for the subcommands that are not Hydra's: mistakes are one line, exit 2."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from shorts.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse whose mistakes are one ``UsageError`` line instead of usage text and an exit."""

    def __init__(self, usage_line: str, **kwargs: Any) -> None:
        super().__init__(usage=usage_line.removeprefix("usage: "), **kwargs)
        self.usage_line = usage_line

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; {self.usage_line}")

    def parse_or_help(self, args: list[str]) -> argparse.Namespace | None:
        """The parsed options, or None once ``--help`` has printed (the caller returns 0)."""
        try:
            # Intermixed: positional Hydra overrides may come before or after the options.
            return self.parse_intermixed_args(args)
        except SystemExit as exc:
            if exc.code == 0:
                return None
            raise UsageError(self.usage_line) from None
