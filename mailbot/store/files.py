"""Content-addressed file store: raw messages and documents by SHA-256, readable by us only."""

from __future__ import annotations

import os
from pathlib import Path

from mailbot.parse.message import sha256  # re-exported: the content address is computed in parse

from mailbot.private_files import FILE_MODE, private_dirs, tighten_fd

__all__ = ["FileStore", "sha256"]

TMP_SUFFIX = ".tmp"   # + the writer's pid: "<digest>.tmp<pid>"


def writer_alive(pid_text: str) -> bool:
    """Is the process that named a temporary file after its pid still running (on this host)?
    Unknown or unreadable pids count as alive: then only age decides."""
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # e.g. EPERM: it exists
        return True
    return True



class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Write once (idempotent); returns the digest. Safe to call before the DB commit."""
        digest = sha256(data)
        target = self.path_for(digest)
        if target.exists():
            try:   # fresh again: the orphan sweep leaves young files alone while a commit may still use them
                os.utime(target)
                return digest
            except FileNotFoundError:
                pass   # deleted by a purge just now: write it again
        private_dirs(target.parent)
        os.chmod(self.root, 0o700)
        tmp = target.with_suffix(f"{TMP_SUFFIX}{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as handle:
                tighten_fd(handle.fileno())
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:   # a full disk must not leave a partial file behind
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def delete(self, digest: str) -> None:
        self.path_for(digest).unlink(missing_ok=True)
