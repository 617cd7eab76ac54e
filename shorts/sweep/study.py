"""Where a sweep's Optuna study lives, and how a trial's worker reaches it.

The study is stored outside the sweep process so that (a) parallel trials, each in its own worker
process, can report intermediate values and ask the pruner themselves, and (b) an interrupted sweep
can be resumed. The default is Optuna's JournalStorage, a file beside the MLflow store (file-locked,
safe for several processes); a team passes its database URL instead (``--storage
postgresql://...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts.errors import UsageError
from shorts.project import Project
from shorts.tracking.store import redact_uri, sqlite_path

if TYPE_CHECKING:
    import optuna
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

JOURNAL_NAME = "optuna-journal.log"
PRUNERS = ("median", "percentile", "hyperband", "none")
SAMPLERS = ("tpe", "random")


def storage_url(project: Project, tracking_uri: str, explicit: str | None) -> str:
    """``--storage`` if given, else a journal file beside a sqlite store (or in ``.shorts``)."""
    if explicit:
        return explicit
    store = sqlite_path(tracking_uri)
    folder = store.parent if store is not None else project.state
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / JOURNAL_NAME)


def make_storage(url: str) -> BaseStorage:
    """A database URL (``postgresql://``, ``sqlite:///``) or a journal file path."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if "://" in url:
        from shorts.server import POSTGRES_URI, driver_message, sqlalchemy_uri

        # A bare postgresql:// means psycopg 3 to SQLAlchemy 2.1; the postgres extra is psycopg2.
        database = sqlalchemy_uri(url) if POSTGRES_URI.match(url) else url
        try:
            return optuna.storages.RDBStorage(database)
        except Exception as exc:  # SQLAlchemy's errors: no such dialect, driver, host, database
            reason = driver_message(str(exc).split("(Background")[0], url)[:300]
            raise UsageError(
                f"--storage {redact_uri(url)}: the study database cannot be opened ({reason}); "
                "use postgresql://USER:PASSWORD@HOST:PORT/DB, sqlite:////ABSOLUTE/PATH.db or a "
                "journal file path."
            ) from None
    try:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    except OSError as exc:
        raise UsageError(
            f"--storage {url}: cannot write the study's journal file ({exc.strerror}); use a "
            "writable file path or a database URL."
        ) from None


def make_pruner(spec: Mapping[str, Any] | None) -> BasePruner:
    """``sweep.pruner`` of the experiment: ``{name: median, n_startup_trials: 3, ...}``."""
    from optuna import pruners

    options = dict(spec or {})
    name = str(options.pop("name", "median"))
    try:
        if name == "median":
            options.setdefault("n_startup_trials", 3)
            options.setdefault("n_warmup_steps", 1)
            return pruners.MedianPruner(**options)
        if name == "percentile":
            options.setdefault("percentile", 25.0)
            options.setdefault("n_startup_trials", 3)
            options.setdefault("n_warmup_steps", 1)
            return pruners.PercentilePruner(**options)
        if name == "hyperband":
            return pruners.HyperbandPruner(**options)
        if name == "none":
            return pruners.NopPruner()
    except TypeError as exc:
        raise UsageError(f"sweep.pruner: {exc}.") from None
    raise UsageError(f"sweep.pruner.name={name!r}; use one of: {', '.join(PRUNERS)}.")


def make_sampler(spec: Mapping[str, Any] | None, jobs: int) -> BaseSampler:
    """``sweep.sampler``: TPE by default (a constant liar when trials run in parallel)."""
    from optuna import samplers

    options = dict(spec or {})
    name = str(options.pop("name", "tpe"))
    try:
        if name == "tpe":
            options.setdefault("constant_liar", jobs > 1)
            return samplers.TPESampler(**options)
        if name == "random":
            return samplers.RandomSampler(**options)
    except TypeError as exc:
        raise UsageError(f"sweep.sampler: {exc}.") from None
    raise UsageError(f"sweep.sampler.name={name!r}; use one of: {', '.join(SAMPLERS)}.")


def open_trial(spec: Mapping[str, Any]) -> optuna.Trial:
    """The running trial ``spec`` names, from inside its worker (for ``ctx.report``)."""
    import optuna

    study = optuna.load_study(
        study_name=str(spec["study"]),
        storage=make_storage(str(spec["storage"])),
        pruner=make_pruner(spec.get("pruner")),
    )
    return optuna.trial.Trial(study, int(spec["trial_id"]))
