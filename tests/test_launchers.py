"""``shorts run -m`` scaled out: on a real Ray cluster and through submitit, caps kept per job.

The Ray tests start a real cluster on loopback (``ray start --head``) and stop it with
``ray stop``; submitit's local executor runs the same jobs as Slurm would, as local processes.
Each job is supervised where it runs, so its caps are enforced there, and it records into the
project's sqlite store (a shared filesystem, as on one machine). Marked ``launchers``: CI runs
them after ``pip install -e '.[ray,slurm]'``; without the extras they skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ShortsProject, live
from test_multirun import add_nap_short, split

pytestmark = pytest.mark.launchers

HAS_RAY = all(
    importlib.util.find_spec(m) is not None for m in ("ray", "hydra_plugins.hydra_ray_launcher")
)
HAS_SUBMITIT = all(
    importlib.util.find_spec(m) is not None
    for m in ("submitit", "hydra_plugins.hydra_submitit_launcher")
)
needs_ray = pytest.mark.skipif(not HAS_RAY, reason="needs the ray extra: pip install -e '.[ray]'")
needs_submitit = pytest.mark.skipif(
    not HAS_SUBMITIT, reason="needs the slurm extra: pip install -e '.[slurm]'"
)
# Ray binds to the machine's first address even when told 127.0.0.1, unless it is told it runs
# as a single-machine instance: this keeps the cluster and the driver on loopback.
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real two-CPU Ray cluster on loopback for this module's tests, stopped at the end."""
    if not HAS_RAY:
        pytest.skip("needs the ray extra: pip install -e '.[ray]'")
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SHORTS_ROOT", "MLFLOW_TRACKING_URI")}
    env.update(LOOPBACK_ONLY)
    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    with log.open("w") as out:
        started = subprocess.run(
            [
                ray,
                "start",
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={port}",
                "--num-cpus=2",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=180,
        )
    try:
        assert started.returncode == 0, log.read_text()[-3000:]
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)


@needs_ray
def test_ray_multirun_lands_four_children_under_one_parent(
    project: ShortsProject, ray_address: str
) -> None:
    done = project.run(
        "run",
        "-m",
        "+experiment=baseline_regression",
        "model=ridge,hist_gbm",
        "dataset=diabetes,friedman1",
        "hydra/launcher=ray",
        f"+hydra.launcher.ray.init.address={ray_address}",
        timeout=300,
        **LOOPBACK_ONLY,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Connecting to existing Ray cluster" in done.stdout + done.stderr
    assert "(_run_job pid=" in done.stdout + done.stderr, "the jobs ran as Ray tasks"
    parent, children = split(project, "baseline_regression")
    assert len(children) == 4
    pairs = {(c.data.tags["shorts.model"], c.data.tags["shorts.dataset"]) for c in children}
    assert pairs == {(m, d) for m in ("ridge", "hist_gbm") for d in ("diabetes", "friedman1")}
    assert {c.data.tags["shorts.outcome"] for c in children} == {"completed"}
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["shorts.launcher"] == "ray"
    assert parent.data.tags["shorts.outcomes"] == "completed:4"


@needs_ray
def test_memory_cap_is_enforced_on_the_ray_worker(project: ShortsProject, ray_address: str) -> None:
    project.add_short("fault_grow", "grow_memory")

    done = project.run(
        "run",
        "-m",
        "+experiment=fault_grow",
        "caps.memory=300MiB",
        "hydra/launcher=ray",
        f"+hydra.launcher.ray.init.address={ray_address}",
        timeout=300,
        **LOOPBACK_ONLY,
    )

    assert done.returncode == 1, done.stderr[-3000:]
    parent, children = split(project, "fault_grow")
    assert len(children) == 1
    child = children[0]
    assert child.data.tags["shorts.outcome"] == "memout"
    assert child.info.status == "FAILED"
    assert "300.0 MiB cap" in child.data.tags["shorts.reason"]
    assert parent.info.status == "FAILED"
    assert parent.data.tags["shorts.outcomes"] == "memout:1"
    assert live(project.recorded_pids()) == []


@needs_submitit
def test_submitit_local_multirun_keeps_each_jobs_wall_time_cap(project: ShortsProject) -> None:
    add_nap_short(project)

    done = project.run(
        "run",
        "-m",
        "+experiment=mr_nap",
        "+nap=0,5",
        "caps.wall_time=3s,10s",
        "hydra/launcher=submitit_local",
        timeout=300,
    )

    assert done.returncode == 1, done.stderr[-3000:]
    parent, children = split(project, "mr_nap")
    assert len(children) == 4
    outcomes = {
        (c.data.params["nap"], c.data.params["caps.wall_time"]): c.data.tags["shorts.outcome"]
        for c in children
    }
    assert outcomes == {
        ("0", "3s"): "completed",
        ("0", "10s"): "completed",
        ("5", "3s"): "timeout",
        ("5", "10s"): "completed",
    }
    assert parent.info.status == "FAILED"
    assert parent.data.tags["shorts.launcher"] == "submitit_local"
    assert parent.data.tags["shorts.outcomes"] == "completed:3, timeout:1"
    assert live(project.recorded_pids()) == []
