"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, start, yield its URL, stop, delete.

Uses the server binaries of Debian's ``postgresql`` package (/usr/lib/postgresql/<version>/bin, newest
version first) or ``initdb``/``pg_ctl`` on PATH. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` system user (``runuser``) in a folder that user owns. It listens on
127.0.0.1 on a free port (and a Unix socket in its own folder), with durability off: it is fast to
start (about a second) and its data is thrown away.

Without the binaries the tests using it are skipped with the reason, except under CI (``CI=true``), where
they fail: CI must run them (``.ci/run`` installs the package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

USER = "rekap"  # the superuser initdb creates (trust authentication: local, throwaway)
START_TIMEOUT = 30  # seconds


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    def version(path: str) -> tuple:
        part = Path(path).parent.parent.name
        return tuple(int(x) if x.isdigit() else 0 for x in part.split("."))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    for initdb in [*found, *([on_path] if on_path else [])]:
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
            return folder
    return None


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under CI, where PostgreSQL must be there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run; .ci/run installs the package)",
                    pytrace=False)
    pytest.skip(f"{reason}: install Debian's postgresql package (apt-get install postgresql) to run them")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL (database ``postgres``, user ``rekap``); stop and clean up."""
    bin_dir = binaries()
    if bin_dir is None:
        unavailable("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin or on PATH")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:  # postgres refuses root: run it as the postgres system user
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' system user to run the server as")
        runuser = shutil.which("runuser")
        prefix = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]
    root = Path(tempfile.mkdtemp(prefix="rekap-pg-"))
    data, log = root / "data", root / "server.log"
    if owner:
        os.chown(root, owner.pw_uid, owner.pw_gid)

    def run(*args: str, check: bool = True, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        cmd = [*prefix, " ".join(map(shlex.quote, args))] if prefix[:1] == ["su"] else [*prefix, *args]
        return subprocess.run(cmd, cwd=root, check=check, capture_output=True, text=True, timeout=timeout)

    started = False
    try:
        try:
            run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8",
                "--locale=C", "--no-sync")
        except subprocess.CalledProcessError as e:
            pytest.fail(f"initdb failed: {e.stderr or e.stdout}", pytrace=False)
        for _attempt in range(3):  # the free port may be taken between choosing and binding: retry
            port = free_port()
            options = (f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off -c synchronous_commit=off "
                       f"-c full_page_writes=off -c max_connections=20 -c shared_buffers=16MB")
            done = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                       "-t", str(START_TIMEOUT), "start", check=False, timeout=START_TIMEOUT + 5)
            if done.returncode == 0:
                started = True
                break
        if not started:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{tail}", pytrace=False)
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def emptied(url: str) -> str:
    """``url`` after dropping every table of the server's database (its public schema made anew)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    return url
