"""``shorts.config.compose``: the one way from overrides to a checked run request.

Every command composes through it (multirun planning, sweep trials, list, inspect, label,
caps suggest, retro), so these tests compose in-process, without starting ``shorts``.
"""

from __future__ import annotations

import pytest
from conftest import ShortsProject

from shorts.config import compose, composing, group_choices
from shorts.errors import UsageError
from shorts.project import Project

pytestmark = pytest.mark.usefixtures("clean_hydra")


def test_compose_gives_the_request_shorts_run_would_run(project: ShortsProject) -> None:
    overrides = ["+experiment=baseline_regression", "model=knn", "cv.folds=3"]

    request = compose(Project(project.root), overrides)

    assert request.name == "baseline_regression"
    assert request.choices["model"] == "knn"
    assert request.choices["dataset"] == "diabetes"
    assert request.overrides == overrides
    assert request.cfg.cv.folds == 3
    assert "hydra" not in request.cfg
    assert request.cfg.model._target_ == "sklearn.pipeline.make_pipeline"


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["+experiment=nope"], "unknown short 'nope'; known shorts: baseline_regression"),
        (["+experiment=baseline_regression", "model=nope"], "Could not find 'model/nope'"),
        (["+experiment=baseline_regression", "cv.folds=[1"], "cv.folds=[1"),
        (["+experiment=baseline_regression", "nokey=1"], "Could not override 'nokey'"),
    ],
)
def test_what_does_not_compose_is_one_line(
    project: ShortsProject, overrides: list[str], said: str
) -> None:
    with pytest.raises(UsageError) as refused:
        compose(Project(project.root), overrides)

    assert said in str(refused.value)
    assert "\n" not in str(refused.value)


def test_compositions_share_one_hydra_context_and_leave_none_behind(
    project: ShortsProject,
) -> None:
    from hydra.core.global_hydra import GlobalHydra

    here = Project(project.root)
    with composing(here):
        names = [compose(here, [f"+experiment={n}"]).name for n in here.experiment_names()]
        assert GlobalHydra.instance().is_initialized()

    assert names == here.experiment_names()
    assert not GlobalHydra.instance().is_initialized()


def test_group_choices_are_the_options_as_hydra_composes_them(project: ShortsProject) -> None:
    # An option's own defaults list is applied, which a read of its YAML file would miss.
    (project.root / "configs" / "model" / "ridge_strong.yaml").write_text(
        "defaults:\n  - ridge\nalpha: 100.0\n"
    )

    models = group_choices(Project(project.root), "model")

    assert models["ridge"]["_target_"] == "sklearn.linear_model.Ridge"
    assert models["ridge_strong"]["_target_"] == "sklearn.linear_model.Ridge"
    assert models["ridge_strong"]["alpha"] == 100.0
