"""Datasets a short can name in its config: offline only, so a short never waits on a download.

A ``dataset`` config node names a ``source`` and a ``name`` (see ``configs/dataset/``); everything
else in the node is that loader's knobs. scikit-learn is imported only when a dataset is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shorts.errors import UsageError

__all__ = ["Dataset", "load_dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded table: features ``X`` (rows x features) and a numeric target ``y``.

    ``eq=False`` because comparing numpy arrays field by field has no single truth value;
    identity is the only equality that makes sense here.
    """

    name: str
    X: np.ndarray[Any, np.dtype[np.float64]]
    y: np.ndarray[Any, np.dtype[np.float64]]
    feature_names: list[str]
    target: str

    @property
    def digest(self) -> str:
        """A content hash of features and target: the same digest means the same data."""
        import hashlib

        hasher = hashlib.sha256()
        hasher.update(np.ascontiguousarray(self.X).tobytes())
        hasher.update(np.ascontiguousarray(self.y).tobytes())
        return hasher.hexdigest()[:16]


def _diabetes(spec: Mapping[str, Any]) -> Dataset:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    return Dataset(
        name="diabetes",
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.float64),
        feature_names=[str(name) for name in bunch.feature_names],
        target=str(spec.get("target", "disease_progression")),
    )


def _friedman1(spec: Mapping[str, Any]) -> Dataset:
    from sklearn.datasets import make_friedman1

    n_features = int(spec.get("n_features", 10))
    if n_features < 5:
        raise UsageError(f"dataset friedman1 needs n_features >= 5, got {n_features}.")
    seed = spec.get("seed")
    X, y = make_friedman1(
        n_samples=int(spec.get("n_samples", 100)),
        n_features=n_features,
        noise=float(spec.get("noise", 0.0)),
        random_state=None if seed is None else int(seed),
    )
    return Dataset(
        name="friedman1",
        X=np.asarray(X, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        feature_names=[f"x{i}" for i in range(n_features)],
        target=str(spec.get("target", "y")),
    )


_LOADERS: dict[tuple[str, str], Callable[[Mapping[str, Any]], Dataset]] = {
    ("sklearn", "diabetes"): _diabetes,
    ("synthetic", "friedman1"): _friedman1,
}


def load_dataset(spec: Mapping[str, Any]) -> Dataset:
    """Load the dataset a config's ``dataset`` node describes.

    Args:
        spec: the ``dataset`` node (a ``DictConfig`` or plain mapping) with ``source`` and ``name``.

    Raises:
        UsageError: the source/name pair is not one this module knows.
    """
    key = (str(spec.get("source")), str(spec.get("name")))
    loader = _LOADERS.get(key)
    if loader is None:
        accepted = ", ".join(f"source={s} name={n}" for s, n in _LOADERS)
        raise UsageError(
            f"Unknown dataset source={key[0]} name={key[1]}; accepted datasets are: {accepted}."
        )
    return loader(spec)
