"""Memory headroom: the warning before a run, ``shorts caps suggest``, and ``on_memout=retry``.

Every test drives the real ``shorts`` command in a throwaway project on real worker processes and
a real MLflow sqlite store. The short here (``hold_memory`` in tests/fault_shorts) holds a fixed
number of MiB (``short_params.mib``) for half a second and completes: under a smaller memory cap
it is a memout, under a larger one it completes. No test asserts on timing.
"""

from __future__ import annotations

import io
import math
import re
import shlex
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import ShortsProject, assert_no_runs, assert_usage_error, make_project

from shorts import record

SHORT = "hold"
EXPERIMENT = f"+experiment={SHORT}"
MIB = re.compile(r"caps\.memory=(\d+)MiB")


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite store with its schema in place, created once for this module."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture
def hold(project: ShortsProject, migrated_store: Path) -> ShortsProject:
    """The project with ``hold`` declared (100 MiB by default, tiny caps) and a migrated store:
    creating a store's schema takes seconds and is not what these tests are about."""
    shutil.copy(migrated_store, project.root / "mlflow.db")
    declare_hold(project)
    return project


@pytest.fixture(scope="module")
def one_run_on_record(
    tmp_path_factory: pytest.TempPathFactory, migrated_store: Path
) -> ShortsProject:
    """A project whose store holds one completed run of ``hold`` (100 MiB), made once."""
    made = make_project(tmp_path_factory.mktemp("history"))
    shutil.copy(migrated_store, made.root / "mlflow.db")
    declare_hold(made)
    done = run_hold(made)
    assert done.returncode == 0, done.stderr[-2000:]
    return made


@pytest.fixture
def held(hold: ShortsProject, one_run_on_record: ShortsProject) -> ShortsProject:
    """``hold`` with a copy of the store holding one completed run: the history most tests start
    from, without paying a run for it in each test."""
    shutil.copy(one_run_on_record.root / "mlflow.db", hold.root / "mlflow.db")
    return hold


def declare_hold(project: ShortsProject) -> None:
    project.add_short(SHORT, "hold_memory", extra="short_params:\n  mib: 100\n")


def run_hold(project: ShortsProject, *overrides: str) -> subprocess.CompletedProcess[str]:
    return project.run("run", EXPERIMENT, *overrides)


def suggest(project: ShortsProject, *args: str) -> str:
    """``shorts caps suggest +experiment=hold ARGS``, which must succeed; its stdout."""
    done = project.run("caps", "suggest", EXPERIMENT, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def warnings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("shorts: warning:")]


def newest(project: ShortsProject) -> Any:
    return project.runs(SHORT)[0]


def peak_of(run: Any) -> float:
    return record.peak_rss_mib(run.data.metrics)


# -- the warning before a run ---------------------------------------------------------------------


def test_warning_names_the_last_peak_its_run_and_a_ready_cap_and_the_run_goes_ahead(
    held: ShortsProject,
) -> None:
    hold = held
    last = newest(hold)
    wanted = math.ceil(1.5 * peak_of(last))

    done = run_hold(hold, f"caps.memory={math.floor(peak_of(last)) + 20}MiB")

    assert done.returncode == 0, done.stderr[-2000:]
    lines = warnings(done)
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert last.info.run_id in line
    assert "1.5x the last peak of hold on diabetes" in line
    assert f"{peak_of(last):.1f} MiB" in line
    assert line.endswith(f"use caps.memory={wanted}MiB")
    stderr = done.stderr.splitlines()
    assert stderr.index(line) < next(i for i, s in enumerate(stderr) if s.startswith("completed"))
    assert len(hold.runs(SHORT)) == 2
    assert newest(hold).data.tags["shorts.outcome"] == "completed"


def test_the_headroom_factor_comes_from_the_caps_config(held: ShortsProject) -> None:
    # 2x the last peak is enough headroom at the default 1.5, not at 3.
    roomy = math.ceil(2 * peak_of(newest(held)))

    done = run_hold(held, f"caps.memory={roomy}MiB", "caps.headroom=3")

    assert done.returncode == 0, done.stderr[-2000:]
    [line] = warnings(done)
    assert "3x the last peak" in line
    assert line.endswith(f"use caps.memory={math.ceil(3 * peak_of(held.runs(SHORT)[1]))}MiB")


@pytest.mark.parametrize(
    ("cap_mib", "warned"), [(100, True), (149, True), (150, False), (768, False)]
)
def test_the_warning_is_given_exactly_when_the_cap_is_under_headroom_times_the_need(
    cap_mib: int, warned: bool
) -> None:
    from datetime import datetime

    from shorts.headroom.last_peak import LastPeak
    from shorts.headroom.warning import headroom_warning

    last = LastPeak("r1", datetime(2026, 11, 27, 14, 3), "completed", 100.0, 768.0)

    line = headroom_warning(cap_mib * 2**20, 1.5, SHORT, "diabetes", last)

    assert (line is not None) == warned
    if line is not None:
        assert "100.0 MiB in run r1 (2026-11-27 14:03)" in line
        assert line.endswith("use caps.memory=150MiB")


def test_after_a_memout_the_warning_says_the_need_is_more_than_the_cap_and_guesses(
    hold: ShortsProject,
) -> None:
    assert run_hold(hold, "short_params.mib=200", "caps.memory=160MiB").returncode == 1
    memout = newest(hold)
    assert memout.data.tags["shorts.outcome"] == "memout"

    done = run_hold(hold, "short_params.mib=200", "caps.memory=160MiB")

    [line] = warnings(done)
    assert f"its last run ({memout.info.run_id}, " in line
    assert "was killed at its 160.0 MiB cap" in line
    assert "by an unknown amount" in line
    floor = max(peak_of(memout), 160.0)
    assert f"use at least caps.memory={math.ceil(1.5 * floor)}MiB" in line
    assert line.endswith("a guess)")


def test_last_peak_is_the_newest_ended_run_with_its_peak_and_cap_as_recorded(
    held: ShortsProject, tmp_path: Path
) -> None:
    from shorts.headroom.last_peak import last_peak

    hold = held
    uri = hold.tracking_uri
    on_record = newest(hold)

    found = last_peak(uri, SHORT, "diabetes")

    assert found is not None and found.run_id == on_record.info.run_id
    assert found.outcome == "completed"
    assert found.peak_mib == peak_of(on_record)
    assert found.cap_mib * record.MIB == on_record.data.metrics[record.CAPS_MEMORY_BYTES]
    assert last_peak(uri, SHORT, "fair") is None
    assert last_peak(uri, "no_such_short", "diabetes") is None
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database")
    assert last_peak(f"sqlite:///{garbage}", SHORT, "diabetes") is None  # never raises
    assert last_peak(f"sqlite:///{tmp_path / 'missing.db'}", SHORT, "diabetes") is None
    assert not (tmp_path / "missing.db").exists()


def record_peak(
    project: ShortsProject,
    params: dict[str, str],
    peak_mib: float,
    outcome: str = "completed",
    numeric_caps: bool = True,
) -> str:
    """A newer ended run of ``hold`` on diabetes with ``params`` and a peak, logged directly
    through the record's contract under a 1 GiB cap (``numeric_caps=False``: as runs recorded
    before the caps' metrics existed, with the display tags only)."""
    from mlflow.entities import Metric, Param

    from shorts.caps import Caps

    caps = Caps(60.0, 1024 * record.MIB, cpus=1, grace=2.0)
    client = project.client()
    experiment = client.get_experiment_by_name(SHORT)
    assert experiment is not None
    newest_start = max(r.info.start_time for r in project.runs(SHORT))
    run = client.create_run(
        experiment.experiment_id,
        start_time=newest_start + 60_000,
        tags={
            record.SHORT: SHORT,
            record.DATASET: "diabetes",
            record.OUTCOME: outcome,
            **caps.as_tags(),
        },
    )
    run_id: str = run.info.run_id
    usage = record.usage_metrics(
        30.0, 27.0, int(peak_mib * record.MIB), caps.wall_time, caps.memory, caps.cpus
    )
    metrics = {**usage, **(caps.as_metrics() if numeric_caps else {})}
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, newest_start + 61_000, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
    )
    client.set_terminated(run_id, "FINISHED", newest_start + 61_000)
    return run_id


def test_last_peak_is_that_of_the_newest_run_of_the_same_configuration(
    held: ShortsProject,
) -> None:
    from shorts.headroom.last_peak import last_peak
    from shorts.retro.records import configuration

    on_record = newest(held)
    params = dict(on_record.data.params)
    bigger = record_peak(held, {**params, "short_params.mib": "400"}, 450.0)
    # Another seed and other caps are the same configuration: they do not hide the run above.
    same = configuration(params)
    replicate = {**params, "cv.seed": "7", "caps.memory": "2GiB"}
    uri = held.tracking_uri

    assert configuration(replicate) == same
    newest_any = last_peak(uri, SHORT, "diabetes")
    assert newest_any is not None and newest_any.run_id == bigger
    found = last_peak(uri, SHORT, "diabetes", configuration=same)
    assert found is not None and found.run_id == on_record.info.run_id
    assert found.peak_mib == peak_of(on_record)
    other = configuration({**params, "short_params.mib": "999"})
    assert last_peak(uri, SHORT, "diabetes", configuration=other) is None


def test_a_memout_recorded_without_the_caps_metrics_has_an_unknown_cap_not_a_parsed_one(
    held: ShortsProject,
) -> None:
    from shorts.headroom.last_peak import last_peak

    params = dict(newest(held).data.params)
    old = record_peak(held, params, 1030.0, outcome="memout", numeric_caps=False)

    found = last_peak(held.tracking_uri, SHORT, "diabetes")

    assert found is not None and found.run_id == old
    assert held.client().get_run(old).data.tags[record.CAPS_MEMORY] == "1.0 GiB"
    assert math.isnan(found.cap_mib)
    assert found.need_mib == pytest.approx(1030.0)  # its peak: the cap is not known to be more


def test_the_configuration_of_a_run_about_to_start_is_that_of_its_params_on_record(
    held: ShortsProject,
) -> None:
    from omegaconf import OmegaConf

    from shorts.config import compose_config
    from shorts.headroom.last_peak import run_configuration
    from shorts.project import Project
    from shorts.retro.records import configuration

    on_record = newest(held)  # run_hold(): +experiment=hold, nothing else
    project = Project(held.root)

    def about_to_start(*overrides: str) -> str:
        cfg = compose_config(project, [EXPERIMENT, *overrides])
        return run_configuration(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]

    assert about_to_start() == configuration(on_record.data.params)
    assert about_to_start("caps.memory=2GiB", "cv.seed=3") == configuration(on_record.data.params)
    assert about_to_start("short_params.mib=300") != configuration(on_record.data.params)


def test_the_warning_compares_with_the_last_peak_of_the_same_configuration_only(
    held: ShortsProject,
) -> None:
    from rich.console import Console

    from shorts.headroom.warning import warn_before_start

    on_record = newest(held)
    config = {
        "short_params": {"mib": 100},
        **{k: v for k, v in _nested(on_record.data.params).items() if k != "short_params"},
    }
    tight = (math.floor(peak_of(on_record)) + 20) * 2**20
    console = Console(file=io.StringIO())

    same = warn_before_start(held.tracking_uri, SHORT, "diabetes", tight, 1.5, console, config)
    other = warn_before_start(
        held.tracking_uri,
        SHORT,
        "diabetes",
        tight,
        1.5,
        console,
        {**config, "short_params": {"mib": 300}},
    )

    assert same is not None and on_record.info.run_id in same
    assert other is None  # no run of that configuration on record: nothing to compare with


def _nested(params: dict[str, str]) -> dict[str, Any]:
    """Dotted params back into a config tree (values stay the strings MLflow holds)."""
    tree: dict[str, Any] = {}
    for key, value in params.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def test_multirun_warns_once_per_short_and_data_set_not_once_per_job(held: ShortsProject) -> None:
    tight = math.floor(peak_of(newest(held))) + 20

    done = held.run(
        "run",
        "-m",
        EXPERIMENT,
        "short_params.mib=100,101",
        f"caps.memory={tight}MiB",
        "hydra/launcher=basic",  # the jobs in this process: the same warning, cheaper jobs
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert len(warnings(done)) == 1, done.stderr
    assert len(held.runs(SHORT)) == 1 + 2 + 1  # the one on record, two jobs and their parent


# -- shorts caps suggest --------------------------------------------------------------------------


def test_after_a_memout_caps_suggest_proposes_a_cap_under_which_the_short_completes(
    hold: ShortsProject,
) -> None:
    """The issue's "done when": memout, ask, rerun with the proposal, completed."""
    assert run_hold(hold, "short_params.mib=200", "caps.memory=160MiB").returncode == 1
    memout = newest(hold)

    out = suggest(hold)

    assert "1 run" in out and "1 memout" in out
    assert f"run {memout.info.run_id} was killed at" in out
    assert "a guess: rerun with it and suggest again" in out
    [command] = [line for line in out.splitlines() if line.startswith("run ")]
    argv = shlex.split(command.removeprefix("run").strip())
    assert argv[:3] == ["shorts", "run", EXPERIMENT]
    assert "dataset=diabetes" in argv
    proposed = int(MIB.search(command).group(1))  # type: ignore[union-attr]
    assert proposed >= math.ceil(1.5 * 160)

    rerun = hold.run(*argv[1:], "short_params.mib=200")

    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert warnings(rerun) == []
    completed = newest(hold)
    assert completed.data.tags["shorts.outcome"] == "completed"
    assert completed.data.params["caps.memory"] == f"{proposed}MiB"

    out = suggest(hold, "dataset=diabetes", "--headroom", "2")

    assert f"caps for {SHORT} from 2 runs on record" in out and "(headroom 2)" in out
    assert "diabetes: 2 runs (1 completed, 1 memout)" in out
    for heading in ("p50", "p90", "max", "ran under", "configured", "proposed"):
        assert heading in out
    assert f"160, {proposed}" in out  # the caps they ran under, in MiB
    need = max(peak_of(completed), peak_of(memout), 160.0)
    assert f"caps.memory={math.ceil(2 * need)}MiB" in out
    assert "caps.wall_time=" in out  # a completed run says what wall time it needs


def test_caps_suggest_proposes_per_configuration_the_configured_one_first(
    held: ShortsProject,
) -> None:
    assert run_hold(held, "short_params.mib=150", "cv.seed=4").returncode == 0
    bigger = newest(held)

    out = suggest(held)

    headings = [line for line in out.splitlines() if line.startswith("diabetes")]
    assert headings == [
        "diabetes (short_params.mib=100; as configured now): 1 run (1 completed)",
        "diabetes (short_params.mib=150): 1 run (1 completed)",
    ]
    commands = [line.removeprefix("run").strip() for line in out.splitlines() if line[:4] == "run "]
    configured, other = (shlex.split(c) for c in commands)
    assert "short_params.mib=150" not in configured
    assert "short_params.mib=150" in other and "cv.seed=4" in other  # reruns that one
    need = math.ceil(1.5 * peak_of(bigger))
    assert f"caps.memory={need}MiB" in other


def test_caps_suggest_with_no_runs_on_record_says_so_and_exits_0(hold: ShortsProject) -> None:
    done = hold.run("caps", "suggest", EXPERIMENT)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"no runs of {SHORT} on record in sqlite:///")
    assert f"shorts run {EXPERIMENT}" in done.stdout
    assert done.stderr == ""
    assert_no_runs(hold)  # asking creates nothing


def test_caps_suggest_for_another_data_set_names_those_on_record(held: ShortsProject) -> None:
    out = suggest(held, "dataset=fair")

    assert "no runs of hold on data set 'fair'" in out
    assert "it has runs on: diabetes" in out


def test_caps_suggest_in_a_project_without_a_store_says_nothing_is_on_record(
    project: ShortsProject,
) -> None:
    declare_hold(project)

    out = suggest(project)

    assert "no runs of hold on record: there is no store at" in out
    assert not (project.root / "mlflow.db").exists()


@pytest.mark.parametrize("args", [["caps", "--help"], ["caps", "suggest", "--help"]])
def test_caps_help_prints_usage(project: ShortsProject, args: list[str]) -> None:
    done = project.run(*args)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: shorts caps suggest")
    assert "+experiment=NAME" in done.stdout


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["caps"], "choose a subcommand: shorts caps suggest +experiment=NAME"),
        (["caps", "propose", EXPERIMENT], "unknown caps subcommand 'propose'; use one of: suggest"),
        (["caps", "suggest"], "choose a short with +experiment=NAME; known shorts:"),
        (["caps", "suggest", "+experiment=nope"], "unknown short 'nope'; known shorts:"),
        (["caps", "suggest", EXPERIMENT, "model=ridge"], "unexpected argument 'model=ridge'"),
        (["caps", "suggest", EXPERIMENT, "--headroom", "0.9"], "--headroom '0.9' is not accepted"),
        (["caps", "suggest", EXPERIMENT, "--headroom", "x"], "a factor from 1 to 100"),
        (["caps", "suggest", EXPERIMENT, "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (
            ["caps", "suggest", EXPERIMENT, "--tracking-uri", "nonsense://x"],
            "tracking URI nonsense://x is not a store MLflow can read",
        ),
        (["run", EXPERIMENT, "caps.headroom=0.5"], "caps.headroom=0.5 is not accepted"),
        (["run", EXPERIMENT, "caps.on_memout=twice"], "use fail or retry"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_creates_no_run(
    hold: ShortsProject, args: list[str], names: str
) -> None:
    done = hold.run(*args)

    line = assert_usage_error(done, hold)
    assert names in line


# -- caps.on_memout=retry -------------------------------------------------------------------------


def test_memout_with_on_memout_retry_is_rerun_once_with_more_memory_and_linked(
    hold: ShortsProject,
) -> None:
    done = run_hold(hold, "short_params.mib=200", "caps.memory=160MiB", "caps.on_memout=retry")

    assert done.returncode == 0, done.stderr[-3000:]  # the exit status of the retry
    assert (
        "shorts: memout at 160.0 MiB; retrying once with caps.memory=240MiB (headroom 1.5)"
        in done.stderr
    )
    retry, first = hold.runs(SHORT)
    first_id, retry_id = first.info.run_id, retry.info.run_id
    assert first.data.tags["shorts.outcome"] == "memout"
    assert first.info.status == "FAILED"
    assert first.data.tags["shorts.retried_as"] == retry_id
    assert retry_id in first.data.tags["mlflow.note.content"]
    assert retry.data.tags["shorts.outcome"] == "completed"
    assert retry.data.tags["shorts.retry_of"] == first_id
    assert first_id in retry.data.tags["mlflow.note.content"]
    assert retry.data.tags["shorts.caps.memory"] == "240.0 MiB"
    assert retry.data.metrics[record.CAPS_MEMORY_BYTES] == 240 * 2**20
    assert first.data.metrics[record.CAPS_MEMORY_BYTES] == 160 * 2**20
    assert retry.data.params["caps.memory"] == "240MiB"
    assert retry.data.tags["shorts.overrides"].endswith("caps.memory=240MiB")
    assert f"note     retry of run {first_id}" in done.stderr


def test_a_retry_that_runs_out_of_memory_again_is_not_retried_again(hold: ShortsProject) -> None:
    done = run_hold(hold, "short_params.mib=400", "caps.memory=160MiB", "caps.on_memout=retry")

    assert done.returncode == 1, done.stderr[-3000:]
    runs = hold.runs(SHORT)
    assert [r.data.tags["shorts.outcome"] for r in runs] == ["memout", "memout"]
    assert runs[0].data.tags["shorts.retry_of"] == runs[1].info.run_id
    assert done.stderr.count("retrying once") == 1


def test_retry_is_refused_when_the_machine_lacks_the_raised_cap(hold: ShortsProject) -> None:
    headroom = 100
    cap_mib = math.ceil(psutil.virtual_memory().available / headroom / 2**20) + 64
    if cap_mib > 1024:
        pytest.skip(f"this machine has too much memory to refuse a {headroom}x raise cheaply")

    done = run_hold(
        hold,
        f"short_params.mib={cap_mib + 64}",
        f"caps.memory={cap_mib}MiB",
        "caps.on_memout=retry",
        f"caps.headroom={headroom}",
    )

    assert done.returncode == 1, done.stderr[-3000:]
    [line] = [s for s in done.stderr.splitlines() if "not retried" in s]
    assert line.startswith(f"shorts: memout at {cap_mib}.0 MiB; not retried: with headroom 100")
    assert "this machine has available" in line
    [run] = hold.runs(SHORT)
    assert run.data.tags["shorts.outcome"] == "memout"
    assert "shorts.retried_as" not in run.data.tags


SWEPT = textwrap.dedent(
    """\
    sweep:
      params:
        short_params.mib: {type: int, low: 200, high: 220}
    """
)


def test_sweep_trials_never_retry_and_the_sweep_warns_once(held: ShortsProject) -> None:
    # The peak on record (100 MiB and the interpreter) needs more than 150 MiB at 1.5x; the
    # sweep's base configuration is the one on record (its trials then hold 200-220 MiB).
    hold = held
    hold.add_short(
        SHORT,
        "hold_memory",
        caps={"memory": "150MiB", "on_memout": "retry"},
        extra="short_params:\n  mib: 100\n" + SWEPT,
    )

    done = hold.run("sweep", EXPERIMENT, "--trials", "2", timeout=180)

    assert len(warnings(done)) == 1, done.stderr[-3000:]
    assert "retrying" not in done.stderr
    trials = [r for r in hold.runs(SHORT) if r.data.tags.get("shorts.sweep.trial") is not None]
    assert len(trials) == 2
    assert {t.data.tags["shorts.outcome"] for t in trials} == {"memout"}
    assert not any("shorts.retry_of" in r.data.tags for r in hold.runs(SHORT))


# -- pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "params", "overrides"),
    [
        ("diabetes", {"dataset.name": "diabetes"}, ["dataset=diabetes"]),
        (
            "friedman1",
            {"dataset.n_samples": "20000"},
            ["dataset=friedman1", "dataset.n_samples=20000"],
        ),
        (
            "file",
            {"dataset.source": "file", "dataset.path": "data/houses.csv"},
            ["dataset=file", "dataset.path=data/houses.csv"],
        ),
        (
            "statsmodels",
            {"dataset.name": "longley"},
            ["dataset=statsmodels", "dataset.name=longley"],
        ),
    ],
)
def test_a_proposal_reruns_the_short_on_the_data_set_its_runs_used(
    dataset: str, params: dict[str, str], overrides: list[str]
) -> None:
    from shorts.retro.records import dataset_label, dataset_overrides

    assert dataset_overrides(dataset, params) == overrides
    # The same parts name the lesson: every override's value appears in its label.
    label = dataset_label(dataset, params)
    assert all(o.split("=", 1)[1] in label for o in overrides)
