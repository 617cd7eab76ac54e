"""The ``shorts`` command: ``run`` (Hydra's full grammar), ``list``, ``sweep``, ``retro`` and more.

Hydra has no subcommands (hydra#409), so ``shorts run ARGS`` hands ``ARGS`` to a ``@hydra.main``
function built at call time around the project's ``configs/``. Imports are lazy: ``shorts --help``
must answer without loading MLflow or scikit-learn.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Callable

from shorts.errors import UsageError, one_line
from shorts.outcome import EXIT_USAGE, Outcome
from shorts.project import ROOT_ENV, Project, find_project

HELP = """\
usage: shorts COMMAND [ARGS]

Cheap, capped ML experiments ("shorts") recorded in MLflow.

commands:
  run [OVERRIDES]   run a short: shorts run +experiment=NAME [key=value ...]
                    (Hydra grammar: -m for multirun, --cfg job, --info, --help)
  sweep [OPTIONS] [OVERRIDES]
                    search a short's declared space with Optuna, every trial a capped run:
                    shorts sweep +experiment=NAME [--trials N] [--budget 1h] [--jobs K]
                    [--resume] [--study NAME]
  list              the shorts of this project: name, hypothesis, caps
  new NAME          scaffold a short (YAML + function) that already runs end to end
  ui [--port N]     the MLflow UI over this project's store, on 127.0.0.1
  server OPTIONS    a team tracking server (mlflow server on PostgreSQL), on 127.0.0.1:
                    --backend-store-uri postgresql://... [--port N] [--host ADDRESS]
  sync              deliver the records a tracking outage left pending (.shorts/pending)
  repair            close runs whose supervisor died (outcome 'lost')
  inspect dataset=NAME [KEY=VALUE ...]
                    go on location: a data QA report (types, missing values, duplicates,
                    target, leakage, noisy labels, checklist) in the terminal, as HTML and as
                    a run of the MLflow experiment 'on_location'
  label dataset=NAME [n=20] [answers=FILE.csv] [KEY=VALUE ...]
                    be the model: label n examples by hand; logs a 'human_baseline' run
                    beside a model scored on the same rows
  caps suggest +experiment=NAME [dataset=NAME] [--headroom 1.5]
                    memory and wall-time caps from the runs on record, with the evidence
  retro [OPTIONS]   a retrospective of a period's shorts, as HTML/Markdown/JSON, logged to
                    MLflow: [--quarter 2026Q4 | --since DATE --until DATE] [--ui-url URL]
                    [--headroom 1.5] [--out DIR] [--tracking-uri URI]

exit status: 0 completed, 1 the short failed (recorded), 2 usage or config error, 130 interrupted
"""

# command -> where its function lives, and how it is called: "args" (with the arguments), "bare"
# (it takes none) or "guarded" (with them; a bug in it is one line and a traceback in a file)
_COMMANDS = {
    "sweep": ("shorts.sweep.command", "sweep", "args"),
    "list": ("shorts.catalog", "print_catalog", "bare"),
    "ui": ("shorts.ui", "serve", "args"),
    "new": ("shorts.scaffold", "new_short", "args"),
    "repair": ("shorts.repair", "repair", "bare"),
    "sync": ("shorts.repair", "sync", "bare"),
    "retro": ("shorts.retro.command", "retro", "guarded"),
    "server": ("shorts.server", "serve_team", "args"),
    "inspect": ("shorts.inspect.command", "inspect_command", "guarded"),
    "label": ("shorts.label.command", "label_command", "guarded"),
    "caps": ("shorts.headroom.command", "caps_command", "guarded"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``shorts`` console script; returns the exit status."""
    try:
        return _command(sys.argv[1:] if argv is None else argv)
    finally:
        # The interpreter's last collection walks every object MLflow, scikit-learn and scipy
        # made: about a second of every command's exit. Frozen objects are skipped, and the
        # process is ending.
        gc.freeze()


def _command(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(HELP, end="")
        return 0
    if args[0] == "--version":
        from shorts import __version__

        print(f"shorts {__version__}")
        return 0
    command, rest = args[0], args[1:]
    # MLflow 3's usage telemetry starts a sender thread per client that races its own shutdown
    # against http tracking URIs and phones home from machines that are often offline; set it
    # to "false" to opt back in.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow prints "View run ... / View experiment ..." on stdout as a run on a server ends;
    # shorts says where the run is in its own summary.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        project = find_project()
        if command == "run":
            return _run(project, rest)
        if command in _COMMANDS:
            module, function, kind = _COMMANDS[command]
            if kind == "bare" and _no_arguments(command, rest):
                return 0
            run = getattr(importlib.import_module(module), function)
            if kind == "bare":
                return int(run(project))
            return _guarded(project, run, rest) if kind == "guarded" else int(run(project, rest))
        raise UsageError(
            f"unknown command {command!r}; use one of: run, sweep, list, new, ui, server, sync, "
            "repair, retro, inspect, label, caps."
        )
    except UsageError as exc:
        print(f"shorts: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (shorts list | head): not an error of ours; no second complaint
        # when Python flushes stdout on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("shorts: interrupted", file=sys.stderr)
        return Outcome.INTERRUPTED.exit_status


def _run(project: Project, overrides: list[str]) -> int:
    """``shorts run``: Hydra parses ``overrides``; each composed job goes to the launcher.

    A multirun's jobs may run in other processes or machines (joblib by default, Ray,
    submitit), so their outcomes come back through the sweep folder (``shorts.multirun``).
    """
    project.check_overrides(overrides)
    os.environ[ROOT_ENV] = str(project.root)
    os.environ["HYDRA_FULL_ERROR"] = "1"  # we turn Hydra's errors into one line ourselves

    import hydra
    import yaml
    from hydra.errors import HydraException
    from omegaconf import DictConfig
    from omegaconf.errors import OmegaConfBaseException

    from shorts.launch import run_short
    from shorts.multirun import launching as multirun

    is_multirun = multirun.requested(overrides)
    if is_multirun:
        overrides = multirun.with_sweep_dir(project, overrides)
    outcomes: list[Outcome] = []
    failures: list[Exception] = []

    def task(cfg: DictConfig) -> None:
        # An exception escaping a job makes Hydra print its own "Error executing job" line on
        # stderr; keep it here and raise it once Hydra has returned. Jobs run in this process
        # (the basic launcher) stop at the first that could not run.
        if failures:
            return
        try:
            outcomes.append(run_short(cfg, project))
        except Exception as exc:
            failures.append(exc)

    main_fn = hydra.main(
        version_base="1.3", config_path=str(project.configs), config_name="shorts"
    )(task)
    saved_argv = sys.argv
    sys.argv = ["shorts run", *overrides]
    report: multirun.MultirunReport | None = None
    try:
        try:
            with multirun.interrupts() if is_multirun else contextlib.nullcontext():
                aborted = True
                try:
                    main_fn()
                    aborted = False
                except multirun.StopMultirun as stop:
                    aborted = False  # nothing was launched
                    raise stop.error from None
                finally:
                    report = multirun.conclude(aborted=aborted)
        except (ValueError, yaml.YAMLError) as exc:
            # The jobs catch their own errors, so this is Hydra refusing an override (``=3``)
            # or a config file that is not YAML.
            raise UsageError(one_line(str(exc))) from None
        if failures:
            raise failures[0]
        if report is not None and report.refusal:
            raise UsageError(report.refusal)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UsageError(one_line(str(exc))) from None
    except (UsageError, BrokenPipeError):
        raise
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        return _internal_error(project, exc)
    finally:
        sys.argv = saved_argv
    return _worst(outcomes if report is None else report.outcomes)


def _guarded(
    project: Project, command: Callable[[Project, list[str]], int], args: list[str]
) -> int:
    """Run a subcommand; a bug in it is one line here and a traceback in a file."""
    try:
        return command(project, args)
    except (UsageError, BrokenPipeError, KeyboardInterrupt):
        raise
    except Exception as exc:
        return _internal_error(project, exc)


def _no_arguments(command: str, rest: list[str]) -> bool:
    """``list``, ``sync`` and ``repair`` take no arguments: True after printing help,
    UsageError on any."""
    usage = f"usage: shorts {command} (it takes no arguments)"
    if rest in (["-h"], ["--help"]):
        print(usage)
        return True
    if rest:
        raise UsageError(f"unexpected argument(s) {' '.join(rest)!r}; {usage}.")
    return False


def _worst(outcomes: list[Outcome]) -> int:
    """Exit status of a (multi)run: interrupted beats failed beats completed."""
    statuses = {o.exit_status for o in outcomes}
    return next((status for status in (130, 1) if status in statuses), 0)


def _internal_error(project: Project, exc: BaseException) -> int:
    """A bug in shorts, not the user's mistake: one line here, the traceback in a file."""
    path = project.state / "last-error.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(exc)))
    print(
        f"shorts: internal error: {type(exc).__name__}: {one_line(str(exc))}; traceback in {path}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
