"""Tools for fault tests: a real `mailbot run` process, tmpfs mounts made read-only or full, a
scratch PostgreSQL database that can be told to refuse connections, and waiting with a deadline.
Faults are made by real means only; nothing in mailbot is patched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from servers import require_or_skip
from servers.postgres import UNREACHABLE, PostgresAdmin

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log: "Daemon | None" = None) -> None:
    """Poll `condition` until true; fail naming `what` (and the daemon's log tail) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = "\n" + log.tail() if log is not None else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{tail}")


class Daemon:
    """`python -m mailbot --config CONFIG run` as a real process; stderr goes to a file."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None, verb: str = "run"):
        self.config, self.log, self.verb = config, log, verb
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Daemon":
        with open(self.log, "ab") as stderr:
            self.proc = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(self.config), self.verb],
                                         env=self.env, stdout=subprocess.DEVNULL, stderr=stderr)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code (killed and failed when it does not stop)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"mailbot {self.verb} did not stop within {timeout} s of SIGTERM\n{self.tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])


@contextmanager
def tmpfs(path: Path, size: str = "64m") -> Iterator[Path]:
    """A fresh tmpfs mounted at `path` (created when missing), unmounted afterwards."""
    if os.geteuid() != 0:
        require_or_skip("fault tests mount a tmpfs: run them as root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    """mode "ro" or "rw": what an operator's `mount -o remount,ro` does to a live file system."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


_admin: list[PostgresAdmin | None] = []


def postgres_admin() -> PostgresAdmin:
    if not _admin:
        _admin.append(PostgresAdmin.find())
    if _admin[0] is None:
        require_or_skip(UNREACHABLE)
    return _admin[0]


@contextmanager
def scratch_postgres() -> Iterator[tuple[PostgresAdmin, str, str]]:
    """(admin, database name, URL) of a fresh database, dropped afterwards."""
    admin = postgres_admin()
    name, url = admin.create_database()
    try:
        yield admin, name, url
    finally:
        admin.allow_connections(name)
        admin.drop_database(name)
