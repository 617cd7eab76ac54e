"""``shorts ui``: MLflow's UI over the project's store, bound to loopback."""

from __future__ import annotations

from shorts.arguments import OneLineParser
from shorts.project import Project
from shorts.tracking.pending import settle
from shorts.tracking.serving import check_port, local_url, serve_until_stopped, server_command
from shorts.tracking.store import check_reachable, open_client, resolve_tracking_uri

USAGE = "usage: shorts ui [--port N] [--host ADDRESS] [--tracking-uri URI]"


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
    check_port(options.host, options.port)
    settle(project)
    open_client(uri)  # creates a fresh store's schema before the server races for it
    project.default_artifact_root.mkdir(parents=True, exist_ok=True)
    root = project.default_artifact_root.as_uri()
    store = ["--backend-store-uri", uri, "--default-artifact-root", root]
    command = server_command(*store, host=options.host, port=options.port)
    url = local_url(options.host, options.port)
    return serve_until_stopped(command, url, f"MLflow UI for {uri}\n  {url}\n(Ctrl-C to stop)")
