"""Where a sweep's Optuna study lives, and how its sampler and pruner are declared.

The study is stored outside the sweep process so that (a) parallel trials, each in its own worker
process, can report intermediate values and ask the pruner themselves, and (b) an interrupted sweep
can be resumed. The default is Optuna's JournalStorage, a file beside the MLflow store (file-locked,
safe for several processes); a team passes its database URL instead (``--storage
postgresql://...``). The storage and the pruner travel to a trial's worker as ``_target_`` dicts,
so the worker rebuilds them with Hydra and Optuna's public API alone (``shorts.context``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from shorts.errors import UsageError, one_line
from shorts.project import Project
from shorts.sweep.targets import Kind
from shorts.tracking.store import redact_uri, sqlite_path

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

JOURNAL_NAME = "optuna-journal.log"
SAMPLER = Kind(
    "sampler",
    "optuna.samplers.BaseSampler",
    {
        "tpe": {"_target_": "optuna.samplers.TPESampler"},
        "random": {"_target_": "optuna.samplers.RandomSampler"},
    },
    default="tpe",
)
PRUNER = Kind(
    "pruner",
    "optuna.pruners.BasePruner",
    {
        "median": {
            "_target_": "optuna.pruners.MedianPruner",
            "n_startup_trials": 3,
            "n_warmup_steps": 1,
        },
        "percentile": {
            "_target_": "optuna.pruners.PercentilePruner",
            "percentile": 25.0,
            "n_startup_trials": 3,
            "n_warmup_steps": 1,
        },
        "hyperband": {"_target_": "optuna.pruners.HyperbandPruner"},
        "none": {"_target_": "optuna.pruners.NopPruner"},
    },
    default="median",
)


def storage_url(project: Project, tracking_uri: str, explicit: str | None) -> str:
    """``--storage`` if given, else a journal file beside a sqlite store (or in ``.shorts``)."""
    if explicit:
        return explicit
    store = sqlite_path(tracking_uri)
    folder = store.parent if store is not None else project.state
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / JOURNAL_NAME)


def storage_config(url: str) -> dict[str, Any]:
    """The storage at ``url`` as a ``_target_`` dict: a database URL (``postgresql://``,
    ``sqlite:///``) is an RDBStorage, anything else a journal file."""
    if "://" in url:
        from shorts.server import POSTGRES_URI, sqlalchemy_uri

        # A bare postgresql:// means psycopg 3 to SQLAlchemy 2.1; the postgres extra is psycopg2.
        database = sqlalchemy_uri(url) if POSTGRES_URI.match(url) else url
        return {"_target_": "optuna.storages.RDBStorage", "url": database}
    return {
        "_target_": "optuna.storages.journal.JournalStorage",
        "log_storage": {
            "_target_": "optuna.storages.journal.JournalFileBackend",
            "file_path": url,
        },
    }


def make_storage(url: str) -> BaseStorage:
    """The storage at ``url``; ``UsageError`` when it cannot be opened or written."""
    import optuna
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        if "://" not in url:
            Path(url).parent.mkdir(parents=True, exist_ok=True)
        return cast("BaseStorage", instantiate(storage_config(url)))
    except (InstantiationException, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc, InstantiationException) else exc
        if "://" in url:  # SQLAlchemy's errors: no such dialect, driver, host, database
            from shorts.server import driver_message

            reason = driver_message(str(cause).split("(Background")[0], url)[:300]
            raise UsageError(
                f"--storage {redact_uri(url)}: the study database cannot be opened ({reason}); "
                "use postgresql://USER:PASSWORD@HOST:PORT/DB, sqlite:////ABSOLUTE/PATH.db or a "
                "journal file path."
            ) from None
        raise UsageError(
            f"--storage {url}: cannot write the study's journal file "
            f"({getattr(cause, 'strerror', None) or cause}); use a writable file path or a "
            "database URL."
        ) from None


def pruner_config(spec: Any) -> dict[str, Any]:
    """``sweep.pruner``: a preset (``{name: median, n_startup_trials: 3}``) or ``_target_``."""
    return PRUNER.config(spec, "sweep.pruner")


def make_pruner(config: Mapping[str, Any]) -> BasePruner:
    """The pruner a ``pruner_config`` declares."""
    return cast("BasePruner", PRUNER.build(config, "sweep.pruner"))


def sampler_config(spec: Any, jobs: int) -> dict[str, Any]:
    """``sweep.sampler``: a preset (TPE by default) or ``_target_``; a TPE sampler is a constant
    liar when trials run in parallel, unless the spec says otherwise."""
    from optuna.samplers import TPESampler

    config = SAMPLER.config(spec, "sweep.sampler")
    if issubclass(SAMPLER.target(config, "sweep.sampler"), TPESampler):
        config.setdefault("constant_liar", jobs > 1)
    return config


def make_sampler(config: Mapping[str, Any]) -> BaseSampler:
    """The sampler a ``sampler_config`` declares."""
    return cast("BaseSampler", SAMPLER.build(config, "sweep.sampler"))


def probe_sampler(config: Mapping[str, Any], space: Mapping[str, BaseDistribution]) -> None:
    """Ask a fresh copy of the sampler for a point of ``space`` on a throwaway in-memory study
    past its start-up trials, so a sampler whose extra is missing (CmaEs needs ``cmaes``, GP
    ``torch``) or that cannot sample this space is refused before anything starts, not after
    the sweep's first trials."""
    import optuna

    where = "sweep.sampler"
    fresh = make_sampler(config)
    name = type(fresh).__name__
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
            for value in range(max(10, int(config.get("n_startup_trials") or 0))):
                study.tell(study.ask(dict(space)), float(value))
            study.sampler = fresh
            study.tell(study.ask(dict(space)), 0.0)
    except ImportError as exc:
        raise UsageError(
            f"{where}: {name} needs the module {exc.name or one_line(str(exc))!r}, which is not "
            "installed; install it or use another sampler."
        ) from None
    except Exception as exc:  # the sampler's own complaint about this space, whatever its type
        reason = one_line(f"{type(exc).__name__}: {exc}").rstrip(".")
        raise UsageError(f"{where}: {name} cannot sample this space ({reason}).") from None
    finally:
        optuna.logging.set_verbosity(verbosity)
