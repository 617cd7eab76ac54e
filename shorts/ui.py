"""``shorts ui``: MLflow's UI over the project's store, bound to loopback."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from shorts.errors import UsageError
from shorts.project import Project
from shorts.tracking.leases import repair_leases
from shorts.tracking.store import check_reachable, open_client, resolve_tracking_uri


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shorts ui", description=__doc__)
    parser.add_argument("--port", type=int, default=5000, help="port to serve on (default 5000)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine)"
    )
    parser.add_argument("--tracking-uri", default=None, help="store to serve (default: project's)")
    return parser


def serve(project: Project, args: list[str]) -> int:
    """Start ``mlflow server`` over the store, print its URL, serve until interrupted."""
    parser = _parser()
    try:
        options = parser.parse_args(args)
    except SystemExit as exc:
        if exc.code == 0:
            return 0
        raise UsageError(
            "usage: shorts ui [--port N] [--host ADDRESS] [--tracking-uri URI]"
        ) from None
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
    server = subprocess.Popen(command, start_new_session=True)
    url = f"http://{options.host}:{options.port}"
    try:
        if _wait_healthy(url, server):
            print(f"MLflow UI for {uri}\n  {url}\n(Ctrl-C to stop)", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(server)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
