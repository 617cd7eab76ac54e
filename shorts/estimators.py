"""The estimators a short will fit, built and checked before its run exists.

``model.n_bins=0`` used to create a run that crashed in its worker on scikit-learn's
``InvalidParameterError``: a usage mistake recorded as a failed experiment. The runner builds the
model, the baseline and every variant with Hydra's ``instantiate`` and checks their parameters
against scikit-learn's own constraints (nested estimators too) while the worker starts, and a
bad one is one line, exit 2, no run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shorts.errors import UsageError, one_line


def check_estimators(config: Mapping[str, Any]) -> None:
    """Build ``model``, ``baseline`` and each ``variants.NAME`` of ``config`` and validate their
    parameters; a ``UsageError`` naming the node and the parameter otherwise."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    for where, node in _estimator_nodes(config):
        try:
            _validate(instantiate(node))
        except (InstantiationException, ValueError, TypeError) as exc:
            cause = exc.__cause__ if isinstance(exc, InstantiationException) else exc
            raise UsageError(
                f"{where} ({node['_target_']}): {one_line(str(cause or exc))}"
            ) from None


def _estimator_nodes(config: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key in ("model", "baseline"):
        node = config.get(key)
        if isinstance(node, Mapping) and "_target_" in node:
            yield key, node
    for name, node in (config.get("variants") or {}).items():
        if isinstance(node, Mapping) and "_target_" in node:
            yield f"variants.{name}", node


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
