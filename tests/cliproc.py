"""``rekap`` in a process of its own, forked from one that has imported it already.

The fault tests run the CLI as a real process: killed with SIGKILL at a stage, run on a read-only or a
full disk, stopped by a damaged catalog. A new Python for each run paid the imports again (pandas, the
readers, Great Expectations: about 9 s of CPU before any work), a dozen times in one test. Here each run
is a child of a multiprocessing *forkserver* that imported them once per test process: the entry of
``python -m pipeline`` (``pipeline.cli.main``, the arguments in ``sys.argv``) in a process of its own,
with its own working folder, environment, output, exit status and signals, killable like any other.

Not for tests of determinism across processes: the children share their parent's hash seed, where new
Pythons each draw one (those tests start real interpreters).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# what a run imports before its work (the gate's Great Expectations included); the gate imports GX with
# analytics off, and so does the forkserver (its environment is this process's when it starts)
PRELOAD = ["pipeline.cli", "pipeline.run", "pipeline.validate", "pipeline.report", "pipeline.pdf",
           "great_expectations"]
_context: list = []


def _forkserver():
    if not _context:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context.append(context)
    return _context[0]


def _child(args: list[str], cwd: str, env: dict, out: str, err: str) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    logging.captureWarnings(False)  # as the gate leaves it after importing GX in a new process
    sys.argv = ["rekap", *args]
    from pipeline.cli import main

    main()  # exits with the command's status (multiprocessing makes it the process's)


def rekap(args, cwd, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` run in ``cwd`` with ``env`` (default: this process's), as
    :func:`subprocess.run` with ``capture_output=True, text=True`` would report it."""
    args = [str(a) for a in args]
    with tempfile.TemporaryDirectory() as tmp:
        out, err = str(Path(tmp) / "stdout"), str(Path(tmp) / "stderr")
        process = _forkserver().Process(target=_child, args=(args, str(cwd), dict(env or os.environ), out, err))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["rekap", *args], timeout)
        text = [Path(f).read_text(encoding="utf-8", errors="replace") if Path(f).exists() else "" for f in (out, err)]
    return subprocess.CompletedProcess(["rekap", *args], process.exitcode, *text)
