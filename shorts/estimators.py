"""The estimators a short will fit, built and checked before its run exists.

Why: a bad parameter (``model.n_bins=0``) used to be a run that crashed in its worker, a usage
mistake recorded as a failed experiment; now it is one line, exit 2, and no run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shorts.errors import UsageError, one_line


def check_estimators(config: Mapping[str, Any]) -> None:
    """Build ``model``, ``baseline`` and each ``variants.NAME`` of ``config`` and validate their
    parameters; a ``UsageError`` naming the node and the parameter otherwise."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    nodes = {key: config.get(key) for key in ("model", "baseline")}
    nodes |= {f"variants.{name}": node for name, node in (config.get("variants") or {}).items()}
    for where, node in nodes.items():
        if not (isinstance(node, Mapping) and "_target_" in node):
            continue
        try:
            _validate(instantiate(node))
        except (InstantiationException, ValueError, TypeError) as exc:
            cause = exc.__cause__ if isinstance(exc, InstantiationException) else exc
            raise UsageError(
                f"{where} ({node['_target_']}): {one_line(str(cause or exc))}"
            ) from None


def _validate(estimator: Any) -> None:
    """scikit-learn's own parameter check (what ``fit`` runs first), then the same for every
    estimator among its parameters (a reframing model's classifier, a router's two models)."""
    # Only estimators that declare constraints: LightGBM's and XGBoost's inherit the check
    # from scikit-learn's BaseEstimator but declare none (calling it raises AttributeError).
    if hasattr(estimator, "_parameter_constraints") and hasattr(estimator, "_validate_params"):
        estimator._validate_params()
    if hasattr(estimator, "get_params"):
        for value in estimator.get_params(deep=False).values():
            if hasattr(value, "get_params"):
                _validate(value)
