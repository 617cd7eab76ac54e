"""Short: does regression reframed as classification beat direct regression with the same learner?

Besides the overall verdict it logs RMSE per quartile of the true target, for both sides, so a
retrospective can say where the reframing helped or hurt, and saves the last fold's bins.

``cfg.variants`` (name to model config: soft bins, the stacked hybrid) run on the same folds as
``cfg.model``. The run's verdict is the model's; each variant gets its own, judged by the same
rule against the same baseline folds, with the quartiles where it helped, logged as
``variant.NAME.*`` metrics, a harvest note and ``variants.json``. ``~variants`` runs the model
alone, ``~variants.stacked`` drops one, ``+model@variants.NAME=CONFIG`` adds one.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig

from shorts import (
    BinnedRegressor,
    Context,
    CVResult,
    UsageError,
    judge,
    parse_rule,
    quartile_slices,
    quartiles_helped,
    run_folds,
    slice_metrics,
)


def _binned(model: Any) -> BinnedRegressor | None:
    """The ``BinnedRegressor`` in ``model``, which may also be a pipeline's last step."""
    final = getattr(model, "_final_estimator", model)
    return final if isinstance(final, BinnedRegressor) else None


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Cross-validate the binned model against ``cfg.baseline``; log slices, save bins.json."""
    if _binned(instantiate(cfg.model)) is None:
        raise UsageError(
            "The reframe_classification short needs a shorts.reframe.BinnedRegressor model "
            f"(e.g. model=binned_hist_gbm), got {cfg.model.get('_target_')}."
        )
    variants = {str(name): instantiate(node) for name, node in (cfg.get("variants") or {}).items()}
    result = run_folds(cfg, ctx, variants)
    ctx.log_metrics(slice_metrics(result))
    verdicts = {name: _judge_variant(cfg, ctx, result, name) for name in variants}
    if verdicts:
        ctx.artifact_path("variants.json").write_text(json.dumps(verdicts, indent=2) + "\n")
    binned = _binned(result.last_model)
    assert binned is not None  # checked above; the fitted clone has the same type
    bins = {
        "fold": len(result.scores) - 1,
        "target": result.dataset.target,
        "strategy": binned.strategy,
        "decode": binned.decode,
        "n_bins": binned.n_bins_,
        "bin_edges": [round(float(edge), 6) for edge in binned.bin_edges_],
        "bin_means": [round(float(mean), 6) for mean in binned.bin_means_],
    }
    ctx.artifact_path("bins.json").write_text(json.dumps(bins, indent=2) + "\n")
    summary = result.summary()
    ctx.harvest(
        "binning_scheme",
        bins,
        evidence={"rmse": summary["rmse"], "baseline_rmse": summary["baseline_rmse"]},
    )
    calibration = _interval_calibration(binned, result)
    ctx.harvest(
        "interval_calibration",
        "Coverage of predict_interval on the last fold's held-out rows "
        "(nominal -> observed): "
        + ", ".join(
            f"{nominal:.0%} -> {observed:.0%}" for nominal, observed in calibration.items()
        ),
        evidence={f"coverage_{round(n * 100)}": round(o, 4) for n, o in calibration.items()},
    )
    for nominal, observed in calibration.items():
        summary[f"interval_coverage_{round(nominal * 100)}"] = observed
    return summary


def _judge_variant(cfg: DictConfig, ctx: Context, result: CVResult, name: str) -> dict[str, Any]:
    """The variant's verdict against the baseline's folds, its quartiles, logged and harvested."""
    metric = result.metric
    scores = result.variant_scores[name]
    judgement = judge(parse_rule(cfg.verdict), scores, result.baseline_scores, result.test_train)
    rows = result.predicted
    slices = quartile_slices(
        result.dataset.y[rows],
        result.variant_predictions[name][rows],
        result.baseline_prediction[rows],
        metric,
    )
    helped = quartiles_helped(slices, metric)
    prefix = f"variant.{name}."
    ctx.log_metrics(
        {
            f"{prefix}{metric}": judgement.short_mean,
            f"{prefix}{metric}_uplift": judgement.uplift,
            f"{prefix}p_value": judgement.p_value,
            **{f"{prefix}{key}": value for key, value in slices.items() if "baseline" not in key},
        }
    )
    where = ", ".join(f"{q} {change:+.1%}" for q, change in helped.items()) or "no quartile"
    # the verdict itself is in the runner's summary; this says where it fell
    print(f"variant {name}: lower {metric} than the baseline in {where} of the target")
    model = cfg.variants[name].get("_target_")
    ctx.harvest(
        f"variant_{name}",
        f"Variant {name} ({model}): {judgement.verdict} on the same folds, {judgement.reason}. "
        f"Lower {metric} than the baseline in {where} of the target.",
        evidence={
            "verdict": str(judgement.verdict),
            metric: round(judgement.short_mean, 6),
            f"baseline_{metric}": round(judgement.baseline_mean, 6),
            "uplift": round(judgement.uplift, 6),
            "p_value": round(judgement.p_value, 6),
            **{f"helped_{q}": round(change, 6) for q, change in helped.items()},
        },
    )
    return {
        "model": model,
        "verdict": str(judgement.verdict),
        "reason": judgement.reason,
        "scores": scores,
        "uplift": judgement.uplift,
        "p_value": judgement.p_value,
        "helped": helped,
    }


def _interval_calibration(model: BinnedRegressor, result: CVResult) -> dict[float, float]:
    """Observed coverage of the model's prediction intervals on the last fold's test rows."""
    assert result.last_test is not None
    X = result.dataset.X[result.last_test]
    y = result.dataset.y[result.last_test]
    coverage = {}
    for nominal in (0.5, 0.8, 0.9):
        lower, upper = model.predict_interval(X, coverage=nominal)
        coverage[nominal] = float(np.mean((lower <= y) & (y <= upper)))
    return coverage
