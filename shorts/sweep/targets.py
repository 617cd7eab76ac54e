"""Optuna objects declared in an experiment's YAML: a preset's name, or a ``_target_`` dict.

A preset (``{name: tpe}``, ``{type: float, low: 0, high: 1}``) is a ``_target_`` dict in its
kind's table, so every form ends in ``hydra.utils.instantiate`` and any Optuna class of the kind
works without code here. The class is checked before it is called: a wrong ``_target_``, unknown
preset or bad option is one line (exit 2) before the sweep starts anything.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shorts.errors import UsageError, one_line


@dataclass(frozen=True)
class Kind:
    """One kind of Optuna object the YAML may declare.

    Args:
        noun: what the kind is called in messages (``sampler``).
        base: the dotted path of the class every ``_target_`` must subclass.
        presets: preset name to its ``_target_`` dict (defaults included).
        key: the option that names a preset (``name``; ``type`` for distributions).
        default: the preset used when the spec names none.
    """

    noun: str
    base: str
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    key: str = "name"
    default: str | None = None

    @property
    def accepted(self) -> str:
        """What a message says is accepted: the presets, or a subclass of the base class."""
        return f"use {self.key}: {' | '.join(self.presets)}, or _target_: a subclass of {self.base}"

    def config(self, spec: Any, where: str) -> dict[str, Any]:
        """``spec`` as one ``_target_`` dict, its class checked: a preset's with the spec's
        options over it, or the spec's own ``_target_``."""
        options = _plain(spec, self.key)
        if not isinstance(options, dict):
            raise UsageError(f"{where} must be a mapping; {self.accepted}.")
        if "_target_" not in options:
            name = options.pop(self.key, self.default)
            if not isinstance(name, str) or name not in self.presets:
                raise UsageError(f"{where}: {self.key} {name!r} is unknown; {self.accepted}.")
            options = {**self.presets[name], **options}
        elif self.key in options:
            raise UsageError(f"{where}: give {self.key} (a preset) or _target_, not both.")
        self.target(options, where)
        return options

    def target(self, config: Mapping[str, Any], where: str) -> type:
        """The class ``config`` names, located by Hydra (its target rules apply), if it is of
        this kind."""
        target = config.get("_target_")
        found = _located(target) if isinstance(target, str) else None
        if not (isinstance(found, type) and issubclass(found, _located(self.base))):
            raise UsageError(
                f"{where}: _target_ {target!r} is not an Optuna {self.noun}; {self.accepted}."
            )
        return found

    def build(self, config: Mapping[str, Any], where: str) -> Any:
        """The object ``config`` declares; its constructor's complaint is one line that names
        the options the class takes."""
        from hydra.errors import InstantiationException
        from hydra.utils import instantiate
        from optuna.exceptions import ExperimentalWarning

        cls = self.target(config, where)
        try:
            with warnings.catch_warnings():
                # The YAML names the class on purpose; Optuna's notice would print as several
                # lines pointing into Hydra's code.
                warnings.simplefilter("ignore", ExperimentalWarning)
                return instantiate(config, _convert_="all")
        except InstantiationException as exc:
            takes = [p for p in inspect.signature(cls).parameters if p not in ("args", "kwargs")]
            raise UsageError(
                f"{where}: {one_line(str(exc.__cause__ or exc)).rstrip('.')}; {cls.__name__} takes "
                f"{', '.join(takes) or 'no options'}."
            ) from None


def _plain(spec: Any, key: str) -> Any:
    """A YAML node as plain Python (``None`` is an empty mapping, a bare string a preset)."""
    from omegaconf import DictConfig, OmegaConf

    if spec is None:
        return {}
    if isinstance(spec, str):
        return {key: spec}
    if isinstance(spec, DictConfig):
        return OmegaConf.to_container(spec, resolve=True)
    return dict(spec) if isinstance(spec, Mapping) else spec


def _located(path: str) -> Any:
    """The object at ``path`` as ``instantiate`` would find it, without calling it."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate({"_target_": path, "_partial_": True}).func
    except InstantiationException:
        return None
