"""The supervisor: starts a short's worker tree, enforces its caps, and observes how it ends.

It knows nothing about models or MLflow. It hands metric events, output and status ticks to
callbacks, and returns an ``Observation``: the outcome and the evidence it was decided from (which
limit fired, exit code, signal, resource figures). Outcomes are never guessed from text.

Process layout::

    supervisor (this process)
      └─ guardian  (stdlib-only child subreaper; kills the tree if the supervisor goes away)
           └─ worker  (new session; runs fn(cfg, ctx); CPU affinity and thread caps applied)
                └─ anything the short starts (orphans reparent to the guardian)
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shorts.caps import Cap, Caps, Usage
from shorts.outcome import Outcome
from shorts.runner import _guardian
from shorts.runner.cores import CoreClaim
from shorts.runner.output import BoundedLog
from shorts.runner.tree import ProcessTree

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "LOKY_MAX_CPU_COUNT",
)

# Seconds between memory samples: 25 ms bounds the overshoot of a tree growing at 200 MB/s to
# about 5 MB.
SAMPLE_SECONDS = 0.025


@dataclass(frozen=True)
class WorkerSpec:
    """Everything the worker needs, written to ``staging/worker.json``."""

    fn: str
    config: dict[str, Any]
    caps: Caps
    project_root: Path
    staging: Path
    trial: dict[str, Any] | None = None  # a sweep's trial: where the study lives (ctx.report)

    @property
    def artifact_dir(self) -> Path:
        """Where the short writes its own artifacts (``ctx.artifact_dir``)."""
        return self.staging / "artifacts"

    @property
    def evidence_dir(self) -> Path:
        """Where the runner keeps its evidence: output log, traceback, observation."""
        return self.staging / "evidence"


@dataclass
class Observation:
    """How the run ended and the evidence behind it."""

    outcome: Outcome
    reason: str
    started_at: float
    wall_seconds: float
    cpu_seconds: float
    peak_rss: int
    exit_code: int | None = None
    exit_signal: int | None = None
    result: dict[str, float] | None = None
    error: dict[str, Any] | None = None
    leftovers_killed: int = 0
    tree_dead_after_deadline: float | None = None
    output_log: Path | None = None
    breach: dict[str, Any] | None = None  # the cap that stopped it: key, unit, limit, used

    @property
    def usage(self) -> Usage:
        """What the tree used over the whole run (the peak for memory)."""
        return Usage(self.wall_seconds, self.cpu_seconds, self.peak_rss)

    def evidence(self) -> dict[str, Any]:
        """A JSON-ready record of what the supervisor saw."""
        return {
            "outcome": str(self.outcome),
            "reason": self.reason,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_rss_bytes": self.peak_rss,
            "exit_code": self.exit_code,
            "exit_signal": _signal_name(self.exit_signal),
            "breach": self.breach,
            "leftover_processes_killed": self.leftovers_killed,
            "tree_dead_seconds_after_deadline": self.tree_dead_after_deadline,
            "error": self.error,
        }


class Supervisor:
    """Runs one worker tree under caps.

    Args:
        spec: what to run and under which caps.
        on_metric: called with each metric event the short logs (``{"k", "v", "s", "ts"}``).
        on_output: called with each chunk of the worker tree's stdout/stderr.
        on_tick: called after each resource sample.
        on_record: called with every other event of the short (folds, dataset, harvest).
    """

    def __init__(
        self,
        spec: WorkerSpec,
        on_metric: Callable[[dict[str, Any]], None] | None = None,
        on_output: Callable[[bytes], None] | None = None,
        on_tick: Callable[[Usage], None] | None = None,
        on_record: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.spec = spec
        self.on_metric = on_metric
        self.on_output = on_output
        self.on_tick = on_tick
        self.on_record = on_record
        self._interrupts = 0
        self._pipes_closed = False  # after wait(): the wake pipe's descriptor may be reused
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._guardian: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._t0 = 0.0
        self._cores = CoreClaim(spec.caps.cpus)

    # -- start ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn guardian and worker; the wall-time clock starts here."""
        spec = self.spec
        spec.artifact_dir.mkdir(parents=True, exist_ok=True)
        spec.evidence_dir.mkdir(parents=True, exist_ok=True)
        ctrl_r, self._ctrl_w = os.pipe()
        self._status_r, status_w = os.pipe()
        self._event_r, event_w = os.pipe()
        self._out_r, out_w = os.pipe()
        self.started_at = time.time()
        self._t0 = time.monotonic()
        worker_spec = {
            "fn": spec.fn,
            "config": spec.config,
            "project_root": str(spec.project_root),
            "artifact_dir": str(spec.artifact_dir),
            "traceback_path": str(spec.evidence_dir / "traceback.txt"),
            "started_at": self.started_at,
            "wall_time": spec.caps.wall_time,
            "soft_time": spec.caps.soft_time,
            "cpus": spec.caps.cpus,
            "memory": spec.caps.memory,
            "event_fd": event_w,
            "trial": spec.trial,
        }
        spec_path = spec.staging / "worker.json"
        spec_path.write_text(json.dumps(worker_spec, default=str))
        guardian_args = {
            "ctrl_fd": ctrl_r,
            "status_fd": status_w,
            "out_fd": out_w,
            "pass_fds": [event_w],
            "argv": [sys.executable, "-m", "shorts.runner.worker", str(spec_path)],
            "env": {
                **os.environ,
                **dict.fromkeys(THREAD_VARIABLES, str(spec.caps.cpus)),
                "PYTHONUNBUFFERED": "1",
                "SHORTS_ROOT": str(spec.project_root),
            },
            "cpus": self._cores.acquire(),
        }
        self._guardian = subprocess.Popen(
            [sys.executable, "-I", "-S", _guardian.__file__, json.dumps(guardian_args)],
            pass_fds=(ctrl_r, status_w, event_w, out_w),
            stdin=subprocess.DEVNULL,
            cwd=spec.project_root,
        )
        for fd in (ctrl_r, status_w, event_w, out_w):
            os.close(fd)
        self.tree = ProcessTree(self._guardian.pid)

    # -- interrupts ----------------------------------------------------------------------------

    def request_interrupt(self) -> None:
        """Ask the loop to stop the short (safe to call from a signal handler)."""
        self._interrupts += 1
        if not self._pipes_closed:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"!")

    # -- the loop ------------------------------------------------------------------------------

    def wait(self) -> Observation:
        """Watch the tree until it is gone; enforce caps on the way; return the observation."""
        assert self._guardian is not None, "start() first"
        caps = self.spec.caps
        log = BoundedLog()
        selector = selectors.DefaultSelector()
        for fd in (self._event_r, self._out_r, self._status_r, self._wake_r):
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        open_fds = {self._event_r, self._out_r, self._status_r}
        buffers = {self._event_r: b"", self._status_r: b""}  # the pipes of JSON lines
        limits = caps.limits
        kill_at: float | None = None
        next_sample = self._t0
        fired: Outcome | None = None
        fired_detail = ""
        breach: Cap | None = None  # the cap that stopped the tree, when one did
        breach_usage: Usage | None = None
        breach_due = 0.0  # when the breach was due: its deadline, else when a sample found it
        dues = [due for cap in limits if (due := cap.due(self._t0)) is not None]
        worker_exit: dict[str, Any] | None = None
        worker_exited_at: float | None = None
        result_event: dict[str, Any] | None = None
        result_at: float | None = None
        error_event: dict[str, Any] | None = None
        leftover_pids: set[int] = set()
        tree_dead_at: float | None = None
        handled_interrupts = 0

        def begin_stop(outcome: Outcome, detail: str, now: float, at_once: bool = False) -> None:
            """SIGTERM the tree and SIGKILL it after the grace period, or ``at_once``."""
            nonlocal fired, fired_detail, kill_at
            fired, fired_detail = outcome, detail
            self.tree.signal_all(signal.SIGKILL if at_once else signal.SIGTERM)
            kill_at = now if at_once else now + caps.grace

        while True:
            now = time.monotonic()
            wake_times = [next_sample] + ([kill_at] if kill_at else [])
            if fired is None:
                wake_times += dues
            timeout = max(0.0, min(wake_times) - now)
            for key, _ in selector.select(timeout):
                fd = key.fd
                chunk = _read(fd)
                if chunk is None or fd == self._wake_r:
                    continue
                if not chunk:
                    selector.unregister(fd)
                    open_fds.discard(fd)
                    continue
                if fd == self._out_r:
                    log.feed(chunk)
                    if self.on_output:
                        self.on_output(chunk)
                    continue
                buffers[fd] += chunk
                *lines, buffers[fd] = buffers[fd].split(b"\n")
                for event in filter(None, map(_parse, lines)):
                    kind = event.get("t")
                    if fd == self._status_r:  # the guardian's word on the worker
                        if event.get("event") == "started":
                            self.tree.worker_pgid = int(event["pid"])
                        elif event.get("event") == "exit":
                            worker_exit, worker_exited_at = event, time.monotonic()
                    elif kind == "metric" and self.on_metric:
                        self.on_metric(event)
                    elif kind in ("result", "bad_result", "pruned"):
                        result_event, result_at = event, time.monotonic()
                    elif kind == "error":
                        error_event = event
                    elif self.on_record:
                        self.on_record(event)

            now = time.monotonic()
            if self._interrupts > handled_interrupts:
                handled_interrupts = self._interrupts
                if fired is not Outcome.INTERRUPTED and worker_exit is None:
                    begin_stop(Outcome.INTERRUPTED, "interrupted by the user", now)
                else:
                    kill_at = now  # a second interrupt: no more grace

            due_passed = fired is None and worker_exit is None and any(now >= d for d in dues)
            if now >= next_sample or due_passed:
                sample = self.tree.sample()
                usage = Usage(now - self._t0, self.tree.cpu_seconds, sample.rss, len(sample.pids))
                if self.on_tick:
                    self.on_tick(usage)
                for cap in limits:
                    # A cap that kills at once still acts during another's grace period; the
                    # others only while nothing has fired and the worker is still running.
                    if cap.immediate:
                        if breach is not None and breach.immediate:
                            continue
                    elif fired is not None or worker_exit is not None:
                        continue
                    if cap.breached(usage):
                        breach, breach_usage = cap, usage
                        breach_due = min(cap.due(self._t0) or now, now)
                        begin_stop(cap.outcome, cap.reason(usage), now, at_once=cap.immediate)
                        break
                terminating = fired is not None or worker_exit is not None
                next_sample = now + (0.002 if terminating else SAMPLE_SECONDS)
                if worker_exit is not None and sample.pids:
                    if fired is None:
                        leftover_pids.update(sample.pids)
                    self.tree.kill_all()
                guardian_gone = self._status_r not in open_fds
                if (fired or worker_exit or guardian_gone) and not sample.pids:
                    tree_dead_at = tree_dead_at or now

            if kill_at is not None and now >= kill_at and self.tree.live_pids():
                self.tree.kill_all()
                kill_at = now + 0.05

            if tree_dead_at is not None:
                pipes_open = {self._event_r, self._out_r} & open_fds
                exit_known = worker_exit is not None or self._status_r not in open_fds
                waited = now - tree_dead_at
                # Pipes held by something outside the tree get a second; the guardian's report
                # of the worker's exit gets longer, as a busy machine may not schedule it sooner.
                if (exit_known and (not pipes_open or waited > 1.0)) or waited > 10.0:
                    break

        selector.close()
        self._close_guardian()
        output_log = self.spec.evidence_dir / "output.log"
        log.write(output_log)
        end = tree_dead_at if tree_dead_at is not None else time.monotonic()
        exited = worker_exit or {}
        cpu = max(self.tree.cpu_seconds, exited.get("utime", 0.0) + exited.get("stime", 0.0))
        peak = max(self.tree.peak_rss, int(exited.get("maxrss_kb", 0)) * 1024)
        if breach_usage is not None:
            peak = max(peak, breach_usage.rss)
            cpu = max(cpu, breach_usage.cpu_seconds)
        stopped_by = breach if breach is not None and fired is breach.outcome else None
        # Only a cap that sends SIGTERM has a stop deadline to measure from; for a memout or an
        # interrupt the figure would compare with a deadline that never came.
        stopping = stopped_by is not None and not stopped_by.immediate
        # A short that returned its result before the cap was due finished within its caps.
        finished_in_time = stopping and result_at is not None and result_at <= breach_due
        outcome, reason = _decide(
            None if finished_in_time else fired,
            fired_detail,
            worker_exit,
            result_event,
            error_event,
            immediate=stopped_by is not None and stopped_by.immediate,
        )
        if leftover_pids:
            reason += f"; {len(leftover_pids)} leftover process(es) of the short were killed"
        return Observation(
            outcome=outcome,
            reason=reason,
            started_at=self.started_at,
            wall_seconds=(worker_exited_at or end) - self._t0,
            cpu_seconds=cpu,
            peak_rss=peak,
            exit_code=exited.get("code"),
            exit_signal=exited.get("signal"),
            result=result_event["metrics"]
            if result_event and result_event["t"] == "result"
            else None,
            error=error_event,
            leftovers_killed=len(leftover_pids),
            tree_dead_after_deadline=(
                round(tree_dead_at - (breach_due + caps.grace), 4)
                if stopping and tree_dead_at is not None
                else None
            ),
            output_log=output_log,
            breach=(
                stopped_by.evidence(breach_usage)
                if stopped_by is not None and breach_usage is not None
                else None
            ),
        )

    def _close_guardian(self) -> None:
        self._cores.release()
        os.close(self._ctrl_w)
        assert self._guardian is not None
        try:
            self._guardian.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._guardian.kill()
            self._guardian.wait()
        self._pipes_closed = True
        for fd in (self._event_r, self._out_r, self._status_r, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _decide(
    fired: Outcome | None,
    fired_detail: str,
    worker_exit: dict[str, Any] | None,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None,
    immediate: bool = False,
) -> tuple[Outcome, str]:
    """Outcome and one-sentence reason from what was observed, most decisive evidence first.

    ``fired`` is what stopped the tree, if anything did (a cap's outcome, or an interrupt), with
    ``fired_detail`` its cause in words (``Cap.reason``); ``immediate`` if it killed the tree
    at once rather than sending SIGTERM first.
    """
    if fired is Outcome.INTERRUPTED:
        return fired, "interrupted by the user; the worker tree was stopped"
    if fired is not None and immediate:
        return fired, fired_detail + "; the tree was killed"
    if fired is not None:
        how = _how_it_ended(worker_exit)
        return fired, f"{fired_detail}; SIGTERM sent, {how}"
    if worker_exit is None:
        return Outcome.CRASHED, "the guardian process vanished before reporting the worker's exit"
    sig = worker_exit.get("signal")
    if sig is not None:
        if sig == signal.SIGKILL:
            return Outcome.CRASHED, (
                "the worker was killed by SIGKILL from outside shorts (the kernel's OOM killer "
                "does this when the machine runs out of memory)"
            )
        return Outcome.CRASHED, f"the worker was killed by {_signal_name(sig)}"
    code = worker_exit.get("code")
    if error is not None:
        where = f" at {error['where']}" if error.get("where") else ""
        message = str(error.get("message", "")).strip().splitlines()
        first = message[0] if message else ""
        return Outcome.CRASHED, f"the short raised {error.get('type')}{where}: {first}"[:500]
    if code != 0:
        return Outcome.CRASHED, f"the worker exited with status {code} without a result"
    if result is None:
        return Outcome.CRASHED, "the worker exited with status 0 without returning a result"
    if result.get("t") == "pruned":
        why = f" ({result['why']})" if result.get("why") else ""
        return Outcome.PRUNED, f"the sweep's pruner stopped it early{why}"
    if result.get("t") == "bad_result":
        return Outcome.CRASHED, (
            f"the short {result.get('why')}; a short must return a dict of metric name to number"
        )
    if result.get("non_finite"):
        names = ", ".join(result["non_finite"])
        return Outcome.CRASHED, f"the short returned non-finite value(s) for {names}"
    count = len(result.get("metrics", {}))
    return Outcome.COMPLETED, f"the short returned {count} metric(s) within its caps"


def _how_it_ended(worker_exit: dict[str, Any] | None) -> str:
    if worker_exit is None:
        return "then the tree was killed"
    if worker_exit.get("signal") == signal.SIGKILL:
        return "the short ignored it and was killed with SIGKILL after the grace period"
    return "the short stopped within the grace period"


def _signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _read(fd: int) -> bytes | None:
    """A chunk from a ready pipe; ``b""`` at end-of-file, ``None`` if nothing is there after all."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
