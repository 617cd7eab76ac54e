"""Reading an on-location command's ``key=value`` arguments: its own keys and a composed config.

Why Hydra's compose API and not ``@hydra.main``: these commands run once, in this process, with no
multirun and no output folder, and their own keys (``n=20``) are not part of the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from shorts.config import compose, composing
from shorts.errors import UsageError
from shorts.project import PRIMARY_CONFIG, Project

# The model an on-location command fits when the user names none: strong on tabular data
# without tuning, and quick at these sizes (configs/model/*.yaml).
DEFAULT_MODELS = {"regression": "hist_gbm", "classification": "hist_gbm_classifier"}


@dataclass(frozen=True)
class Arguments:
    """An on-location command's own keys and the overrides left for the config."""

    own: dict[str, str]
    overrides: list[str]

    @property
    def model_chosen(self) -> bool:
        """Whether the user (or a short, through ``+experiment``) picks the model."""
        keys = {o.split("=", 1)[0].lstrip("+~") for o in self.overrides}
        return bool(keys & {"model", "experiment"})


def split_arguments(args: list[str], own_keys: Mapping[str, str], usage: str) -> Arguments:
    """``n=20 dataset=x`` → own ``{"n": "20"}`` and overrides ``["dataset=x"]``; ``own_keys``
    maps each own key to what it accepts, for the error messages, as ``usage`` does for a flag."""
    own: dict[str, str] = {}
    overrides: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            raise UsageError(f"unknown option {arg!r}; {usage}")
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(f"{arg!r} is not KEY=VALUE; {usage}")
        if key in own_keys:
            if key in own:
                raise UsageError(f"{key} is given twice; {key}={own_keys[key]}.")
            own[key] = value
        else:
            overrides.append(arg)
    return Arguments(own, overrides)


def model_config(project: Project, cfg: DictConfig, task: str, chosen: bool) -> Any:
    """The ``model`` node to fit: the one chosen, else the default for the data set's task."""
    if chosen:
        return cfg.model
    return compose(project, [f"model={DEFAULT_MODELS[task]}"]).cfg.model


def model_name(project: Project, overrides: list[str], task: str) -> str:
    """The model's config name: ``model=NAME``, the short's ``override /model``, or the default."""
    chosen = [o.split("=", 1) for o in overrides if "=" in o]
    models = [value for key, value in chosen if key.lstrip("+~") == "model"]
    if models:
        return models[-1]
    shorts = [value for key, value in chosen if key.lstrip("+~") == "experiment"]
    if not shorts:
        return DEFAULT_MODELS[task]
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    with composing(project):  # the defaults list says what the short overrides; a config cannot
        loader = GlobalHydra.instance().config_loader()
        short = [f"+experiment={shorts[-1]}"]
        defaults = loader.compute_defaults_list(PRIMARY_CONFIG, short, RunMode.RUN)
    return str(defaults.overrides.override_choices.get("model") or f"{shorts[-1]}'s model")


def whole_number(
    own: Mapping[str, str],
    key: str,
    default: int,
    accepted: str,
    low: int = 1,
    high: int | None = None,
) -> int:
    """``own[key]`` as a whole number in ``[low, high]`` (or ``default``), else a one-line
    ``UsageError`` saying what ``key`` accepts."""
    text = own.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        raise UsageError(f"{key}={text!r} is not accepted; {key}={accepted}.")
    return value
