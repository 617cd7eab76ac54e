"""``shorts server``: a team MLflow tracking server on PostgreSQL that also serves the artifacts.

The URI's password never reaches a terminal or the process table: it is masked in messages and
passed through the environment.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from shorts.arguments import OneLineParser
from shorts.errors import UsageError
from shorts.project import Project
from shorts.tracking.serving import (
    WILDCARD_HOSTS,
    check_port,
    local_url,
    serve_until_stopped,
    server_command,
)
from shorts.tracking.store import redact_uri

USAGE = (
    "usage: shorts server [--backend-store-uri postgresql://USER:PASSWORD@HOST:PORT/DB] "
    "[--port N] [--host ADDRESS] [--artifacts-destination DIR|URI] [--workers N] "
    "[--allowed-hosts HOSTS]"
)
DB_ENV = "SHORTS_SERVER_DB"
# mlflow's click option reads it; the environment keeps the password out of `ps`.
STORE_ENV = "MLFLOW_BACKEND_STORE_URI"
DEFAULT_DRIVER = "psycopg2"
POSTGRES_URI = re.compile(r"^(?P<scheme>postgres(?:ql)?)(?:\+(?P<driver>\w+))?://(?P<rest>.*)$")


def _parser() -> OneLineParser:
    parser = OneLineParser(
        USAGE,
        prog="shorts server",
        description="A team MLflow tracking server: runs in a PostgreSQL database, artifacts "
        "served by the server. Users export MLFLOW_TRACKING_URI=http://HOST:PORT to use it.",
    )
    parser.add_argument(
        "--backend-store-uri",
        default=None,
        help=f"PostgreSQL database for runs (default: ${DB_ENV}), "
        "postgresql://USER:PASSWORD@HOST:PORT/DB",
    )
    parser.add_argument("--port", type=int, default=5000, help="port to serve on (default 5000)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, this machine; 0.0.0.0 for the network)",
    )
    parser.add_argument(
        "--artifacts-destination",
        default=None,
        help="where the server keeps artifacts: a folder or a URI such as s3://bucket/path "
        "(default: <project>/.shorts/server-artifacts)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="web server processes (default 1, ~250 MiB each)"
    )
    parser.add_argument(
        "--allowed-hosts",
        default=None,
        help="Host headers to accept when reached by name from other machines "
        "(mlflow's default: localhost and private IPs)",
    )
    return parser


def serve_team(project: Project, args: list[str]) -> int:
    """Start ``mlflow server`` on the PostgreSQL store, print its URL, serve until interrupted.

    Raises:
        UsageError: no or a non-PostgreSQL URI, a database that does not answer, a busy port,
            a missing driver or an unusable artifacts folder (exit 2, nothing started).
    """
    options = _parser().parse_or_help(args)
    if options is None:
        return 0
    uri = options.backend_store_uri or os.environ.get(DB_ENV)
    if not uri:
        raise UsageError(
            f"no database: pass --backend-store-uri postgresql://USER:PASSWORD@HOST:PORT/DB or "
            f"set {DB_ENV}."
        )
    store_uri = sqlalchemy_uri(uri)
    if options.workers < 1:
        raise UsageError(f"--workers {options.workers} must be 1 or more.")
    check_port(options.host, options.port)
    check_database(uri)
    destination = artifacts_destination(project, options.artifacts_destination)
    store = ["--serve-artifacts", "--artifacts-destination", destination]
    command = server_command(*store, host=options.host, port=options.port, workers=options.workers)
    if options.allowed_hosts:
        command += ["--allowed-hosts", options.allowed_hosts]
    url = local_url(options.host, options.port)
    lines = [
        f"MLflow tracking server for {redact_uri(uri)}",
        f"  {url}",
        f"  artifacts in {destination}",
    ]
    if options.host in WILDCARD_HOSTS:
        lines.append(
            f"  (all interfaces: other machines use this machine's address, port {options.port})"
        )
    lines += [
        "Point shorts run, shorts retro and shorts ui at it with:",
        f"  export MLFLOW_TRACKING_URI={url}",
        "(Ctrl-C to stop)",
    ]
    return serve_until_stopped(command, url, "\n".join(lines), env={STORE_ENV: store_uri})


def sqlalchemy_uri(uri: str) -> str:
    """The URI for MLflow's SQLAlchemy, with the driver named when the user did not name one.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, while the ``postgres`` extra
    installs psycopg2; naming the driver makes the URI mean the installed one.
    """
    match = _postgres(uri)
    return f"postgresql+{match['driver'] or DEFAULT_DRIVER}://{match['rest']}"


def _postgres(uri: str) -> re.Match[str]:
    match = POSTGRES_URI.match(uri)
    if match is None:
        raise UsageError(
            f"{redact_uri(uri)} is not a PostgreSQL URI; shorts server takes "
            "postgresql://USER:PASSWORD@HOST:PORT/DB (for the project's own sqlite store, "
            "use shorts ui)."
        )
    return match


def check_database(uri: str, timeout: int = 5) -> None:
    """Connect once with psycopg2 and run ``SELECT 1``; one line naming the URI if that fails."""
    try:
        import psycopg2
    except ImportError:
        raise UsageError(
            "shorts server needs the PostgreSQL driver psycopg2; install it with "
            "pip install -e '.[postgres]'."
        ) from None
    dsn = f"postgresql://{_postgres(uri)['rest']}"  # libpq's own URI form: no driver
    try:
        connection = psycopg2.connect(dsn, connect_timeout=timeout)
    except psycopg2.Error as exc:
        raise UsageError(
            f"database {redact_uri(uri)} does not answer: {driver_message(str(exc), uri)}; "
            "check the URI, that PostgreSQL runs there and that the database exists."
        ) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def artifacts_destination(project: Project, given: str | None) -> str:
    """A URI as given, or a folder made absolute and created (default under ``.shorts/``).

    The default sits in the project's git-ignored state folder, apart from the embedded store's
    ``mlartifacts/``; a real team server should name durable storage instead.
    """
    if given and "://" in given:
        return given
    folder = Path(given).expanduser().resolve() if given else project.state / "server-artifacts"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the artifacts folder {folder}: {exc.strerror}; pass "
            "--artifacts-destination with a writable folder."
        ) from None
    if not os.access(folder, os.W_OK):
        raise UsageError(
            f"cannot write the artifacts folder {folder}; pass --artifacts-destination with a "
            "writable folder."
        )
    return str(folder)


def driver_message(message: str, uri: str) -> str:
    """The driver's message folded to its first line, with any password of ``uri`` masked."""
    line = next((" ".join(part.split()) for part in message.splitlines() if part.strip()), "")
    line = line or "no reason given"
    userinfo = uri.split("://", 1)[-1].rpartition("@")[0]
    password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    for secret in {password, urllib.parse.unquote(password)} - {""}:
        line = line.replace(secret, "***")
    return line
