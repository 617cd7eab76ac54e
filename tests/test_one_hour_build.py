"""one_hour_build's parts that decide what runs: the cost model, the families, the search space."""

from __future__ import annotations

import importlib.util

import optuna
import pytest
from sklearn.compose import TransformedTargetRegressor

from experiments import one_hour_build as ohb

SPACE = ohb.Space(cpus=1, positive_target=True, n_features=10)


def test_an_untried_family_has_no_estimate() -> None:
    costs = ohb.CostModel()

    assert costs.estimate(ohb.Work("hist_gbm", "hist_gbm", 100, 4.0, 0.1), folds=5) is None


def test_cost_scales_with_rounds_and_folds_from_what_was_measured() -> None:
    costs = ohb.CostModel()
    costs.record(ohb.Work("random_forest", "random_forest", 50), seconds=2.0, rounds_done=50)

    one = costs.estimate(ohb.Work("random_forest", "random_forest", 100), folds=1)
    five = costs.estimate(ohb.Work("random_forest", "random_forest", 100), folds=5)

    assert one == pytest.approx(2.0 * 2 * ohb.SAFETY)
    assert five == pytest.approx(5 * 2.0 * 2 * ohb.SAFETY)


def test_a_generous_max_iter_is_not_its_cost_once_early_stopping_is_seen() -> None:
    """Rounds x learning rate of an early stop predicts the rounds of a slower learner."""
    costs = ohb.CostModel()
    costs.record(ohb.Work("hist_gbm", "hist_gbm", 1000, 4.0, 0.1), seconds=1.0, rounds_done=200)

    assert costs.rounds(ohb.Work("hist_gbm", "hist_gbm", 3000, 4.0, 0.05)) == pytest.approx(400)
    assert (
        costs.rounds(ohb.Work("hist_gbm", "hist_gbm", 300, 4.0, 0.05)) == 300
    )  # capped by its max_iter


def test_fits_that_ran_all_their_rounds_say_nothing_about_early_stopping() -> None:
    costs = ohb.CostModel()
    costs.record(ohb.Work("hist_gbm", "hist_gbm", 100, 4.0, 0.1), seconds=1.0, rounds_done=100)

    assert costs.rounds(ohb.Work("hist_gbm", "hist_gbm", 3000, 4.0, 0.01)) == 3000


def test_a_family_whose_library_is_missing_is_skipped_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.import_module

    def no_lightgbm(name: str) -> object:
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real(name)

    monkeypatch.setattr(importlib, "import_module", no_lightgbm)

    families, notes = ohb.available_families(["hist_gbm", "lightgbm", "ridge"])

    assert families == ["hist_gbm", "ridge"]
    assert len(notes) == 1 and "lightgbm" in notes[0] and "boost" in notes[0]


def test_an_unknown_family_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="hist_gbm"):
        ohb.available_families(["hist_gbm", "gbm_deluxe"])


@pytest.mark.parametrize("family", sorted(ohb.FAMILIES))
def test_every_probe_sets_every_parameter_of_its_family(family: str) -> None:
    if family in ohb.OPTIONAL and importlib.util.find_spec(ohb.OPTIONAL[family][0]) is None:
        pytest.skip(f"{family} is not installed")
    # FixedTrial raises for any parameter the probe leaves out
    model, work = ohb.FAMILIES[family](optuna.trial.FixedTrial(ohb.PROBES[family]), SPACE)

    assert work.family == family and hasattr(model, "fit")


def test_the_log_target_is_never_offered_for_a_target_with_non_positive_values() -> None:
    params = {**ohb.PROBES["hist_gbm"], "hgb_log_target": True}

    logged, _ = ohb._hist_gbm(optuna.trial.FixedTrial(params), SPACE)
    plain, work = ohb._hist_gbm(
        optuna.trial.FixedTrial(params), ohb.Space(1, positive_target=False, n_features=10)
    )

    assert isinstance(logged, TransformedTargetRegressor)
    assert not isinstance(plain, TransformedTargetRegressor) and work.key == "hist_gbm"


def test_estimates_grow_when_fits_run_slower_than_expected() -> None:
    """A shared machine slows down mid-run: the safety factor follows the latest misses."""
    costs = ohb.CostModel()
    work = ohb.Work("random_forest", "random_forest", 10)
    costs.record(work, seconds=1.0, rounds_done=10)
    assert costs.safety() == ohb.SAFETY

    costs.record(work, seconds=3.0, rounds_done=10)  # expected 1 s (the median so far)

    assert costs.safety() == pytest.approx(3.0)


def test_fits_too_short_to_overrun_a_deadline_do_not_move_the_safety_factor() -> None:
    costs = ohb.CostModel()
    work = ohb.Work("ridge", "ridge")
    costs.record(work, seconds=ohb.MIN_TIMED / 100, rounds_done=1)
    costs.record(work, seconds=ohb.MIN_TIMED / 2, rounds_done=1)

    assert costs.safety() == ohb.SAFETY


class _Fitted:
    n_iter_ = 7


def test_only_early_stopping_work_is_counted_in_the_rounds_it_took() -> None:
    """A baseline or a lasso reports n_iter_ too; their cost is not counted in it."""
    assert ohb._rounds_done(_Fitted(), ohb.Work("hist_gbm", "hist_gbm", 100, 4.0, 0.1)) == 7
    assert ohb._rounds_done(_Fitted(), ohb.BASELINE) == ohb.BASELINE.rounds


def _asked(study: optuna.Study, family: str) -> tuple[optuna.trial.Trial, ohb.Work]:
    study.enqueue_trial({"family": family, **ohb.PROBES[family], "hgb_max_iter": 1000})
    trial = study.ask()
    trial.suggest_categorical("family", [family])
    return trial, ohb.FAMILIES[family](trial, SPACE)[1]


def test_a_candidate_too_long_for_the_time_left_is_cut_to_the_rounds_that_fit() -> None:
    trial, work = _asked(optuna.create_study(), "hist_gbm")

    smaller = ohb._shrunk(trial, work, ohb.CostModel(), share=0.5)

    assert smaller is not None and smaller["hgb_max_iter"] < 500
    assert {k: v for k, v in smaller.items() if k != "hgb_max_iter"} == {
        k: v for k, v in trial.params.items() if k != "hgb_max_iter"
    }


def test_no_cut_below_the_fewest_rounds_of_the_space_and_none_for_a_linear_model() -> None:
    trial, work = _asked(optuna.create_study(), "hist_gbm")
    ridge, ridge_work = _asked(optuna.create_study(), "ridge")

    assert ohb._shrunk(trial, work, ohb.CostModel(), share=0.01) is None  # 9 < 100 rounds
    assert ohb._shrunk(ridge, ridge_work, ohb.CostModel(), share=0.5) is None
