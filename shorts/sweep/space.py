"""A short's search space, declared in its experiment YAML, as Optuna distributions.

Why in the YAML: the space is part of the experiment's claim ("boosting beats ridge *somewhere in
this range*"), so it sits beside the hypothesis and caps, and every trial is an ordinary override
string that ``shorts run`` would accept::

    sweep:
      params:
        model.learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
        model.max_depth: {type: int, low: 2, high: 8}
        model.strategy: {type: categorical, choices: [quantile, uniform, kmeans]}
        model: {type: categorical, choices: [ridge, hist_gbm]}   # a config group works too
        model.alpha: {_target_: optuna.distributions.FloatDistribution, low: 0.1, high: 10}

``type`` names a preset, itself a ``_target_`` dict (``shorts.sweep.targets``), so the short forms
and any Optuna distribution are built the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shorts.errors import UsageError
from shorts.sweep.targets import Kind

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

DISTRIBUTION = Kind(
    "distribution",
    "optuna.distributions.BaseDistribution",
    {
        "float": {"_target_": "optuna.distributions.FloatDistribution"},
        "int": {"_target_": "optuna.distributions.IntDistribution"},
        "categorical": {"_target_": "optuna.distributions.CategoricalDistribution"},
    },
    key="type",
)


@dataclass(frozen=True)
class SearchSpace:
    """Override key -> Optuna distribution, in declaration order."""

    distributions: dict[str, BaseDistribution]

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The trial's values as Hydra overrides (``key=value``), ready for ``shorts run``."""
        return [f"{key}={_override_value(params[key])}" for key in self.distributions]


def parse_space(declared: Any, experiment: str) -> SearchSpace:
    """The ``sweep.params`` block of the composed config; ``UsageError`` naming what is wrong."""
    where = f"configs/experiment/{experiment}.yaml"
    params = (declared or {}).get("params") if isinstance(declared, Mapping) else None
    if not params:
        raise UsageError(
            f"the short {experiment!r} declares no search space; add to {where}: "
            "sweep: {params: {model.alpha: {type: float, low: 0.01, high: 10, log: true}}}"
        )
    distributions: dict[str, BaseDistribution] = {}
    for key, spec in params.items():
        at = f"sweep.params.{key} in {where}"
        distributions[str(key)] = DISTRIBUTION.build(DISTRIBUTION.config(spec, at), at)
    return SearchSpace(distributions)


def _override_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back (strings quoted only when needed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"  # what the trial's run gets, so the override reproduces it
    if value is None:
        return "null"
    text = str(value)
    plain = text.replace("_", "").replace("-", "").replace(".", "").replace("/", "")
    return text if plain.isalnum() else repr(text)
