"""The launcher of a multirun, sized to its jobs' caps and checked before any run is opened.

Hydra's launchers (``hydra/launcher=joblib|basic|ray|submitit_local|submitit_slurm``) know
nothing of caps: joblib would start more jobs than the cores and memory hold, Ray would ask one
core per task, submitit's time limit would cut a job before its wall-time cap.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from shorts.errors import UsageError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from shorts.multirun.job import PlannedJob

# Launchers whose jobs may land on another machine: the launching process cannot judge that
# machine's free memory and cores, so the job's own checks (on the node) do.
ELSEWHERE = ("hydra_ray_launcher", "SlurmLauncher")
RAY_CONNECT_SECONDS = 5.0  # how long a Ray cluster's address has to accept a connection


def fit_launcher(config: DictConfig, jobs: list[PlannedJob]) -> None:
    """Size the launcher to the jobs' caps, unless the command line chose the value.

    joblib: as many jobs at once as the cores and the free memory fit (each job holds its cores
    and its memory cap). Ray: each task asks for its job's cores, and no ``object_store_memory``
    is passed to ``ray.init`` (the launcher's default makes connecting to a running cluster fail,
    hydra#2893). submitit: cores per task, and a time limit that the wall-time cap fits in.
    """
    import psutil
    from omegaconf import open_dict, read_write

    if not jobs:
        return
    chosen = {str(o).lstrip("+~").split("=", 1)[0] for o in config.hydra.overrides.hydra}
    launcher = config.hydra.launcher
    name = launcher_name(str(launcher.get("_target_", "")))
    cpus = max(j.cpus for j in jobs)
    memory = max(j.memory for j in jobs)
    wall = max(j.wall_time for j in jobs)
    with read_write(launcher), open_dict(launcher):
        if name == "joblib" and "hydra.launcher.n_jobs" not in chosen:
            cores = len(os.sched_getaffinity(0))
            free = psutil.virtual_memory().available
            launcher.n_jobs = max(1, min(len(jobs), cores // cpus, free // memory))
        elif name == "ray":
            if "hydra.launcher.ray.init.object_store_memory" not in chosen:
                launcher.ray.init.object_store_memory = None
            if "hydra.launcher.ray.remote.num_cpus" not in chosen:
                launcher.ray.remote.num_cpus = cpus
        elif name.startswith("submitit"):
            if "hydra.launcher.cpus_per_task" not in chosen:
                launcher.cpus_per_task = cpus
            if "hydra.launcher.timeout_min" not in chosen:
                needed = math.ceil(wall / 60) + 5  # start-up and recording around the cap
                launcher.timeout_min = max(int(launcher.get("timeout_min") or 0), needed)


def check_ray_address(config: DictConfig) -> None:
    """Refuse a Ray cluster address where nothing answers, before any run is opened.

    Ray's driver retries such an address for ever (a warning every half minute), so a typo in
    the address, a cluster not started yet, or one stopped without ``ray stop`` (whose address
    Ray still finds in its temp folder) would hang ``shorts run``. Only whether something
    listens is checked: Ray itself says whether it is a Ray cluster that lets this driver in.
    """
    address, source = _ray_address(config)
    if address in ("", "local"):
        return  # Ray starts a local instance
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return  # Ray says what is wrong with it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_SECONDS):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        fix = f"start one there (ray start --head --port={port}) or correct the address"
        if source.startswith("recorded"):
            fix = "start one there, delete that file, or name one (hydra.launcher.ray.init.address)"
        raise UsageError(f"no Ray cluster answers at {address} ({source}): {why}; {fix}.") from None


def _ray_address(config: DictConfig) -> tuple[str, str]:
    """The cluster ``ray.init`` will join, as Ray finds it, and where it came from.

    The launcher's ``ray.init.address``, else ``$RAY_ADDRESS``, else (no address, or ``auto``)
    the address ``ray start`` recorded in Ray's temp folder; ``""`` if none: a local instance.
    """
    from omegaconf import OmegaConf

    init = "hydra.launcher.ray.init"
    chosen = str(OmegaConf.select(config, f"{init}.address", default=None) or "")
    if chosen and chosen != "auto":
        return chosen, f"{init}.address"
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"], "$RAY_ADDRESS"
    temp_dir = OmegaConf.select(config, f"{init}._temp_dir", default=None) or os.path.join(
        os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp", "ray"
    )
    recorded = Path(str(temp_dir)) / "ray_current_cluster"
    try:
        return recorded.read_text().strip(), f"recorded by ray start in {recorded}"
    except OSError:
        return "", ""


def launcher_name(target: str) -> str:
    """A short name for the launcher's class, as users choose it (``hydra/launcher=NAME``)."""
    for needle, name in (
        ("BasicLauncher", "basic"),
        ("JoblibLauncher", "joblib"),
        ("RayAWSLauncher", "ray_aws"),
        ("RayLauncher", "ray"),
        ("submitit_launcher.LocalLauncher", "submitit_local"),
        ("SlurmLauncher", "submitit_slurm"),
    ):
        if needle in target:
            return name
    return target.rsplit(".", 1)[-1] or "unknown"
