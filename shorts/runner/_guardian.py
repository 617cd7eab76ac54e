"""The guardian: a tiny stdlib-only process that keeps a worker tree from outliving its supervisor.

Why a separate process: when the supervisor is SIGKILLed it can run no cleanup, and
``PR_SET_PDEATHSIG`` on the worker alone would leave its children and any ``setsid`` escapees
running. The guardian is a child subreaper, so every orphan of the tree reparents to it, and it
watches a control pipe from the supervisor: end-of-file on that pipe (the supervisor closed it or
died) makes the guardian SIGKILL every descendant, reap them, and exit.

It also forks the worker into a new session (its own process group, out of the terminal's reach so
Ctrl-C goes to the supervisor only), pins its CPU affinity, and reports the worker's exit status
and resource usage to the supervisor as JSON lines. Run as a script (``python -I -S path``) so it
starts in a few milliseconds without importing the ``shorts`` package.
"""

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def descendants(root: int) -> list[int]:
    """Live descendants of ``root``, read from /proc/<pid>/task/<tid>/children."""
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                continue
            for kid in kids:
                if kid not in found:
                    found.append(kid)
                    frontier.append(kid)
    return found


def signal_all(group: int | None, pids: list[int], signum: int) -> None:
    """Send ``signum`` to the process group ``group`` and to each of ``pids``, gone or not."""
    if group is not None:
        with contextlib.suppress(OSError):
            os.killpg(group, signum)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def kill_all(worker_pid: int) -> None:
    """SIGKILL the worker's process group and every descendant until none is left."""
    for _ in range(50):
        signal_all(worker_pid, descendants(os.getpid()), signal.SIGKILL)
        reap()
        if not descendants(os.getpid()):
            return
        select.select([], [], [], 0.01)


def reap() -> list[tuple[int, int, Any]]:
    """Collect every exited child (workers and adopted orphans) without blocking."""
    exited: list[tuple[int, int, Any]] = []
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        exited.append((pid, status, usage))
    return exited


def _send(fd: int, message: dict[str, object]) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (json.dumps(message) + "\n").encode())


def _start_worker(spec: dict[str, Any]) -> int:
    argv = [str(a) for a in spec["argv"]]
    env = {str(k): str(v) for k, v in spec["env"].items()}
    keep = {int(fd) for fd in spec["pass_fds"]}
    out_fd = int(spec["out_fd"])
    guardian = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != guardian:
            os._exit(137)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        cpus = spec.get("cpus")
        if cpus:
            os.sched_setaffinity(0, {int(c) for c in cpus})
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for fd in keep:
            os.set_inheritable(fd, True)
        os.execve(argv[0], argv, env)
    except BaseException as exc:
        os.write(2, f"shorts guardian: could not start the worker: {exc!r}\n".encode())
    os._exit(127)


def main() -> None:
    spec = json.loads(sys.argv[1])
    ctrl_fd = int(spec["ctrl_fd"])
    status_fd = int(spec["status_fd"])
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    stop = [False]

    def on_term(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    worker = _start_worker(spec)
    os.close(int(spec["out_fd"]))
    for fd in spec["pass_fds"]:
        os.close(int(fd))
    _send(status_fd, {"event": "started", "pid": worker})
    worker_done = False
    while not stop[0]:
        try:
            ready, _, _ = select.select([ctrl_fd, wake_r], [], [], 1.0)
        except InterruptedError:
            continue
        if wake_r in ready:
            os.read(wake_r, 4096)
        for pid, status, usage in reap():
            if pid == worker and not worker_done:
                worker_done = True
                message: dict[str, object] = {
                    "event": "exit",
                    "pid": pid,
                    "utime": usage.ru_utime,
                    "stime": usage.ru_stime,
                    "maxrss_kb": usage.ru_maxrss,
                }
                if os.WIFSIGNALED(status):
                    message["signal"] = os.WTERMSIG(status)
                else:
                    message["code"] = os.waitstatus_to_exitcode(status)
                _send(status_fd, message)
        if ctrl_fd in ready and not os.read(ctrl_fd, 4096):
            break
    kill_all(worker)
    _send(status_fd, {"event": "gone"})


if __name__ == "__main__":
    main()
