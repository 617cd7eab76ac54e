"""Which MLflow store a run goes to, whether it answers, and creating it safely.

The embedded default is a sqlite file at the project root with an absolute URI, so runs land in
the same store whichever folder ``shorts`` was started from. Creating a fresh sqlite store is
serialised with a file lock: MLflow's schema migration races when several processes create the
same database at once (FIELD_NOTES), and so does creating the same experiment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from shorts.errors import UsageError
from shorts.project import Project

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

TRACKING_ENV = "MLFLOW_TRACKING_URI"
# Databases MLflow's SQLAlchemy store takes as a tracking URI (``scheme+driver://`` too).
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
# MLflow 3's UI opens an experiment of unknown kind on its GenAI overview (traces, sessions);
# shorts' experiments hold training runs, so they say so and open on the runs table.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def resolve_tracking_uri(configured: str | None, project: Project) -> str:
    """Config key first, then ``$MLFLOW_TRACKING_URI``, then the project's embedded store."""
    if configured:
        return str(configured)
    return os.environ.get(TRACKING_ENV) or project.default_tracking_uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or ``None`` for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail fast, before any work starts, when the tracking store cannot be used."""
    if uri.startswith(("http://", "https://")):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                if response.status >= 400:
                    raise UsageError(
                        f"tracking server {uri} answered HTTP {response.status} on /health; "
                        f"check the server or set tracking.uri / {TRACKING_ENV}."
                    )
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UsageError(
                f"tracking server {uri} does not answer ({reason}); start it, or point "
                f"tracking.uri / {TRACKING_ENV} at a running server or a sqlite:/// file."
            ) from None
        return
    path = sqlite_path(uri)
    if path is not None:
        if not path.is_absolute():
            raise UsageError(
                f"tracking URI {uri} is relative; use an absolute sqlite:////path/to/mlflow.db."
            )
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise UsageError(
                f"cannot write the tracking store {path}: its folder does not exist or is "
                f"read-only."
            )
        return
    if uri.startswith(("file:", "/")) or "://" not in uri:
        raise UsageError(
            f"tracking URI {uri} is a file store, which MLflow 3 refuses; use a sqlite:/// "
            f"file or an http(s):// tracking server."
        )
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in DATABASE_SCHEMES:
        raise UsageError(
            f"tracking URI {redact_uri(uri)} is not a store MLflow can read; use a sqlite:/// "
            f"file, an http(s):// tracking server or a database ({', '.join(DATABASE_SCHEMES)})."
        )


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock beside a sqlite store; a no-op for servers (they serialise themselves)."""
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    with open(f"{path}.lock", "a+") as handle:  # closing it drops the lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


_MLFLOW_IMPORT = threading.Lock()


def import_mlflow() -> None:
    """Import MLflow once per process, one thread at a time: its modules import each other, and
    two threads importing it at once (a run's delivery and its headroom read, a sweep's trials)
    can see a partially initialised module that stays broken."""
    with _MLFLOW_IMPORT:
        import mlflow.entities
        import mlflow.tracking  # noqa: F401


def open_client(uri: str) -> MlflowClient:
    """An ``MlflowClient`` on ``uri``, creating a sqlite store's schema under the lock."""
    import logging

    import_mlflow()
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    with store_lock(uri):
        client = MlflowClient(tracking_uri=uri)
        if sqlite_path(uri) is not None:
            client.search_experiments(max_results=1)  # creates and migrates the schema once
    return client


def experiment_id(client: MlflowClient, name: str, uri: str, artifact_root: Path) -> str:
    """Id of the MLflow experiment ``name``, created (race-safely) with local artifacts if new."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    with store_lock(uri):
        existing = client.get_experiment_by_name(name)
        if existing is not None:
            return str(existing.experiment_id)
        location = (artifact_root / name).as_uri() if sqlite_path(uri) is not None else None
        try:
            return str(
                client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
            )
        except Exception:
            # Another process (or a server-side race) created it first.
            again = client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)


def redact_uri(uri: str) -> str:
    """``uri`` with its password (in the user part or a ``password=`` parameter) as ``***``:
    for anything shown or recorded (messages, tags, reports)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hostport = rest[:end].rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{hostport}{rest[end:]}"
    rest = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", rest)
    return f"{scheme}://{rest}"


# Where `shorts ui` serves the embedded store unless told otherwise: the reports' links go there.
DEFAULT_UI_URL = "http://127.0.0.1:5000"


def ui_hint(uri: str, experiment_id: str, run_id: str | None = None) -> str:
    """Where to see an experiment (its runs table) or one run in the MLflow UI over ``uri``.

    The experiment link asks for the model-training view: MLflow 3's UI otherwise opens on its
    GenAI overview (traces), where runs do not show.
    """
    path = (
        f"#/experiments/{experiment_id}/runs/{run_id}"
        if run_id
        else f"#/experiments/{experiment_id}/runs?workflowType=machine_learning"
    )
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{path}"
    return f"shorts ui, then {DEFAULT_UI_URL}/{path}"
