"""``shorts new NAME``: a new short that already runs end to end on the default data set, its
function comparing the model with the baseline through ``shorts.evaluate`` from the first run.
"""

from __future__ import annotations

import keyword
import re

from shorts.errors import UsageError
from shorts.project import Project

_NAME = re.compile(r"[a-z][a-z0-9_]{0,60}")

CONFIG_TEMPLATE = """\
# @package _global_
defaults:
  - /model@baseline: ridge          # what the short must beat, on the same folds
  - override /model: hist_gbm       # the idea under test: any configs/model/*.yaml
  - override /caps: small           # 60 s, 1 GiB, 1 core: raise them if the idea needs it

short:
  fn: experiments.{name}:run
  hypothesis: TODO one sentence that can turn out false, e.g. "boosting beats ridge on diabetes".
  techniques: [TODO-technique]

verdict:
  metric: rmse                      # rmse, mae or accuracy
  direction: minimize
  min_uplift: 0.0                   # 0.02 = must be at least 2% better to count as a hit
"""

CODE_TEMPLATE = '''\
"""Short {name}: TODO say what it tries and why."""

from __future__ import annotations

from omegaconf import DictConfig

from shorts import Context, run_folds, slice_metrics


def run(cfg: DictConfig, ctx: Context) -> dict[str, float]:
    """Compare cfg.model with cfg.baseline on the same folds; the runner decides the verdict."""
    result = run_folds(cfg, ctx)  # logs fold scores, declares the data, reports folds
    ctx.log_metrics(slice_metrics(result))  # where it helped or hurt, by target quartile
    return result.summary()
'''


def new_short(project: Project, args: list[str]) -> int:
    """Write ``configs/experiment/NAME.yaml`` and ``experiments/NAME.py``; refuse to overwrite."""
    if len(args) != 1 or args[0] in ("-h", "--help"):
        if args in (["-h"], ["--help"]):
            print("usage: shorts new NAME   (a lower-case identifier, e.g. my_idea)")
            return 0
        raise UsageError("usage: shorts new NAME, with NAME a lower-case identifier like my_idea.")
    name = args[0]
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UsageError(
            f"{name!r} cannot name a short; use a lower-case Python identifier like my_idea."
        )
    config = project.experiment_configs / f"{name}.yaml"
    code = project.root / "experiments" / f"{name}.py"
    for path in (config, code):
        if path.exists():
            raise UsageError(f"{path.relative_to(project.root)} already exists; pick another name.")
    config.parent.mkdir(parents=True, exist_ok=True)
    code.parent.mkdir(parents=True, exist_ok=True)
    init = code.parent / "__init__.py"
    if not init.exists():
        init.write_text('"""The shorts\' code: one function per short."""\n')
    config.write_text(CONFIG_TEMPLATE.format(name=name))
    code.write_text(CODE_TEMPLATE.format(name=name))
    print(f"created {config.relative_to(project.root)} and {code.relative_to(project.root)}")
    print(f"next: edit the hypothesis, then  shorts run +experiment={name}")
    return 0
