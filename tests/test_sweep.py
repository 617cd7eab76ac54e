"""``shorts sweep``: Optuna trials as capped runs, nested under one parent run, resumable.

Every test drives the real command in a throwaway project: real worker processes under their
caps, a real MLflow store and a real Optuna journal beside it, real signals. The short swept here
(``sw_bowl``) is a tiny function whose behaviour the test picks (``+mode=...`` or the space), so a
trial takes about a second and its outcome is known in advance.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import textwrap
import time
from typing import Any

import pytest
from conftest import (
    ShortsProject,
    assert_usage_error,
    descendants,
    live,
    parent_and_children,
    wait_until,
)

SHORT = "sw_bowl"
EXPERIMENT = f"+experiment={SHORT}"

BOWL_SHORTS = textwrap.dedent(
    """\
    import os
    import time
    from pathlib import Path

    import shorts
    from experiments.faults import _record


    def _call_number():
        # The how-manieth call of this short in the test: 0, 1, 2, ... (atomic across workers).
        folder = Path(os.environ["SHORTS_TEST_PIDS"])
        number = 0
        while True:
            try:
                os.close(os.open(folder / f"call-{number}", os.O_CREAT | os.O_EXCL))
                return number
            except FileExistsError:
                number += 1


    def bowl(cfg, ctx):
        _record(os.getpid())
        mode = str(cfg.mode)
        if mode == "hang":
            time.sleep(3600)
        if mode == "crash_then_hang":
            if _call_number() == 0:
                raise RuntimeError("a deliberate crash")
            time.sleep(3600)
        if mode == "ranked":
            # Reports its call number: the first trial sets the median, later ones are worse.
            value = float(_call_number())
            ctx.report(value, int(cfg.report_step))
            if ctx.should_prune():
                raise shorts.TrialPruned(f"intermediate {value} is worse than the median")
            return {"rmse": value}
        time.sleep(float(os.environ.get("SW_BOWL_NAP", cfg.nap)))
        return {"rmse": (float(cfg.x) - 1.0) ** 2 + int(cfg.depth) / 10}
    """
)

BOWL_YAML = textwrap.dedent(
    """\
    # @package _global_
    defaults:
      - override /caps: tiny
    short:
      fn: experiments.sweep_shorts:bowl
      hypothesis: the bowl's minimum is at x=1, depth=1
      techniques: [fault-injection]
    mode: ok
    nap: 0
    report_step: 0
    x: 0.0
    depth: 1
    sweep:
      params:
        x: {type: float, low: -2, high: 2}
        depth: {type: int, low: 1, high: 5}
      pruner: {name: median, n_startup_trials: 1, n_warmup_steps: 0}
    """
)


@pytest.fixture
def bowl(project: ShortsProject) -> ShortsProject:
    """The project with the sweep-able ``sw_bowl`` short declared (and ``fault_quick``)."""
    (project.root / "experiments" / "sweep_shorts.py").write_text(BOWL_SHORTS)
    (project.root / "configs" / "experiment" / f"{SHORT}.yaml").write_text(BOWL_YAML)
    project.add_short("fault_quick", "quick")
    return project


def declare_sweep(project: ShortsProject, sweep: str) -> None:
    """Replace the ``sweep:`` section of ``sw_bowl``'s YAML with ``sweep``."""
    path = project.root / "configs" / "experiment" / f"{SHORT}.yaml"
    path.write_text(path.read_text().split("sweep:\n")[0] + textwrap.dedent(sweep))


def journal(project: ShortsProject) -> Any:
    """The Optuna journal storage the sweeps of ``project`` use (beside its sqlite store)."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = project.root / "optuna-journal.log"
    assert path.exists(), "the study lives in a journal file beside mlflow.db"
    return JournalStorage(JournalFileBackend(str(path)))


def only_study(project: ShortsProject) -> Any:
    import optuna

    storage = journal(project)
    summaries = optuna.get_all_study_summaries(storage)
    assert len(summaries) == 1, [s.study_name for s in summaries]
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage)


def split(project: ShortsProject) -> tuple[Any, list[Any]]:
    """The one sweep parent run of ``sw_bowl`` and its trial runs (oldest first)."""
    return parent_and_children(project, SHORT, "sweep")


def by_trial(children: list[Any]) -> dict[int, Any]:
    return {int(c.data.tags["shorts.sweep.trial"]): c for c in children}


def states(study: Any) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def running_runs(project: ShortsProject) -> list[Any]:
    return [r for r in project.runs(SHORT) if r.info.status == "RUNNING"]


# -- a sweep that goes well ---------------------------------------------------------------------


def test_parallel_sweep_nests_every_trial_under_one_parent(bowl: ShortsProject) -> None:
    done = bowl.run("sweep", EXPERIMENT, "--trials", "4", "--jobs", "2", timeout=180)

    assert done.returncode == 0, done.stderr[-3000:]
    parent, children = split(bowl)
    assert len(children) == 4
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["shorts.outcome"] for c in children} == {"completed"}
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    study = only_study(bowl)
    assert tags["shorts.short"] == SHORT
    assert tags["shorts.sweep.study"] == study.study_name
    assert tags["shorts.outcomes"] == "completed:4"
    best = study.best_trial
    assert tags["shorts.sweep.best_trial"] == str(best.number)
    assert tags["shorts.sweep.best_run_id"] == best.user_attrs["mlflow_run_id"]
    assert parent.data.metrics["best_rmse"] == pytest.approx(best.value)
    assert by_trial(children)[best.number].info.run_id == best.user_attrs["mlflow_run_id"]
    assert states(study) == ["COMPLETE"] * 4
    assert {t.user_attrs["outcome"] for t in study.trials} == {"completed"}
    for trial in study.trials:
        run = by_trial(children)[trial.number]
        assert run.data.metrics["rmse"] == pytest.approx(trial.value)
        assert float(run.data.params["x"]) == pytest.approx(trial.params["x"], rel=1e-5)
    override = [line for line in done.stdout.splitlines() if "shorts run " in line]
    assert len(override) == 1, done.stdout
    assert (
        override[0].split("shorts run ", 1)[1]
        == f"{EXPERIMENT} {tags['shorts.sweep.best_overrides']}"
    )
    assert f"parent run {parent.info.run_id}" in done.stdout
    assert "Warning" not in done.stderr, "Optuna's warnings stay out of the summary"
    assert live(bowl.recorded_pids()) == []


# -- trials that fail, and pruned ones -----------------------------------------------------------


def test_crashed_and_timed_out_trials_fail_with_their_outcome(bowl: ShortsProject) -> None:
    done = bowl.run(
        "sweep",
        EXPERIMENT,
        "mode=crash_then_hang",
        "caps.wall_time=3s",
        "--trials",
        "2",
        "--jobs",
        "2",
    )

    assert done.returncode == 1, "no trial completed"
    study = only_study(bowl)
    assert states(study) == ["FAIL", "FAIL"]
    outcomes = {t.user_attrs["mlflow_run_id"]: t.user_attrs["outcome"] for t in study.trials}
    assert sorted(outcomes.values()) == ["crashed", "timeout"]
    parent, children = split(bowl)
    assert {c.info.run_id: c.data.tags["shorts.outcome"] for c in children} == outcomes
    assert [c.info.status for c in children] == ["FAILED", "FAILED"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["shorts.outcomes"] == "crashed:1, timeout:1"
    assert "shorts.sweep.best_trial" not in parent.data.tags
    assert "best       none" in done.stdout
    assert live(bowl.recorded_pids()) == []


def test_pruner_stops_trials_worse_than_the_median(bowl: ShortsProject) -> None:
    done = bowl.run("sweep", EXPERIMENT, "mode=ranked", "--trials", "3", "--jobs", "1")

    assert done.returncode == 0, done.stderr[-3000:]
    study = only_study(bowl)
    assert states(study) == ["COMPLETE", "PRUNED", "PRUNED"]
    assert [t.user_attrs["outcome"] for t in study.trials] == ["completed", "pruned", "pruned"]
    assert [t.intermediate_values for t in study.trials] == [{0: 0.0}, {0: 1.0}, {0: 2.0}]
    parent, children = split(bowl)
    assert [c.data.tags["shorts.outcome"] for c in children] == ["completed", "pruned", "pruned"]
    assert {c.info.status for c in children} == {"FINISHED"}
    assert "worse than the median" in children[1].data.tags["shorts.reason"]
    assert parent.data.tags["shorts.outcomes"] == "completed:1, pruned:2"


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_any_optuna_sampler_pruner_and_distribution_is_declared_by_target(
    bowl: ShortsProject,
) -> None:
    """``_target_`` dicts beside the presets: Hydra builds them, the sweep samples with the QMC
    sampler and each trial's worker prunes with successive halving."""
    import optuna
    from optuna.trial import TrialState

    declare_sweep(
        bowl,
        """\
        sweep:
          params:
            x: {_target_: optuna.distributions.FloatDistribution, low: -2, high: 2}
            depth: {type: int, low: 1, high: 5}
          sampler: {_target_: optuna.samplers.QMCSampler, seed: 0}
          pruner:
            _target_: optuna.pruners.SuccessiveHalvingPruner
            min_resource: 1
            reduction_factor: 2
        """,
    )

    done = bowl.run("sweep", EXPERIMENT, "mode=ranked", "report_step=1", "--trials", "3")

    assert done.returncode == 0, done.stderr[-3000:]
    study = only_study(bowl)
    assert states(study) == ["COMPLETE", "PRUNED", "PRUNED"], "halving keeps the best half"
    assert [t.system_attrs["completed_rung_0"] for t in study.trials] == [0.0, 1.0, 2.0]
    parent, _ = split(bowl)
    assert parent.data.params["sweep.sampler"] == "QMCSampler"
    assert parent.data.params["sweep.pruner"] == "SuccessiveHalvingPruner"
    # The same sampler, seeded alike, asked the same space, proposes the sweep's points.
    alone = optuna.create_study(sampler=optuna.samplers.QMCSampler(seed=0))
    for trial in study.trials:
        proposed = alone.ask(trial.distributions)
        assert proposed.params == pytest.approx(trial.params)
        told = trial.value if trial.state == TrialState.COMPLETE else None
        alone.tell(proposed, told, state=trial.state)


def test_a_target_of_the_wrong_kind_costs_one_line_and_starts_nothing(
    bowl: ShortsProject,
) -> None:
    declare_sweep(
        bowl,
        """\
        sweep:
          params:
            x: {type: float, low: -2, high: 2}
          sampler: {_target_: optuna.pruners.MedianPruner}
        """,
    )

    line = assert_usage_error(bowl.run("sweep", EXPERIMENT, "--trials", "2"), bowl)

    assert "_target_ 'optuna.pruners.MedianPruner' is not an Optuna sampler" in line
    assert "name: tpe | random, or _target_: a subclass of optuna.samplers.BaseSampler" in line
    assert bowl.recorded_pids() == [], "no trial started"
    assert not (bowl.root / "optuna-journal.log").exists(), "no study was created"


def test_presets_are_target_dicts_and_parallel_tpe_is_a_constant_liar() -> None:
    from optuna.pruners import MedianPruner
    from optuna.samplers import RandomSampler

    from shorts.sweep.study import make_pruner, make_sampler, pruner_config, sampler_config

    assert sampler_config(None, jobs=2) == {
        "_target_": "optuna.samplers.TPESampler",
        "constant_liar": True,
    }
    assert sampler_config({"name": "tpe", "constant_liar": False}, jobs=2)["constant_liar"] is False
    assert (
        sampler_config({"_target_": "optuna.samplers.TPESampler"}, jobs=1)["constant_liar"] is False
    )
    assert isinstance(make_sampler(sampler_config({"name": "random", "seed": 0}, 1)), RandomSampler)
    median = pruner_config({"name": "median", "n_startup_trials": 1})
    assert median == {
        "_target_": "optuna.pruners.MedianPruner",
        "n_startup_trials": 1,
        "n_warmup_steps": 1,
    }
    assert isinstance(make_pruner(median), MedianPruner)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"sampler": {"name": "cmaes"}}, "sweep.sampler: name 'cmaes' is unknown; use name: tpe"),
        (
            {"sampler": {"name": "tpe", "nonsense": 1}},
            "unexpected keyword argument 'nonsense'; TPESampler takes consider_prior,",
        ),
        (
            {"sampler": {"_target_": "optuna.samplers.GridSampler", "search_space": {"y": [0]}}},
            "sweep.sampler: GridSampler cannot sample this space (ValueError: The parameter name",
        ),
        ({"pruner": {"name": "medain"}}, "name 'medain' is unknown; use name: median | percentile"),
        ({"pruner": {"_target_": "optuna.samplers.RandomSampler"}}, "is not an Optuna pruner"),
        ({"pruner": {"_target_": "no.such.Pruner"}}, "_target_ 'no.such.Pruner' is not an Optuna"),
        ({"pruner": {"name": "none", "_target_": "x"}}, "give name (a preset) or _target_, not"),
        ({"x": {"type": "floot"}}, "sweep.params.x in configs/experiment/sw.yaml: type 'floot'"),
        ({"x": {"type": "float", "low": 1}}, "missing 1 required positional argument: 'high'"),
        ({"x": {"_target_": "optuna.samplers.RandomSampler"}}, "is not an Optuna distribution"),
        ({"x": {"type": "categorical", "choices": []}}, "CategoricalDistribution takes choices"),
    ],
)
def test_bad_sampler_pruner_or_distribution_names_what_is_accepted(
    spec: dict[str, Any], expected: str
) -> None:
    from shorts.errors import UsageError
    from shorts.sweep.space import parse_space
    from shorts.sweep.study import probe_sampler, pruner_config, sampler_config

    with pytest.raises(UsageError) as refused:
        if "x" in spec:
            parse_space({"params": spec}, "sw")
        elif "sampler" in spec:
            space = parse_space({"params": {"x": {"type": "float", "low": 0, "high": 1}}}, "sw")
            probe_sampler(sampler_config(spec["sampler"], jobs=1), space.distributions)
        else:
            pruner_config(spec["pruner"])
    assert expected in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_sampler_whose_extra_is_missing_is_refused_before_the_sweep_starts() -> None:
    """CmaEs imports ``cmaes`` only once it samples: the probe finds out before any trial."""
    import importlib.util

    from shorts.errors import UsageError
    from shorts.sweep.space import parse_space
    from shorts.sweep.study import probe_sampler, sampler_config

    if importlib.util.find_spec("cmaes") is not None:
        pytest.skip("cmaes is installed here")
    space = parse_space({"params": {"x": {"type": "float", "low": 0, "high": 1}}}, "sw")
    config = sampler_config({"_target_": "optuna.samplers.CmaEsSampler", "seed": 0}, jobs=1)

    with pytest.raises(UsageError, match="CmaEsSampler needs the module 'cmaes', which is not"):
        probe_sampler(config, space.distributions)


# -- the budget ----------------------------------------------------------------------------------


def test_budget_cuts_the_sweep_short_and_closes_everything(bowl: ShortsProject) -> None:
    bowl.client().search_experiments()  # the store exists already, as for a user's next sweep
    # The budget includes the sweep's own start (imports, the study), which a busy machine can
    # stretch past 20 s: 40 s leaves the hanging trials their turn however loaded the machine is.
    budget = 40.0
    began = time.monotonic()
    done = bowl.run(
        "sweep",
        EXPERIMENT,
        "mode=hang",
        "caps.wall_time=5m",  # the budget, not the trials' own cap, is what stops them
        "--trials",
        "20",
        "--jobs",
        "2",
        "--budget",
        "40s",
    )
    took = time.monotonic() - began

    # A correctness bound (interpreter start and the parent's closing included), not a benchmark:
    # without the budget, 20 hanging trials would run to their caps two at a time.
    assert took < budget + 45, took
    assert done.returncode == 1, done.stderr[-3000:]
    assert "stopped by the budget" in done.stdout
    assert "--resume" in done.stdout
    study = only_study(bowl)
    assert 1 <= len(study.trials) < 20, "the budget stopped the sweep after its first trials"
    assert "RUNNING" not in states(study)
    assert {t.user_attrs["outcome"] for t in study.trials} == {"timeout"}
    assert running_runs(bowl) == []
    parent, children = split(bowl)
    assert len(children) == len(study.trials)
    for child in children:
        assert child.info.status == "FAILED"
        assert "shorts.sweep.budget_clipped" in child.data.tags
    assert parent.info.status == "FINISHED"
    assert live(bowl.recorded_pids()) == []


# -- interrupt, then resume ----------------------------------------------------------------------


def test_ctrl_c_closes_every_trial_and_resume_finishes_the_study(bowl: ShortsProject) -> None:
    proc = subprocess.Popen(
        bowl.command("sweep", EXPERIMENT, "--trials", "4", "--jobs", "2"),
        cwd=bowl.root,
        env=bowl.env(SW_BOWL_NAP="3600"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        assert wait_until(lambda: len(bowl.recorded_pids()) == 2, timeout=120), (
            "two trials should be running"
        )
        assert wait_until(lambda: len(running_runs(bowl)) == 3, timeout=60), (
            "the parent and two trials are open"
        )
        processes = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole group
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert proc.returncode == 130, err[-3000:]
    study = only_study(bowl)
    assert states(study) == ["FAIL", "FAIL"]
    assert {t.user_attrs["outcome"] for t in study.trials} == {"interrupted"}
    assert running_runs(bowl) == []
    parent, children = split(bowl)
    assert parent.info.status == "KILLED"
    assert [c.info.status for c in children] == ["KILLED", "KILLED"]
    assert {c.data.tags["shorts.outcome"] for c in children} == {"interrupted"}
    resume = [line.strip() for line in out.splitlines() if "--resume" in line]
    assert resume == [
        f"resume     shorts sweep {EXPERIMENT} --resume --study {study.study_name} --trials 4"
    ], out
    assert wait_until(lambda: live(processes + bowl.recorded_pids()) == [], timeout=30), live(
        processes + bowl.recorded_pids()
    )

    done = bowl.run("sweep", EXPERIMENT, "--resume", "--trials", "4", "--jobs", "2", timeout=180)

    assert done.returncode == 0, done.stderr[-3000:]
    study = only_study(bowl)
    assert states(study) == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    resumed_parent, children = split(bowl)
    assert resumed_parent.info.run_id == parent.info.run_id, "the same parent run, reopened"
    assert resumed_parent.info.status == "FINISHED"
    assert resumed_parent.data.tags["shorts.sweep.sessions"] == "2"
    assert resumed_parent.data.tags["shorts.outcomes"] == "completed:2, interrupted:2"
    assert [c.info.status for c in children] == ["KILLED", "KILLED", "FINISHED", "FINISHED"]
    assert running_runs(bowl) == []


def test_resume_closes_the_trials_of_a_sweeper_that_died_as_lost(bowl: ShortsProject) -> None:
    """What a killed sweep leaves: a RUNNING trial, and a sweeper process that is gone."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    from shorts.tracking.leases import process_start

    gone = subprocess.Popen(["true"])
    sweeper = {"pid": gone.pid, "pid_start": process_start(gone.pid), "host": socket.gethostname()}
    gone.wait()
    storage = JournalStorage(JournalFileBackend(str(bowl.root / "optuna-journal.log")))
    study = optuna.create_study(study_name="died", storage=storage)
    for key, value in {"short": SHORT, "sessions": 1, "sweeper": sweeper}.items():
        study.set_user_attr(key, value)
    study.ask({"x": optuna.distributions.FloatDistribution(-2, 2)})

    done = bowl.run("sweep", EXPERIMENT, "--resume", "--study", "died", "--trials", "1")

    assert "already has 1 finished trials" in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, "no trial completed"
    (trial,) = only_study(bowl).trials
    assert trial.state.name == "FAIL"
    assert trial.user_attrs["outcome"] == "lost"


def test_a_sweeper_pid_now_held_by_a_younger_process_does_not_block_resume() -> None:
    from shorts.sweep.command import _sweeper_alive
    from shorts.tracking.leases import process_start

    host = socket.gethostname()
    other = subprocess.Popen(["sleep", "30"])  # took the pid after the recorded sweeper died
    try:
        now = process_start(other.pid)
        earlier = str(int(now) - 500)  # the dead sweeper's start time, recorded in the study
        assert not _sweeper_alive({"pid": other.pid, "host": host, "pid_start": earlier})
        assert _sweeper_alive({"pid": other.pid, "host": host, "pid_start": now})
        assert not _sweeper_alive({"pid": other.pid, "host": "elsewhere", "pid_start": now})
    finally:
        other.kill()
        other.wait()
    assert not _sweeper_alive({"pid": other.pid, "host": host, "pid_start": now})


# -- usage errors --------------------------------------------------------------------------------


def test_short_without_a_search_space_is_refused(bowl: ShortsProject) -> None:
    line = assert_usage_error(bowl.run("sweep", "+experiment=fault_quick", "--trials", "2"), bowl)

    assert "'fault_quick' declares no search space" in line
    assert "sweep:" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--budget", "soon"], "--budget='soon' is not a duration"),
        (["--jobs", "0"], "--jobs 0"),
        (["--resume", "--study", "nope"], "no sweep of 'sw_bowl' to resume"),
        (["--storage", "nonsense://x"], "the study database cannot be opened"),
        (["--storage", "postgresql://u:hunter2@127.0.0.1:1/db"], "postgresql://u:***@"),
        (["--storage", "/proc/nope/journal.log"], "cannot write the study's journal file"),
    ],
    ids=["budget", "jobs", "resume-unknown", "storage-dialect", "storage-down", "storage-file"],
)
def test_bad_sweep_options_cost_one_line(
    bowl: ShortsProject, args: list[str], expected: str
) -> None:
    line = assert_usage_error(bowl.run("sweep", EXPERIMENT, *args), bowl)

    assert expected in line
    assert "hunter2" not in line
    assert live(bowl.recorded_pids()) == [] and bowl.recorded_pids() == [], "no trial started"


def test_a_storage_that_stops_answering_stops_the_sweep_cleanly_and_resume_keeps_its_results(
    bowl: ShortsProject, tmp_path: Any
) -> None:
    """The study's database locked by another process past --storage-wait: the running trial
    ends as it would, nothing is left RUNNING in MLflow, the sweep stops with its --resume line,
    and the resume tells the study the result it could not take."""
    import sqlite3

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    proc = subprocess.Popen(
        bowl.command(
            "sweep", EXPERIMENT, "--trials", "3", "--storage", storage, "--storage-wait", "2s"
        ),
        cwd=bowl.root,
        env=bowl.env(SW_BOWL_NAP="4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = sqlite3.connect(tmp_path / "optuna.db", timeout=60, isolation_level=None)
    try:
        assert wait_until(lambda: len(bowl.recorded_pids()) == 1, timeout=120), "no trial ran"
        db.execute("BEGIN EXCLUSIVE")  # until after the sweep has stopped
        out, err = proc.communicate(timeout=240)
    finally:
        db.close()
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 1, err[-3000:]
    assert "stopped: the Optuna storage is away" in out, out
    resume = [line.strip() for line in out.splitlines() if "--resume" in line]
    assert len(resume) == 1 and resume[0].endswith(f"--trials 3 --storage {storage}"), out
    assert "untold_trials.jsonl" in out, "where the result the storage did not take is kept"
    assert "Traceback" not in err
    assert running_runs(bowl) == []
    parent, children = split(bowl)
    assert parent.info.status == "KILLED"
    assert [c.data.tags["shorts.outcome"] for c in children] == ["completed"]
    assert [c.info.status for c in children] == ["FINISHED"]

    done = bowl.run(
        "sweep", EXPERIMENT, "--resume", "--trials", "1", "--storage", storage, timeout=180
    )

    assert done.returncode == 0, done.stderr[-3000:]
    import optuna

    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    assert states(study) == ["COMPLETE"], "the kept result, told on resume; nothing RUNNING"
    assert study.trials[0].user_attrs["mlflow_run_id"] == children[0].info.run_id
    assert running_runs(bowl) == []
