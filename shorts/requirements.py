"""What a short needs of its config (``short.requires``), checked before any run exists.

A short written for one kind of model or data fails deep inside its worker when handed another
(``model=ridge`` to the reframing short, a continuous target to the ordinal one): a crashed run
for what is a usage mistake. Declaring the need in the experiment's YAML lets ``shorts run``
refuse it in one line, naming what is accepted::

    short:
      requires:
        model: shorts.reframe.BinnedRegressor   # the model's class, or a subclass of it
        task: classification                    # the data set's task: regression|classification
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from shorts.errors import UsageError

TASKS = ("regression", "classification")  # what a data set can be (shorts.datasets uses it too)


def check_requirements(
    short: str, cfg: Any, configs: Path, choices: Mapping[str, Any] | None = None
) -> None:
    """Refuse ``cfg`` (``UsageError``) when it breaks the short's ``short.requires``.

    ``choices``: the config groups chosen (``dataset=diabetes_ordinal``), to name them back.
    """
    requires = cfg.short.get("requires") or {}
    unknown = set(requires) - {"model", "task"}
    if unknown:
        raise UsageError(
            f"short.requires in configs/experiment/{short}.yaml has {sorted(unknown)}; "
            "accepted keys: model (a class), task (regression or classification)."
        )
    if requires.get("model"):
        _check_model(short, cfg, str(requires["model"]), configs)
    if requires.get("task"):
        chosen = (choices or {}).get("dataset")
        _check_task(short, cfg, str(requires["task"]), configs, chosen)


def _check_model(short: str, cfg: Any, required: str, configs: Path) -> None:
    from hydra.utils import get_class

    target = str((cfg.get("model") or {}).get("_target_") or "")
    try:
        wanted = get_class(required)
        given = get_class(target)
    except Exception:  # Hydra wraps import errors in several types
        given, wanted = None, None
    if given is not None and wanted is not None and issubclass(given, wanted):
        return
    accepted = [p.stem for p in _configs(configs / "model") if _read(p).get("_target_") == required]
    raise UsageError(
        f"the short {short!r} needs a {required} model, got {target or 'none'}; accepted: "
        + ", ".join(f"model={name}" for name in accepted or ["..."])
        + "."
    )


def _check_task(short: str, cfg: Any, required: str, configs: Path, chosen: str | None) -> None:
    if required not in TASKS:
        raise UsageError(
            f"short.requires.task={required!r} in configs/experiment/{short}.yaml; use one of: "
            f"{', '.join(TASKS)}."
        )
    dataset = cfg.get("dataset") or {}
    given = task_of(dataset)
    if given == required:
        return
    accepted = [p.stem for p in _configs(configs / "dataset") if task_of(_read(p)) == required]
    name = f"dataset={chosen}" if chosen else dataset.get("name") or "the data set"
    raise UsageError(
        f"the short {short!r} needs a {required} data set, and {name} is {given}; use "
        + ", ".join(f"dataset={d}" for d in accepted)
        + f" or set dataset.task={required}"
        + (" (or dataset.bins=K for K ordered classes)." if required == "classification" else ".")
    )


def task_of(dataset: Any) -> str:
    """The task a data set's config declares: ``task``, or classification if ``bins`` is set."""
    if dataset.get("task"):
        return str(dataset.get("task"))
    return "classification" if dataset.get("bins") else "regression"


def _configs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def _read(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
