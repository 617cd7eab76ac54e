"""``shorts run -m`` scaled out: on a real Ray cluster and through submitit, caps kept per job.

The Ray tests start a real cluster on loopback (``ray start --head --block`` in a child process,
its own temp folder and ports) and stop it by signalling that process and killing whatever it
started, by pid; never ``ray stop``, which stops every Ray cluster on the machine (a user's,
another test session's). The cluster knows neither the project nor its store (no
``SHORTS_ROOT``, ``MLFLOW_TRACKING_URI``, ``SHORTS_TEST_PIDS``), as on a real cluster: what a job
needs comes through shorts (``MLFLOW_TRACKING_URI``) or Ray's ``runtime_env``. submitit's local
executor runs the same jobs as Slurm would, as local processes. Each job is supervised where it
runs, so its caps are enforced there.

Marked ``launchers``: CI runs them after ``pip install -e '.[ray,slurm]'`` with
``SHORTS_REQUIRE_LAUNCHERS=1``, which turns a missing extra into a failure; elsewhere, without
the extras, they skip.
"""

from __future__ import annotations

import ctypes
import importlib.util
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ShortsProject, free_port, live, wait_until
from test_multirun import add_nap_short, split

pytestmark = pytest.mark.launchers

HAS_RAY = all(
    importlib.util.find_spec(m) is not None for m in ("ray", "hydra_plugins.hydra_ray_launcher")
)
HAS_SUBMITIT = all(
    importlib.util.find_spec(m) is not None
    for m in ("submitit", "hydra_plugins.hydra_submitit_launcher")
)
# CI installs the extras and then must run these tests, not skip them.
REQUIRED = os.environ.get("SHORTS_REQUIRE_LAUNCHERS") == "1"
RAY_MISSING = "needs the ray extra: pip install -e '.[ray]'"
SUBMITIT_MISSING = "needs the slurm extra: pip install -e '.[slurm]'"
if REQUIRED and not (HAS_RAY and HAS_SUBMITIT):
    missing = [
        m for m, has in ((RAY_MISSING, HAS_RAY), (SUBMITIT_MISSING, HAS_SUBMITIT)) if not has
    ]
    pytest.fail(f"SHORTS_REQUIRE_LAUNCHERS=1 but: {'; '.join(missing)}", pytrace=False)
needs_ray = pytest.mark.skipif(not HAS_RAY, reason=RAY_MISSING)
needs_submitit = pytest.mark.skipif(not HAS_SUBMITIT, reason=SUBMITIT_MISSING)
# Ray binds to the machine's first address (and 0.0.0.0) even when told 127.0.0.1, unless it is
# told it runs as a single-machine instance: this keeps the cluster and the driver on loopback.
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the ``ray start`` child: SIGTERM it (and so its cluster) if pytest dies unannounced."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _is_loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return bool((mapped or address).is_loopback)


@dataclass
class RayCluster:
    """A one-machine Ray cluster that this test module started: ``ray start --block``."""

    address: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]  # what the driver (shorts run) needs too: loopback, the cluster's token

    def processes(self) -> list[psutil.Process]:
        """``ray start`` and everything it started (GCS, raylet, agents, workers)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def listening(self) -> list[tuple[str, int, str]]:
        """Every listening TCP socket of the cluster: (address, port, process name)."""
        found = []
        for proc in self.processes():
            try:
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.append((conn.laddr.ip, conn.laddr.port, proc.name()))
            except psutil.Error:
                continue
        return found

    def stop(self) -> None:
        """SIGTERM to ``ray start`` (it drains and stops what it started), then kill leftovers."""
        tree = self.processes()
        self.process.terminate()
        try:
            self.process.wait(timeout=90)  # Ray drains for up to 30 s
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _, alive = psutil.wait_procs(tree, timeout=30)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=30)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """A real two-CPU Ray cluster on loopback for this module's tests, stopped at the end.

    Its own ports (not Ray's fixed defaults, which a cluster already on the machine holds) and
    its own temp folder, short enough for Ray's socket paths.
    """
    if not HAS_RAY:
        pytest.skip(RAY_MISSING)
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    port = free_port()
    # Token authentication with a token of its own: Ray turns it on for `ray start` when
    # ~/.ray/auth_token exists (any local ray.init() writes one), but not for a driver given an
    # address, which then cannot connect. Explicit, the cluster ignores ~/.ray either way.
    driver = {**LOOPBACK_ONLY, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {k: v for k, v in os.environ.items() if k not in ("SHORTS_ROOT", "MLFLOW_TRACKING_URI")}
    env.update(driver)
    temp_dir = tempfile.mkdtemp(prefix="shorts-ray-", dir=os.environ.get("RAY_TMPDIR", "/tmp"))
    log = tmp_path_factory.mktemp("ray") / "ray-start.log"
    command = [
        ray,
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_stop_with_parent
        )
    cluster = RayCluster(f"127.0.0.1:{port}", process, log, driver)
    try:
        wait_until(
            lambda: process.poll() is not None or "Ray runtime started" in log.read_text(),
            timeout=180,
            interval=0.5,
        )
        assert process.poll() is None, f"ray start exited:\n{log.read_text()[-3000:]}"
        assert "Ray runtime started" in log.read_text(), log.read_text()[-3000:]
        outside = [s for s in cluster.listening() if not _is_loopback(s[0])]
        assert outside == [], f"the test cluster listens beyond loopback: {outside}"
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


@dataclass
class Store:
    """A tracking store other than the project's, read the way ``ShortsProject.runs`` reads."""

    uri: str

    def runs(self, experiment: str) -> list[Any]:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.uri)
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return []
        return list(
            client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
        )


@needs_ray
def test_ray_multirun_lands_four_children_under_one_parent(
    project: ShortsProject, ray_cluster: RayCluster
) -> None:
    done = project.run(
        "run",
        "-m",
        "+experiment=baseline_regression",
        "model=ridge,hist_gbm",
        "dataset=diabetes,friedman1",
        "hydra/launcher=ray",
        f"+hydra.launcher.ray.init.address={ray_cluster.address}",
        timeout=300,
        **ray_cluster.env,
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
    outside = [s for s in ray_cluster.listening() if not _is_loopback(s[0])]
    assert outside == [], f"with its workers, the cluster listens beyond loopback: {outside}"


@needs_ray
def test_caps_are_enforced_on_the_ray_workers(
    project: ShortsProject, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """Two shorts in one multirun on Ray: one over its memory cap, one over its wall time.

    The store is outside the project and known only to the launching shell
    (``MLFLOW_TRACKING_URI``); the workers get it from shorts, and the fault shorts' pid folder
    through Ray's ``runtime_env``, as the README tells users to pass their own variables.
    """
    project.add_short("fault_grow", "grow_memory")
    add_nap_short(project)
    store = Store(f"sqlite:///{tmp_path / 'elsewhere.db'}")

    done = project.run(
        "run",
        "-m",
        "+experiment=fault_grow,mr_nap",
        "+nap=120",
        "caps.memory=300MiB",
        "caps.wall_time=10s",
        "hydra/launcher=ray",
        f"+hydra.launcher.ray.init.address={ray_cluster.address}",
        f"+hydra.launcher.ray.init.runtime_env.env_vars.SHORTS_TEST_PIDS='{project.pid_dir}'",
        timeout=300,
        MLFLOW_TRACKING_URI=store.uri,
        **ray_cluster.env,
    )

    assert done.returncode == 1, done.stderr[-3000:]
    assert not (project.root / "mlflow.db").exists(), "nothing in the project's own store"
    grow_parent, grow = split(store, "fault_grow")
    assert [c.data.tags["shorts.outcome"] for c in grow] == ["memout"]
    assert grow[0].info.status == "FAILED"
    assert "300.0 MiB cap" in grow[0].data.tags["shorts.reason"]
    assert grow_parent.info.status == "FAILED"
    assert grow_parent.data.tags["shorts.outcomes"] == "memout:1"
    nap_parent, nap = split(store, "mr_nap")
    assert [c.data.tags["shorts.outcome"] for c in nap] == ["timeout"]
    assert "10.0s wall-time cap" in nap[0].data.tags["shorts.reason"]
    assert nap_parent.data.tags["shorts.outcomes"] == "timeout:1"
    assert len(project.recorded_pids()) >= 2, "the shorts ran, and recorded their pids"
    assert wait_until(lambda: live(project.recorded_pids()) == [], timeout=30)


@needs_ray
@pytest.mark.parametrize("given", ["override", "RAY_ADDRESS", "recorded by ray start"])
def test_a_ray_address_where_nothing_answers_is_refused_before_any_run(
    project: ShortsProject, tmp_path: Path, given: str
) -> None:
    """A typo, a cluster not started, or one stopped without ``ray stop`` (Ray still finds its
    address in its temp folder): Ray would retry for ever, shorts says so at once."""
    add_nap_short(project)
    address = f"127.0.0.1:{free_port()}"
    args = ["run", "-m", "+experiment=mr_nap", "+nap=0,1", "hydra/launcher=ray"]
    env = {**LOOPBACK_ONLY, "RAY_TMPDIR": str(tmp_path)}
    if given == "override":
        args.append(f"+hydra.launcher.ray.init.address={address}")
    elif given == "RAY_ADDRESS":
        env["RAY_ADDRESS"] = address
    else:
        (tmp_path / "ray").mkdir()
        (tmp_path / "ray" / "ray_current_cluster").write_text(address)

    done = project.run(*args, timeout=120, **env)

    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"shorts: error: no Ray cluster answers at {address}")
    assert project.runs("mr_nap") == [], "no child and no parent run"


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
    assert len(project.recorded_pids()) == 4
    assert live(project.recorded_pids()) == []
