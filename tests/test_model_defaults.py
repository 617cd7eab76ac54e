"""Every model config runs its library's defaults, unless a comment next to the key says why.

Why: a short's verdict is only as strong as its baseline. A config that quietly shrinks a model
(``max_leaf_nodes: 15`` where scikit-learn's default is 31) makes every comparison against it a
comparison against a handicapped model, and numbers that do not match what the field publishes.

The rule, checked for every estimator in a config (nested classifiers and regressors of the
``shorts.reframe`` wrappers and pipeline steps included): each key the YAML sets has the value
the estimator's class takes by default (``get_params()`` of a default instance), or the key's
line carries a ``# why`` comment, or a comment line sits directly above it. Keys may repeat a
default (e.g. so ``model.max_leaf_nodes=63`` is a plain override); only differences need a why.

Configs whose library is an optional extra (``model=lightgbm``, ``model=xgboost``) are marked
``real_data`` and skipped with the extra's name when it is not installed; with
``SHORTS_REQUIRE_EXTRAS=1`` (CI's ``pytest -m real_data``, after it installed the extras) they
fail instead.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from shorts.requirements import extras_needed, install_hint, missing_extras

MODELS = Path(__file__).resolve().parents[1] / "configs" / "model"
# Configs from an optional extra are also marked real_data: CI runs those with the extras in.
MODEL_CONFIGS = [
    pytest.param(
        path,
        id=path.stem,
        marks=[pytest.mark.real_data] if extras_needed(OmegaConf.load(path)) else [],
    )
    for path in sorted(MODELS.glob("*.yaml"))
]
REQUIRED = os.environ.get("SHORTS_REQUIRE_EXTRAS") == "1"


@dataclass(frozen=True)
class Difference:
    """One key set away from its library's default, with nothing to say why."""

    file: str
    key: str  # dotted path in the config, e.g. classifier.max_leaf_nodes or _args_.1.weights
    value: Any
    default: Any
    line: int  # 1-based

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.key} = {self.value!r}, library default "
            f"{self.default!r}, and no comment on the line or above it says why"
        )


_UNSET = "(not set: the library's own default)"


def undocumented_differences(path: Path) -> list[Difference]:
    """Every key of the model config at ``path`` that differs from its default without a why."""
    text = path.read_text()
    return list(
        _walk(OmegaConf.load(path), yaml.compose(text), text.splitlines(), path.name, prefix="")
    )


def _walk(
    cfg: DictConfig, node: yaml.MappingNode, lines: list[str], file: str, prefix: str
) -> Iterator[Difference]:
    """The differences in one ``_target_`` node and, recursively, in the estimators it holds."""
    entries = {key.value: (key, value) for key, value in node.value}
    target = get_object(str(cfg._target_))
    params: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    if inspect.isclass(target):
        params = instantiate(cfg).get_params(deep=False)
        defaults = _defaults(target)
    for key, (key_node, value_node) in entries.items():
        child = cfg[key]
        if isinstance(child, DictConfig) and "_target_" in child:
            yield from _walk(child, value_node, lines, file, f"{prefix}{key}.")
        elif isinstance(child, ListConfig):
            for index, item in enumerate(child):
                if isinstance(item, DictConfig) and "_target_" in item:
                    yield from _walk(
                        item, value_node.value[index], lines, file, f"{prefix}{key}.{index}."
                    )
        elif not key.startswith("_") and inspect.isclass(target):
            value, default = params.get(key, child), defaults.get(key, _UNSET)
            if not _same(value, default) and not _documented(lines, key_node, value_node):
                yield Difference(file, prefix + key, value, default, key_node.start_mark.line + 1)


def _defaults(cls: type) -> dict[str, Any]:
    """The parameters of a default instance; the signature's defaults if one cannot be built."""
    try:
        return dict(cls().get_params(deep=False))
    except TypeError:  # a required argument
        return {
            name: p.default
            for name, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty
        }


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return isinstance(default, float) and math.isnan(default)
    if isinstance(value, bool) is not isinstance(default, bool):
        return False  # True == 1 in Python, not as a parameter
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and the like
        return repr(value) == repr(default)


def _documented(lines: list[str], key: yaml.Node, value: yaml.Node) -> bool:
    """A ``# why`` after the value on the key's line, or a comment line directly above the key."""
    line = key.start_mark.line
    if value.end_mark.line == line:
        trailing = lines[line][value.end_mark.column :].strip()
        if trailing.startswith("#") and trailing.lstrip("#").strip():
            return True
    above = lines[line - 1].strip() if line > 0 else ""
    return above.startswith("#") and bool(above.lstrip("#").strip())


def _skip_unless_installed(path: Path) -> None:
    missing = missing_extras(OmegaConf.load(path))
    if not missing:
        return
    extras = sorted(set(missing.values()))
    reason = f"{path.name} needs {', '.join(sorted(missing))}: " + "; ".join(
        install_hint(extra) for extra in extras
    )
    if REQUIRED:
        pytest.fail(f"SHORTS_REQUIRE_EXTRAS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("path", MODEL_CONFIGS)
def test_model_config_runs_library_defaults_or_says_why(path: Path) -> None:
    _skip_unless_installed(path)
    differences = undocumented_differences(path)
    assert not differences, "\n".join(str(d) for d in differences)


# -- the check itself can fail ------------------------------------------------------------------


def _check(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "wrong.yaml"
    path.write_text(text)
    return [str(d) for d in undocumented_differences(path)]


def test_an_undocumented_difference_is_named_with_file_key_value_and_default(
    tmp_path: Path,
) -> None:
    found = _check(
        tmp_path,
        "_target_: sklearn.ensemble.HistGradientBoostingRegressor\n"
        "learning_rate: 0.1\n"
        "max_leaf_nodes: 15\n",
    )
    assert found == [
        "wrong.yaml:3: max_leaf_nodes = 15, library default 31, "
        "and no comment on the line or above it says why"
    ]


def test_a_difference_inside_a_wrapped_classifier_or_pipeline_step_is_found(
    tmp_path: Path,
) -> None:
    found = _check(
        tmp_path,
        "_target_: shorts.reframe.BinnedRegressor\n"
        "n_bins: 7\n"
        "classifier:\n"
        "  _target_: sklearn.pipeline.make_pipeline\n"
        "  _args_:\n"
        "    - _target_: sklearn.preprocessing.StandardScaler\n"
        "      with_mean: false\n"
        "    - _target_: sklearn.linear_model.LogisticRegression\n"
        "      C: 1.0\n",
    )
    assert [line.split(",")[0] for line in found] == [
        "wrong.yaml:2: n_bins = 7",
        "wrong.yaml:7: classifier._args_.0.with_mean = False",
    ]


def test_a_comment_on_the_line_or_directly_above_documents_a_difference(
    tmp_path: Path,
) -> None:
    found = _check(
        tmp_path,
        "_target_: sklearn.ensemble.RandomForestRegressor\n"
        "n_estimators: 300  # more trees: steadier scores on small data\n"
        "# a fixed seed, so a rerun scores the same\n"
        "random_state: 0\n"
        "\n"
        "min_samples_leaf: 3\n"
        "max_depth: 4  #\n",
    )
    assert [line.split(",")[0] for line in found] == [
        "wrong.yaml:6: min_samples_leaf = 3",  # a blank line between comment and key
        "wrong.yaml:7: max_depth = 4",  # an empty comment says nothing
    ]


def test_a_key_the_library_does_not_set_by_default_counts_as_a_difference(
    tmp_path: Path,
) -> None:
    pytest.importorskip("lightgbm", reason=install_hint("boost"))
    found = _check(tmp_path, "_target_: lightgbm.LGBMRegressor\nverbose: -1\n")
    assert found == [
        f"wrong.yaml:2: verbose = -1, library default {_UNSET!r}, "
        "and no comment on the line or above it says why"
    ]
