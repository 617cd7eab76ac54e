"""Running ``mlflow server`` as a child of ``shorts``: port checks, readiness, a clean stop.

Shared by ``shorts ui`` (the project's sqlite store) and ``shorts server`` (a team store on
PostgreSQL). The server runs in its own session, so a Ctrl-C meant for ``shorts`` does not reach
it half-way; ``shorts`` stops it instead, on every way it is asked to end (SIGINT, SIGTERM,
SIGHUP), and takes down its whole process tree: the process group, plus any descendant that
started a session of its own (MLflow's job subprocesses do).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from types import FrameType

import psutil

from shorts.errors import UsageError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
# MLflow 3 starts a job runner and seven huey consumers beside the web server (about 1.7 GiB of
# resident memory here) for its GenAI jobs: online scorers, trace rollups. shorts uses none of
# them, so they are off unless the user's environment turns them on.
JOBS_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, a port that is not a port or that something already listens on."""
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a port; use 1-65535.")
    try:  # IPv4 or IPv6, whichever ``host`` is
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror:
        raise UsageError(
            f"--host {host} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one "
            "of its interfaces' addresses."
        ) from None
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError:
            raise UsageError(
                f"port {port} on {host} is in use; pass --port with a free one."
            ) from None


def local_url(host: str, port: int) -> str:
    """The server's address as seen from this machine (a wildcard bind answers on loopback)."""
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def server_command(*options: str, host: str, port: int, workers: int = 1) -> list[str]:
    """The ``mlflow server`` command line with ``options``, bound to ``host:port``."""
    head = [sys.executable, "-m", "mlflow", "server", *options]
    return [*head, "--host", host, "--port", str(port), "--workers", str(workers)]


def serve_until_stopped(
    command: list[str], url: str, banner: str, env: Mapping[str, str] | None = None
) -> int:
    """Start ``command`` (an ``mlflow server``: no secrets, ``ps`` shows it to everyone), print
    ``banner`` once ``url`` is healthy, and serve until it exits or ``shorts`` is asked to stop;
    the server's tree is stopped either way. ``env`` adds variables for the server.

    Returns:
        The server's exit status, 0 when stopped by a signal, 1 when it never became healthy.
    """
    # A tracking URI exported in the shell (often this very server's URL) must not steer the
    # server: its store is the one on its command line.
    child_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    child_env.setdefault(JOBS_ENV, "false")
    child_env.update(env or {})
    server: subprocess.Popen[bytes] | None = None
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in STOP_SIGNALS}
    try:
        server = subprocess.Popen(command, start_new_session=True, env=child_env)
        if not wait_healthy(url, server):
            code = server.poll()
            why = f"exited with status {code}" if code is not None else "did not answer"
            print(f"shorts: error: the MLflow server {why}; see its output above", file=sys.stderr)
            return 1
        print(banner, flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            stop(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """Poll ``url/health`` until it answers 200, the server exits, or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(server: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Stop the server's whole tree: SIGTERM, then SIGKILL after ``grace`` seconds.

    Another signal while it stops (a second Ctrl-C) hurries it to SIGKILL instead of abandoning
    the group; members that outlive their leader (uvicorn workers, job runners) are swept up too,
    and so are descendants that left the group for a session of their own.
    """
    group = server.pid
    try:
        escapees = psutil.Process(group).children(recursive=True)
    except psutil.Error:
        escapees = []

    def hurry(signum: int, frame: FrameType | None) -> None:
        _killpg(group, signal.SIGKILL)

    previous = {sig: signal.signal(sig, hurry) for sig in STOP_SIGNALS}
    try:
        if server.poll() is None:
            _killpg(group, signal.SIGTERM)
            try:
                server.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _killpg(group, signal.SIGKILL)
                server.wait()
        end = time.monotonic() + grace
        while _killpg(group, 0) and time.monotonic() < end:
            time.sleep(0.1)
        _killpg(group, signal.SIGKILL)
        for proc in escapees:
            try:
                proc.kill()  # psutil checks the start time: a reused pid is left alone
            except psutil.Error:
                pass
        psutil.wait_procs(escapees, timeout=grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _killpg(group: int, sig: int) -> bool:
    """Signal a process group; False once it has no members left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
