"""``shorts ui``: MLflow's UI over the project's store, bound to loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from types import FrameType

from shorts.arguments import OneLineParser
from shorts.errors import UsageError
from shorts.project import Project
from shorts.tracking.leases import repair_leases
from shorts.tracking.store import check_reachable, open_client, resolve_tracking_uri

USAGE = "usage: shorts ui [--port N] [--host ADDRESS] [--tracking-uri URI]"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _parser() -> OneLineParser:
    parser = OneLineParser(USAGE, prog="shorts ui", description=__doc__)
    parser.add_argument("--port", type=int, default=5000, help="port to serve on (default 5000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine)"
    )
    parser.add_argument("--tracking-uri", default=None, help="store to serve (default: project's)")
    return parser


def serve(project: Project, args: list[str]) -> int:
    """Start ``mlflow server`` over the store, print its URL, serve until interrupted."""
    options = _parser().parse_or_help(args)
    if options is None:
        return 0
    uri = resolve_tracking_uri(options.tracking_uri, project)
    check_reachable(uri)
    if uri.startswith(("http://", "https://")):
        print(f"the store is a tracking server; its UI is at {uri}")
        return 0
    if not 0 < options.port < 65536:
        raise UsageError(f"--port {options.port} is not a port; use 1-65535.")
    if not _port_free(options.host, options.port):
        raise UsageError(
            f"port {options.port} on {options.host} is in use; pass --port with a free one."
        )
    repair_leases(project)
    open_client(uri)  # creates a fresh store's schema before the server races for it
    project.default_artifact_root.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--default-artifact-root",
        project.default_artifact_root.as_uri(),
        "--host",
        options.host,
        "--port",
        str(options.port),
        "--workers",
        "1",
    ]
    url = f"http://{options.host}:{options.port}"
    server: subprocess.Popen[bytes] | None = None
    # The server runs in its own session (a Ctrl-C meant for shorts must not reach it half-way),
    # so shorts must stop it on every way it is asked to end: SIGTERM and SIGHUP as well.
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        server = subprocess.Popen(command, start_new_session=True)
        if not _wait_healthy(url, server):
            code = server.poll()
            why = f"exited with status {code}" if code is not None else "did not answer"
            print(f"shorts: error: the MLflow server {why}; see its output above", file=sys.stderr)
            return 1
        print(f"MLflow UI for {uri}\n  {url}\n(Ctrl-C to stop)", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            _stop(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after ``grace`` seconds.

    Another signal while it stops (a second Ctrl-C) hurries it to SIGKILL instead of abandoning
    the group; members that outlive their leader (uvicorn, job runners) are swept up too.
    """
    group = server.pid

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
