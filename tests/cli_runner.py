"""Run ``python -m mtl_lab.train <args>`` (or a script) the way a user does, without paying the imports
every time.

Importing torch + Lightning + Hydra takes about 10 s of CPU on a small machine, and a CLI test used to pay
it on every run. :func:`run_python` forks each run from a multiprocessing *forkserver* that imported the
entry point once (``preload``): the child gets its own working directory, environment, stdin from
/dev/null, stdout/stderr into files, ``sys.argv``, and runs the module (or script) as ``__main__`` with
``runpy`` (what ``python -m`` / ``python script.py`` do), then shuts down as the interpreter does (threads and
their exit hooks, then the atexit handlers: W&B finishes its runs there) and exits with the status
Python would. Processes the run starts (DDP ranks, launcher workers) are
real new interpreters. The result is a :class:`subprocess.CompletedProcess` as ``subprocess.run`` gives.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

_context = multiprocessing.get_context("forkserver")


def preload(modules: Sequence[str]) -> None:
    """Modules the forkserver imports once, before it forks the first run (call before the first run)."""
    _context.set_forkserver_preload(list(modules))


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message"): Python prints it and exits with 1
    return 1


def _child(target: str, args: Sequence[str], cwd: str, env: Mapping[str, str], out: str, err: str) -> None:
    """Run ``target``: a module name (``python -m``) or, ending in ``.py``, a script path (``python x.py``)."""
    os.setsid()  # its own process group: a timeout kills the run and every process it started
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    with open(os.devnull, "rb") as devnull, open(out, "wb") as stdout, open(err, "wb") as stderr:
        for stream, fd in ((devnull, 0), (stdout, 1), (stderr, 2)):
            os.dup2(stream.fileno(), fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the process's own stdin, never closed)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.argv = [target, *args]
    try:
        if target.endswith(".py"):
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))  # as `python script.py` does
            runpy.run_path(target, run_name="__main__")
        else:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exit_:
        status = _exit_status(exit_.code)
    except BaseException:
        traceback.print_exc()
        status = 1
    # the interpreter's own shutdown order: threads and their exit hooks (loky stops its workers in one),
    # then the atexit handlers (W&B finishes its runs, multiprocessing joins its children)
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run_python(
    target: str, args: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``python -m <target> <args>`` (or ``python <target.py> <args>``) in ``cwd`` with environment
    ``env``; raises :class:`subprocess.TimeoutExpired` (after killing the run's processes) past ``timeout``."""
    with tempfile.TemporaryDirectory() as tmp:
        out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        Path(out).touch()
        Path(err).touch()
        process = _context.Process(target=_child, args=(target, list(args), str(cwd), dict(env), out, err))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.join()
            raise subprocess.TimeoutExpired([target, *args], timeout)
        stdout, stderr = Path(out).read_text(errors="replace"), Path(err).read_text(errors="replace")
    # a run killed by a signal has a negative exit code, as subprocess reports it
    return subprocess.CompletedProcess([target, *args], process.exitcode, stdout, stderr)
