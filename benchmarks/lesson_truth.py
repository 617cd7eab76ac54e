"""Are the retrospective's lessons true? Null and planted effects, run for real, judged by retro.

Every run is a real ``shorts run`` (the capped, supervised runner, 2 at a time) recorded in a
fresh sqlite MLflow store in a temporary folder; the retrospective's own code
(``shorts.retro.load.load_runs`` and ``shorts.retro.analysis.harvest``) then reads them. Each
*group* is one configuration run with several seeds (``cv.seed``, the learners'
``random_state``): the replicates the retrospective pools. Four kinds of group:

* null, reseeded learners: ``random_forest`` or ``extra_trees`` against the same learner with
  another ``random_state``, on diabetes and on friedman1 (500 rows);
* null, equal but different learners: ``Ridge(alpha=0.999)`` against ``Ridge(alpha=1.0)``, and
  ``LinearRegression`` against ``Ridge(alpha=0.001)``, on diabetes (deterministic differences far
  below the 1% margin, consistent across folds), and ``Ridge(alpha=1)`` against
  ``Ridge(alpha=1.1)`` (a real gain of about +0.65%, under the margin: a hit would claim more);
* planted overall gain: ``Ridge(alpha=1)`` against ``Ridge(alpha=2)`` on diabetes (about +5%);
* planted gain confined to a feature slice: the ``slice_hybrid`` short, a
  ``shorts.routing.SliceRouter`` with ``hist_gbm`` on rows where ``x0`` is at or above its median,
  against ``ridge``, on friedman1 (2,000 rows, noise 3), in two styles that alternate across
  quarters: ``ridge`` elsewhere (the baseline itself: the gain is on that half only, diluted
  overall, so it should surface as a hit), and an over-regularised ``Ridge(alpha=300)``
  elsewhere (worse than the baseline there: a miss overall that won on the slice, so it should
  surface as a slice win).

Quarters are then assembled from disjoint groups (no run is in two quarters): *null-only*
quarters of null groups, and *mixed* quarters of null groups plus one planted-overall and one
planted-slice group; within a quarter every group has its own configuration, so the
retrospective cannot merge two of them. For each quarter ``harvest`` runs on that quarter's runs
alone and the script checks its lessons against the truth:

* null-only quarters with any ``hit`` or ``slice win`` lesson (goal <= 5%);
* false discovery proportion: hit/slice-win lessons about null groups over all of them, across
  quarters (goal <= 5%); the same at the level of selected claims is printed beside it (lessons
  are capped at two of a kind, so a false claim can hide behind a true one);
* planted effects found (goal >= 80%): a planted overall gain needs a hit lesson for its group; a
  planted slice a hit lesson for its group, or a slice win (lesson, or the harvest's list of
  slice wins) on ``x0``'s upper half.

It also prints the planted gains as measured (pooled over each group's runs), each kind's own run
verdicts, the claims tested per quarter and the wall time. Exit status 0 whether or not the goals
are met: PASS/FAIL is printed beside each.

Budget: 20 minutes on 2 cores for the default sizes: 20 null-only and 4 mixed quarters, 228
runs, each ~8 CPU-seconds (three Python processes per run, MLflow included), 2 at a time: about
15 minutes here (120 runs took 7m51s); ``--quick`` (21 runs) is a 2-3 minute smoke version.
``--workdir DIR`` keeps the store there and reuses the runs already recorded for the same
commands, so the analysis can be rerun without running them again.

Usage: python benchmarks/lesson_truth.py [--quick] [--seeds 3] [--null-quarters 20]
       [--mixed-quarters 4] [--null-per-quarter 3] [--jobs 2] [--level 0.05] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shorts.project import find_project

NULL, OVERALL, SLICE = "null", "planted overall", "planted slice"
LESSON_KINDS = ("hit", "slice win")
RUN_ID = re.compile(r"^\s*run\s+([0-9a-f]{32})\b", re.MULTILINE)
RUN_TIMEOUT = 300  # seconds per `shorts run` (the shorts' own wall cap is 60 s)
BUDGET = 20 * 60  # seconds on 2 cores
QUICK_BUDGET = 5 * 60
GOAL_NULL_QUARTERS = 0.05
GOAL_FDP = 0.05
GOAL_FOUND = 0.80
FRIEDMAN_NULL = ("dataset=friedman1", "dataset.n_samples=500")
FRIEDMAN_SLICE = {"n_samples": 2000, "noise": 3.0, "n_features": 10}
SLICE_COLUMN = 0
ROUTER = (
    "dataset=friedman1",
    *(f"dataset.{k}={v}" for k, v in FRIEDMAN_SLICE.items()),
    f"model.column={SLICE_COLUMN}",
)


@dataclass(frozen=True)
class Kind:
    """One configuration, run as many groups (each with its own seeds)."""

    name: str
    role: str  # NULL, OVERALL or SLICE
    overrides: tuple[str, ...]
    reseeded: bool = False  # model and baseline take random_state seeds
    dataset_seed: bool = False  # friedman1: one dataset.seed per group


KINDS = (
    Kind(
        "rf-reseeded-diabetes",
        NULL,
        ("model=random_forest", "model@baseline=random_forest"),
        reseeded=True,
    ),
    Kind(
        "et-reseeded-diabetes",
        NULL,
        ("model=extra_trees", "model@baseline=extra_trees"),
        reseeded=True,
    ),
    Kind(
        "rf-reseeded-friedman1",
        NULL,
        ("model=random_forest", "model@baseline=random_forest", *FRIEDMAN_NULL),
        reseeded=True,
        dataset_seed=True,
    ),
    Kind(
        "et-reseeded-friedman1",
        NULL,
        ("model=extra_trees", "model@baseline=extra_trees", *FRIEDMAN_NULL),
        reseeded=True,
        dataset_seed=True,
    ),
    Kind(
        "ridge0.999-vs-ridge1-diabetes",
        NULL,
        ("model=ridge", "model@baseline=ridge", "model.alpha=0.999"),
    ),
    Kind(
        "linear-vs-ridge0.001-diabetes",
        NULL,
        ("model=linear", "model@baseline=ridge", "baseline.alpha=0.001"),
    ),
    # A real gain, but below the 1% margin (+0.65% on diabetes): a "hit" would claim too much.
    Kind(
        "ridge1-vs-ridge1.1-diabetes",
        NULL,
        ("model=ridge", "model@baseline=ridge", "baseline.alpha=1.1"),
    ),
    Kind(
        "ridge1-vs-ridge2-diabetes",
        OVERALL,
        ("model=ridge", "model@baseline=ridge", "baseline.alpha=2.0"),
    ),
    # slice-only first: a --quick run (one mixed quarter) tries the slice-win path
    Kind(
        "router-x0-hgb|ridge300-vs-ridge-friedman1",
        SLICE,
        (*ROUTER, "model.baseline.alpha=300"),
        dataset_seed=True,
    ),
    Kind("router-x0-hgb|ridge-vs-ridge-friedman1", SLICE, ROUTER, dataset_seed=True),
)


@dataclass
class Group:
    """One configuration with its seeds: the replicates a retrospective pools."""

    kind: Kind
    index: int  # unique across the benchmark: seeds derive from it
    seeds: int
    target: str = ""  # planted slice: its name as run_folds names it, e.g. "x0 >= 0.4978"
    router_low: float | None = None
    runs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # commands with no recorded run id

    @property
    def label(self) -> str:
        return f"{self.kind.name}#{self.index}"

    def commands(self) -> list[list[str]]:
        """The ``shorts run`` overrides of each replicate."""
        short = "slice_hybrid" if self.kind.role == SLICE else "baseline_regression"
        out = []
        for r in range(self.seeds):
            seed = 1000 + 10 * self.index + r
            args = [f"+experiment={short}", *self.kind.overrides, f"cv.seed={seed}"]
            if self.kind.reseeded:
                args += [f"model.random_state={2 * seed + 1}", f"baseline.random_state={2 * seed}"]
            if self.kind.dataset_seed:
                args.append(f"dataset.seed={100 + self.index}")
            if self.kind.role == SLICE:
                args += [f"model.low={self.router_low}", f"model.estimator.random_state={seed}"]
            out.append(args)
        return out


@dataclass
class Quarter:
    name: str
    mixed: bool
    groups: list[Group]

    def run_ids(self) -> set[str]:
        return {r for g in self.groups for r in g.runs}


@dataclass
class Judged:
    """What one quarter's retrospective said, checked against the truth."""

    quarter: Quarter
    claims: int
    selected: int
    null_selected: int
    lessons: list[tuple[str, Group | None]]  # (kind, group) of hit / slice-win lessons
    found: dict[str, str]  # planted group label -> how it was found ("" not found)
    gains: dict[str, tuple[float, float]]  # planted group label -> (overall, target slice)
    null_claims: list[dict[str, Any]]


def main() -> None:
    began = time.perf_counter()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 3-5 minute smoke version")
    parser.add_argument("--seeds", type=int, default=3, help="runs per group (replicates)")
    parser.add_argument("--null-quarters", type=int, default=None, help="default 20 (quick 1)")
    parser.add_argument("--mixed-quarters", type=int, default=None, help="default 4 (quick 1)")
    parser.add_argument("--null-per-quarter", type=int, default=3, help="null groups, null-only")
    parser.add_argument("--null-per-mixed", type=int, default=2, help="null groups, mixed")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (2 cores: 2)")
    parser.add_argument("--level", type=float, default=0.05, help="the retrospective's FDR")
    parser.add_argument("--workdir", type=Path, default=None, help="keep and reuse the store here")
    args = parser.parse_args()
    null_quarters = (
        args.null_quarters if args.null_quarters is not None else (1 if args.quick else 20)
    )
    mixed_quarters = (
        args.mixed_quarters if args.mixed_quarters is not None else (1 if args.quick else 4)
    )

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shorts-lesson-truth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        measure(args, null_quarters, mixed_quarters, workdir, began)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"store kept in {workdir} (rerun with --workdir {workdir} to reuse its runs)")


def measure(
    args: argparse.Namespace, null_quarters: int, mixed_quarters: int, workdir: Path, began: float
) -> None:
    """Run the groups, harvest each quarter, print the figures."""
    project = find_project(Path(__file__).resolve().parent)
    uri = f"sqlite:///{(workdir / 'mlflow.db').resolve()}"
    quarters = plan(
        null_quarters, mixed_quarters, args.null_per_quarter, args.null_per_mixed, args.seeds
    )
    groups = [g for q in quarters for g in q.groups]
    jobs = sum(len(g.commands()) for g in groups)
    print(
        f"lesson_truth: {len(quarters)} quarters ({null_quarters} null-only of "
        f"{args.null_per_quarter} null groups, {mixed_quarters} mixed of {args.null_per_mixed} "
        f"null + 1 planted overall + 1 planted slice), {len(groups)} groups of {args.seeds} "
        f"seeds, {jobs} runs, {args.jobs} at a time; store {uri}"
    )
    print("quarters use disjoint runs: no run or group is in two quarters")
    prepare_store(uri, workdir)
    run_seconds = run_groups(groups, uri, project.root, workdir, args.jobs)

    analysis_began = time.perf_counter()
    frame = load_frame(uri)
    judged = [judge_quarter(q, frame, uri, args.level) for q in quarters]
    analysis_seconds = time.perf_counter() - analysis_began
    report(quarters, judged, frame, args.level)
    wall = time.perf_counter() - began
    budget = QUICK_BUDGET if args.quick else BUDGET
    print(
        f"\nwall time: {wall:.0f}s in all ({run_seconds:.0f}s of runs, {analysis_seconds:.1f}s "
        f"loading and {len(quarters)} retrospectives); budget {budget // 60} min "
        f"{'PASS' if wall <= budget else 'FAIL'}"
    )


def plan(
    null_quarters: int, mixed_quarters: int, null_per_quarter: int, null_per_mixed: int, seeds: int
) -> list[Quarter]:
    """Quarters of fresh groups; null kinds rotate so no quarter holds a kind twice."""
    nulls = [k for k in KINDS if k.role == NULL]
    if max(null_per_quarter, null_per_mixed) > len(nulls):
        raise SystemExit(f"at most {len(nulls)} null groups per quarter (one per null kind)")
    overall = next(k for k in KINDS if k.role == OVERALL)
    sliced = [k for k in KINDS if k.role == SLICE]
    counter = iter(range(10_000))
    rotation = 0

    def fresh(kind: Kind) -> Group:
        group = Group(kind, next(counter), seeds)
        if kind.role == SLICE:
            group.target, group.router_low = planted_slice(100 + group.index)
        return group

    def null_groups(n: int) -> list[Group]:
        nonlocal rotation
        picked = [fresh(nulls[(rotation + j) % len(nulls)]) for j in range(n)]
        rotation += n
        return picked

    quarters = [
        Quarter(f"N{i + 1}", False, null_groups(null_per_quarter)) for i in range(null_quarters)
    ]
    quarters += [
        Quarter(
            f"M{i + 1}",
            True,
            [*null_groups(null_per_mixed), fresh(overall), fresh(sliced[i % len(sliced)])],
        )
        for i in range(mixed_quarters)
    ]
    return quarters


def planted_slice(dataset_seed: int) -> tuple[str, float]:
    """The upper half of ``x0`` as ``run_folds`` names it, and its edge for the router."""
    from shorts.datasets import load_dataset
    from shorts.evaluate import feature_slices

    spec = {"name": "friedman1", "source": "synthetic", "target": "y", "seed": dataset_seed}
    data = load_dataset({**spec, **FRIEDMAN_SLICE})
    for name, definition in feature_slices(data).items():
        if definition.get("column") == SLICE_COLUMN and definition.get("low") is not None:
            return name, float(definition["low"])
    raise SystemExit(f"friedman1 seed {dataset_seed}: no upper half of x{SLICE_COLUMN}")


def prepare_store(uri: str, workdir: Path) -> None:
    """Create the store and the shorts' experiments once, before runs race for them, with
    artifacts in ``workdir`` (an experiment created by a run would put them in the project)."""
    from shorts.tracking.store import experiment_id, open_client

    client = open_client(uri)
    for short in ("baseline_regression", "slice_hybrid"):
        experiment_id(client, short, uri, workdir / "artifacts")


def run_groups(groups: Sequence[Group], uri: str, root: Path, workdir: Path, jobs: int) -> float:
    """Run every replicate of every group through ``shorts run``, ``jobs`` at a time."""
    done_file = workdir / "runs.json"
    done: dict[str, str] = json.loads(done_file.read_text()) if done_file.exists() else {}
    shorts = Path(sys.executable).with_name("shorts")
    command = [str(shorts)] if shorts.exists() else [sys.executable, "-m", "shorts"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    todo: list[tuple[Group, list[str]]] = []
    for group in groups:
        for overrides in group.commands():
            key = " ".join(overrides)
            if key in done:
                group.runs.append(done[key])
            else:
                todo.append((group, overrides))
    if len(todo) < sum(len(g.commands()) for g in groups):
        print(f"reusing {sum(len(g.runs) for g in groups)} runs recorded in {done_file}")
    lock = threading.Lock()
    began = time.perf_counter()
    errors: list[str] = []

    def one(overrides: list[str]) -> tuple[str | None, str]:
        try:
            out = subprocess.run(
                [*command, "run", *overrides],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, "timed out"
        found = RUN_ID.findall(out.stdout + out.stderr)  # the summary goes to stderr
        return (found[-1] if found else None), (out.stderr or out.stdout)[-600:]

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, overrides): (g, overrides) for g, overrides in todo}
        for finished, future in enumerate(as_completed(futures), 1):
            group, overrides = futures[future]
            run_id, tail = future.result()
            key = " ".join(overrides)
            with lock:
                if run_id is None:
                    group.failed.append(key)
                    errors.append(f"{key}: {tail.strip()}")
                else:
                    group.runs.append(run_id)
                    done[key] = run_id
                    done_file.write_text(json.dumps(done, indent=1))
            if finished % 10 == 0 or finished == len(todo):
                elapsed = time.perf_counter() - began
                print(f"  {finished}/{len(todo)} runs in {elapsed:.0f}s", flush=True)
    for error in errors[:3]:
        print(f"  no run recorded: {error}")
    if errors:
        print(f"  {len(errors)} commands recorded no run")
    return time.perf_counter() - began


def load_frame(uri: str) -> Any:
    """Every run of the store, through the retrospective's own loader."""
    from shorts.retro.load import load_runs
    from shorts.retro.model import Period

    now = datetime.now(UTC)
    return load_runs(uri, Period(now - timedelta(days=30), now + timedelta(days=1), "all"))


def judge_quarter(quarter: Quarter, frame: Any, uri: str, level: float) -> Judged:
    """Harvest the quarter's runs alone and check its lessons against the groups' truth."""
    from shorts.retro.analysis import harvest
    from shorts.retro.model import Period

    rows = frame[frame["run_id"].isin(quarter.run_ids())]
    starts = rows["start_time"]
    period = Period(
        starts.min().to_pydatetime() - timedelta(minutes=1),
        starts.max().to_pydatetime() + timedelta(minutes=1),
        quarter.name,
    )
    retro = harvest(rows, period, uri, histories={}, tracebacks={}, level=level)
    owner = {run: g for g in quarter.groups for run in g.runs}

    def group_of(runs: Iterable[str]) -> Group | None:
        return next((owner[r] for r in runs if r in owner), None)

    lessons = [(x.kind, group_of(x.runs)) for x in retro.lessons if x.kind in LESSON_KINDS]
    selected = [c for c in retro.claims if c["selected"]]
    null_selected = [c for c in selected if _role(group_of(c["runs"])) == NULL]
    found: dict[str, str] = {}
    gains: dict[str, tuple[float, float]] = {}
    for g in quarter.groups:
        if g.kind.role == NULL:
            continue
        hit = any(k == "hit" and lg is g for k, lg in lessons)
        how = "hit lesson" if hit else ""
        if g.kind.role == SLICE and not how:
            for lesson in retro.lessons:
                if (
                    lesson.kind == "slice win"
                    and group_of(lesson.runs) is g
                    and lesson.evidence.get("slice") == g.target
                ):
                    how = "slice-win lesson"
            if not how and any(
                group_of(w.runs) is g and w.slice == g.target for w in retro.slice_wins
            ):
                how = "slice win (harvest only)"
        found[g.label] = how
        mine = [c for c in retro.claims if group_of(c["runs"]) is g and c["learner"] == "model"]
        overall = next((c["uplift"] for c in mine if c["slice"] == ""), float("nan"))
        target = next((c["uplift"] for c in mine if c["slice"] == g.target), float("nan"))
        gains[g.label] = (overall, target)
    null_claims = [c for c in retro.claims if _role(group_of(c["runs"])) == NULL]
    return Judged(
        quarter,
        len(retro.claims),
        len(selected),
        len(null_selected),
        lessons,
        found,
        gains,
        null_claims,
    )


def _role(group: Group | None) -> str:
    return group.kind.role if group is not None else "?"


def report(quarters: Sequence[Quarter], judged: Sequence[Judged], frame: Any, level: float) -> None:
    """Print the per-kind verdicts, the quarters, and the three goals with PASS/FAIL."""
    groups = [g for q in quarters for g in q.groups]
    print("\nruns' own verdicts (each run judged alone by the runner), per kind:")
    verdicts = dict(zip(frame["run_id"], frame["verdict"].fillna(""), strict=True))
    outcomes = dict(zip(frame["run_id"], frame["outcome"].fillna(""), strict=True))
    for kind in KINDS:
        mine = [g for g in groups if g.kind is kind]
        if not mine:
            continue
        counts: Counter[str] = Counter()
        for g in mine:
            for run in g.runs:
                outcome = outcomes.get(run, "missing")
                verdict = verdicts.get(run, "")
                counts[(verdict or "no verdict") if outcome == "completed" else outcome] += 1
            counts["no run recorded"] += len(g.failed)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
        print(f"  {kind.role:15s} {kind.name:42s} {len(mine):2d} groups: {shown}")

    print("\nplanted gains as measured (pooled over each group's runs, relative RMSE gain):")
    for kind in (k for k in KINDS if k.role != NULL):
        values = [j.gains[g.label] for j in judged for g in j.quarter.groups if g.kind is kind]
        if values:
            print(f"  {kind.name}: overall {_spread([v[0] for v in values])}")
            if kind.role == SLICE:
                print(f"    on x{SLICE_COLUMN}'s upper half {_spread([v[1] for v in values])}")

    print(f"\nper quarter (FDR level {level:.0%}):")
    print("  quarter  groups  claims  selected  null-selected  lessons (hit/slice win)")
    for j in judged:
        names = ", ".join(
            f"{k} {'NULL ' if _role(g) == NULL else ''}{g.label if g else '?'}"
            for k, g in j.lessons
        )
        print(
            f"  {j.quarter.name:7s}  {len(j.quarter.groups):6d}  {j.claims:6d}  {j.selected:8d}  "
            f"{j.null_selected:13d}  {names or '-'}"
        )
    claims = [j.claims for j in judged]
    print(
        f"claims tested per quarter: min {min(claims)}, median {statistics.median(claims):g}, "
        f"max {max(claims)} ({sum(claims)} in all)"
    )

    null_only = [j for j in judged if not j.quarter.mixed]
    with_lesson = sum(bool(j.lessons) for j in null_only)
    lessons = [(k, g) for j in judged for k, g in j.lessons]
    false = sum(_role(g) == NULL for _, g in lessons)
    planted = [(label, how) for j in judged for label, how in j.found.items()]
    found = sum(bool(how) for _, how in planted)
    print("\ngoals:")
    _goal(
        "null-only quarters with any hit or slice-win lesson",
        with_lesson,
        len(null_only),
        GOAL_NULL_QUARTERS,
        below=True,
    )
    _goal(
        "false discovery proportion among hit/slice-win lessons",
        false,
        len(lessons),
        GOAL_FDP,
        below=True,
    )
    _goal("planted effects found", found, len(planted), GOAL_FOUND, below=False)
    for kind in KINDS:
        hows = [how for label, how in planted if label.startswith(f"{kind.name}#")]
        if hows:
            ways = Counter(how or "not found" for how in hows)
            print(
                f"    {kind.role}, {kind.name}: {sum(bool(h) for h in hows)}/{len(hows)} "
                f"({', '.join(f'{v} {k}' for k, v in ways.most_common())})"
            )

    print("\nfor context (claims, not lessons):")
    selected = sum(j.selected for j in judged)
    null_selected = sum(j.null_selected for j in judged)
    null_claims = [c for j in judged for c in j.null_claims]
    print(
        f"  false discovery proportion among selected claims: {null_selected}/{selected}"
        f" = {_share(null_selected, selected)}"
    )
    null_groups = [g for j in judged for g in j.quarter.groups if g.kind.role == NULL]
    touched = {
        id(g)
        for j in judged
        for g in j.quarter.groups
        if g.kind.role == NULL
        and any(set(c["runs"]) & set(g.runs) and c["selected"] for c in j.null_claims)
    }
    print(
        f"  null groups with any selected claim: {len(touched)}/{len(null_groups)}; null claims "
        f"selected {null_selected} of {len(null_claims)} tested"
    )
    if null_claims:
        best = min(null_claims, key=lambda c: c["bh_adjusted_p"])
        print(
            f"  closest null claim: adjusted p {best['bh_adjusted_p']:.3g} "
            f"(raw {best['p_value']:.3g}), "
            f"uplift {best['uplift']:+.2%} on {best['slice'] or 'the whole data set'} "
            f"({best['dataset']}, {best['folds']} folds); largest null uplift "
            f"{max(c['uplift'] for c in null_claims):+.2%}"
        )
    print(
        f"  resolution: {len(null_only)} null-only quarters, so one quarter with a lesson is "
        f"{_share(1, len(null_only))}"
    )


def _goal(text: str, count: int, total: int, goal: float, below: bool) -> None:
    share = count / total if total else float("nan")
    met = (share <= goal if below else share >= goal) if total else False
    sign = "<=" if below else ">="
    print(
        f"  {text}: {count}/{total} = {_share(count, total)} "
        f"(goal {sign} {goal:.0%})  {'PASS' if met else 'FAIL'}"
    )


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "n/a"


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"mean {statistics.fmean(values):+.1%} (min {min(values):+.1%}, max {max(values):+.1%}, "
        f"{len(values)} groups)"
    )


if __name__ == "__main__":
    main()
