"""Shared fixtures: a throwaway shorts project with its own MLflow store, and ways to drive it.

Every test that runs ``shorts`` gets a fresh project under a temp directory: a copy of the real
``configs/`` and ``experiments/`` plus the fault-injection shorts of ``tests/fault_shorts``. The
user's own store is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
FAULT_SHORTS = Path(__file__).resolve().parent / "fault_shorts"


@dataclass
class ShortsProject:
    """A temporary shorts project and helpers to run the real ``shorts`` command in it."""

    root: Path
    pid_dir: Path

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "SHORTS_ROOT")
        }
        env["SHORTS_TEST_PIDS"] = str(self.pid_dir)
        env.update(extra)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "shorts", *args]

    def run(
        self, *args: str, timeout: float = 120, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``shorts ARGS`` to completion and return what it did."""
        return subprocess.run(
            self.command(*args),
            cwd=cwd or self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """Start ``shorts ARGS`` in the background (for signal tests)."""
        return subprocess.Popen(
            self.command(*args),
            cwd=self.root,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def add_short(
        self, name: str, fn: str, caps: dict[str, Any] | None = None, extra: str = ""
    ) -> None:
        """Declare ``configs/experiment/NAME.yaml`` for ``experiments.faults:FN``."""
        caps_yaml = "".join(f"  {k}: {v}\n" for k, v in (caps or {}).items())
        text = textwrap.dedent(
            f"""\
            # @package _global_
            defaults:
              - override /caps: tiny
            short:
              fn: experiments.faults:{fn}
              hypothesis: fault injection ({fn})
              techniques: [fault-injection]
            """
        )
        if caps_yaml:
            text += "caps:\n" + caps_yaml
        text += extra
        (self.root / "configs" / "experiment" / f"{name}.yaml").write_text(text)

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)

    def runs(self, experiment: str) -> list[Any]:
        """All runs of an MLflow experiment (the short's name), newest first."""
        client = self.client()
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return []
        return list(
            client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
        )

    def only_run(self, experiment: str) -> Any:
        runs = self.runs(experiment)
        assert len(runs) == 1, f"expected one run of {experiment}, found {len(runs)}"
        return runs[0]

    def recorded_pids(self) -> list[int]:
        """Pids the fault shorts wrote to $SHORTS_TEST_PIDS (worker, children, escapees)."""
        pids = []
        for path in self.pid_dir.glob("*.pid"):
            pids.extend(int(p) for p in path.read_text().split())
        return pids


def live(pids: list[int]) -> list[int]:
    """The pids still running (zombies count as dead: they use no CPU or memory)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """The pids below ``pid`` right now (none if it is gone)."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def assert_no_runs(project: ShortsProject) -> None:
    """The project's store holds no run (or does not exist)."""
    store = project.root / "mlflow.db"
    if not store.exists():
        return
    client = project.client()
    ids = [e.experiment_id for e in client.search_experiments()]
    assert not ids or client.search_runs(ids) == []


def assert_usage_error(done: subprocess.CompletedProcess[str], project: ShortsProject) -> str:
    """Exit 2, exactly one ``shorts: error:`` line on stderr, no traceback, no MLflow run."""
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("shorts: error: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert_no_runs(project)
    return lines[0]


def parent_and_children(
    project: ShortsProject, experiment: str, kind: str
) -> tuple[Any, list[Any]]:
    """The one parent run (``shorts.kind=kind``) of ``experiment`` and its children, oldest
    first; every child must name it as ``mlflow.parentRunId``."""
    runs = project.runs(experiment)
    parents = [r for r in runs if r.data.tags.get("shorts.kind") == kind]
    assert len(parents) == 1, [r.data.tags.get("shorts.kind") for r in runs]
    parent = parents[0]
    children = [r for r in runs if r is not parent]
    for child in children:
        assert child.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    return parent, sorted(children, key=lambda r: r.info.start_time)


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout``; returns its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def make_project(folder: Path) -> ShortsProject:
    """A fresh shorts project under ``folder``: real configs and shorts, plus fault shorts."""
    root = folder / "proj"
    root.mkdir()
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(
        REPO / "experiments", root / "experiments", ignore=shutil.ignore_patterns("__pycache__")
    )
    for source in FAULT_SHORTS.glob("*.py"):
        shutil.copy(source, root / "experiments" / source.name)
    # Room for the store on a busy machine: a record still pending after 30 s is a true outcome
    # (nothing is lost), but a test that reads the store at once would miss it. The tests of the
    # pending line set tracking.deliver_wait themselves.
    primary = root / "configs" / "shorts.yaml"
    text = primary.read_text()
    assert "deliver_wait: 30s" in text, "configs/shorts.yaml's tracking.deliver_wait moved"
    primary.write_text(text.replace("deliver_wait: 30s", "deliver_wait: 5m"))
    pid_dir = folder / "pids"
    pid_dir.mkdir()
    return ShortsProject(root, pid_dir)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One OpenMP/BLAS thread, as a capped worker of one cpu has: fits in the test process are
    tiny, and on a busy machine HistGradientBoosting's threads wait on each other (13 s of fits
    becomes 100 s)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def no_stale_hydra_config() -> Iterator[None]:
    """Each test starts without a current ``HydraConfig``: composing installs one (with the
    folder it ran in as ``runtime.cwd``), and a later test in the same worker would otherwise
    resolve ``${hydra:runtime.cwd}`` against an earlier test's folder."""
    yield
    if "hydra.core.hydra_config" in sys.modules:
        from hydra.core.hydra_config import HydraConfig

        HydraConfig.instance().cfg = None


@pytest.fixture
def clean_hydra() -> Iterator[None]:
    """Hydra's global state cleared before and after: tests that compose configs in-process."""
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ShortsProject]:
    """A fresh shorts project (real configs and shorts, plus fault shorts) with its own store."""
    proj = make_project(tmp_path)
    yield proj
    # Never leak compute from a failed test: kill whatever the shorts recorded.
    for pid in live(proj.recorded_pids()):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


# -- reports as a reader meets them: in a browser, as GitHub-flavoured Markdown -----------------

CHROMIUM = Path("/usr/bin/chromium")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with ``args`` (``--dump-dom URL``, ``--screenshot=PNG URL``), on its own
    profile, with nothing fetched behind the page's back; skips the test without Chromium."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000"]  # fmt: skip
    return subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=120
    )


def screenshot(tmp_path: Path, page: Path, name: str, height: int = 900) -> Path:
    """The page's first ``height`` pixels as a PNG: in $SHORTS_TEST_ARTIFACTS (CI keeps it), else
    in ``tmp_path``."""
    folder = Path(os.environ.get("SHORTS_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    done = chromium(tmp_path, f"--screenshot={shot}", f"--window-size=1280,{height}", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    return shot


def markdown_tokens(text: str) -> list[Any]:
    """``text``'s tokens as GitHub-flavoured Markdown, block and inline ones in one list. Raw
    HTML is recognised (GitHub passes some through), so a test can assert there is none."""
    from markdown_it import MarkdownIt

    blocks = MarkdownIt("gfm-like", {"html": True, "linkify": False}).parse(text)
    return [*blocks, *(child for token in blocks for child in token.children or [])]


def pixels_near(png: Path | bytes, colour: str, tolerance: int = 12) -> int:
    """How many pixels of an image are within ``tolerance`` of ``colour`` (``#rrggbb``)."""
    import io

    import numpy as np
    from matplotlib.image import imread

    image = imread(io.BytesIO(png) if isinstance(png, bytes) else png)
    rgb = np.asarray(image)[..., :3]
    rgb = rgb if rgb.dtype == np.uint8 else (rgb * 255).round()
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb.astype(int) - target).max(axis=-1) <= tolerance).sum())
