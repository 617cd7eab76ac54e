"""Where a shorts project lives: its root (the folder holding ``configs/shorts.yaml``, found from
the working directory upwards), configs, experiments and default store, so runs land in the same
store wherever the command was started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shorts.errors import UsageError

PRIMARY_CONFIG = "shorts"
ROOT_ENV = "SHORTS_ROOT"


@dataclass(frozen=True)
class Project:
    """Paths of one shorts project, all absolute."""

    root: Path

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def experiment_configs(self) -> Path:
        return self.configs / "experiment"

    @property
    def state(self) -> Path:
        """Local bookkeeping: run outputs and pending records (git-ignored)."""
        return self.root / ".shorts"

    @property
    def default_tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def default_artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    def experiment_names(self) -> list[str]:
        """Names of the shorts declared under ``configs/experiment``."""
        return sorted(p.stem for p in self.experiment_configs.glob("*.yaml"))

    def check_short(self, name: str | None) -> str:
        """``name`` if it is a short of this project, else a ``UsageError`` listing the shorts."""
        listed = ", ".join(self.experiment_names()) or "(none)"
        if not name:
            raise UsageError(f"choose a short with +experiment=NAME; known shorts: {listed}")
        if name not in self.experiment_names():
            raise UsageError(
                f"unknown short {name!r}; known shorts: {listed} (configs/experiment/*.yaml)"
            )
        return name

    def check_overrides(self, overrides: list[str]) -> None:
        """An unknown short in ``+experiment=...`` gets one line listing the known ones, before
        Hydra starts (``shorts run``, ``shorts sweep``)."""
        informational = {"--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c"}
        if any(arg.split("=")[0] in informational for arg in overrides):
            return
        chosen = [
            arg.split("=", 1)[1]
            for arg in overrides
            if arg.lstrip("+~").split("=", 1)[0] == "experiment" and "=" in arg
        ]
        if not chosen:
            self.check_short(None)
        for value in chosen:
            for name in value.split(","):
                if name and not any(c in name for c in "*?()[]"):  # a sweep's glob or range
                    self.check_short(name)


def find_project(start: Path | None = None) -> Project:
    """The project containing ``start`` (default: cwd), or ``$SHORTS_ROOT`` when set."""
    env_root = os.environ.get(ROOT_ENV)
    if env_root:
        root = Path(env_root).expanduser().resolve()
        if not (root / "configs" / f"{PRIMARY_CONFIG}.yaml").is_file():
            raise UsageError(
                f"{ROOT_ENV}={env_root} has no configs/{PRIMARY_CONFIG}.yaml; "
                f"point it at a shorts project root."
            )
        return Project(root)
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "configs" / f"{PRIMARY_CONFIG}.yaml").is_file():
            return Project(candidate)
    raise UsageError(
        f"no shorts project here: no configs/{PRIMARY_CONFIG}.yaml in {here} or its parents; "
        f"run shorts inside a project or set {ROOT_ENV}."
    )
