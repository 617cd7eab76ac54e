"""Short: do ordered classes do better as a regression on their rank than as plain classes?

The reverse reframing: a regressor fitted on the class rank and cut back into classes
(``shorts.reframe.OrdinalRegressor``) against a classifier that ignores the order, on the same
folds. The score is the mean absolute error in classes (being off by two is worse than by one),
and slices by target quartile show where the order helped.
"""

from __future__ import annotations

from omegaconf import DictConfig

from shorts import Context, run_folds, slice_metrics


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Compare the rank regression with the direct classifier on the same folds."""
    result = run_folds(cfg, ctx)
    ctx.log_metrics(slice_metrics(result))
    accuracy_model = float((result.prediction == result.dataset.y)[result.predicted].mean())
    accuracy_baseline = float(
        (result.baseline_prediction == result.dataset.y)[result.predicted].mean()
    )
    return {
        **result.summary(),
        "accuracy": accuracy_model,
        "baseline_accuracy": accuracy_baseline,
    }
