"""Private PostgreSQL and Redis servers a fault test may stop, start, freeze and thaw.

Each runs from the system's binaries on a free port of 127.0.0.1, with its data in a temporary
folder, and is torn down by :meth:`close`. PostgreSQL refuses to run as root: under root it runs
as the ``postgres`` user (``runuser``, else ``su``); :func:`postgres_unavailable` says why it
cannot run at all, for a clean skip. No pytest here: ``loadtest/faults.py`` uses them too.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from ..serving.processes import free_port

__all__ = ["PostgresServer", "RedisServer", "free_port", "postgres_unavailable", "redis_unavailable"]

PG_USER = "postgres"


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _run_as_postgres() -> list[str] | None:
    """The command prefix that runs a command as the postgres user ([] when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        return None
    if shutil.which("runuser"):
        return ["runuser", "-u", PG_USER, "--"]
    return ["su", PG_USER, "-s", "/bin/sh", "-c"] if shutil.which("su") else None


def postgres_unavailable() -> str | None:
    """Why a private PostgreSQL cannot run here, or None when it can."""
    if _pg_bin() is None:
        return "PostgreSQL's initdb/pg_ctl are not installed (/usr/lib/postgresql/*/bin)"
    if _run_as_postgres() is None:
        return "running as root, and there is no 'postgres' user (or runuser/su) to run PostgreSQL as"
    return None


def redis_unavailable() -> str | None:
    """Why a private Redis cannot run here, or None when it can."""
    return None if shutil.which("redis-server") else "redis-server is not installed"


def _family(pid: int) -> list[int]:
    """``pid`` and its children (PostgreSQL's backends are the postmaster's children)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return [pid, *children]


class PostgresServer:
    """A PostgreSQL cluster of its own; ``url`` is the SQLAlchemy URL of its ``postgres`` database."""

    def __init__(self) -> None:
        reason = postgres_unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        self._bin, self._as = _pg_bin(), _run_as_postgres() or []
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nivesh-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "postgres.log"
        if self._as:
            shutil.chown(self.folder, PG_USER)
        self._pg("initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                 "--no-locale", "--no-sync")  # fmt: skip
        self._frozen: list[int] = []

    @property
    def url(self) -> str:
        """``postgresql+psycopg://postgres@127.0.0.1:<port>/postgres``."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close connections)."""
        self.thaw()
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        """Whether the postmaster is up."""
        return (self.data / "postmaster.pid").exists()

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open, nothing answers."""
        self._frozen = _family(self._postmaster())
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what :meth:`freeze` stopped."""
        for pid in reversed(self._frozen):
            with suppress(ProcessLookupError):  # a backend that ended while frozen
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def close(self) -> None:
        """Stop the server if it runs and remove its folder."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def _pg(self, program: str, *args: str) -> None:
        assert self._bin is not None  # checked in __init__
        command = [str(self._bin / program), *args]
        if self._as and self._as[0] == "su":
            command = [*self._as, shlex.join(command)]
        else:
            command = [*self._as, *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {args[-1]} failed: {result.stderr or result.stdout}{tail}")


class RedisServer:
    """A Redis of its own, no persistence; ``url`` is ``redis://127.0.0.1:<port>/0``."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._binary, self.port = binary, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (same port, empty) and wait until it answers PING."""
        command = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._pong():
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (its data is gone: nothing is persisted)."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        self._process.terminate()
        self._process.wait(10)
        self._process = None

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open, nothing answers."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT the server."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server."""
        self.stop()

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
