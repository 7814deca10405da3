"""A Transport that writes messages to a directory: the demo's outbox, and a dry run for staff.

Each message becomes `<UTC timestamp>-<safe message id>.eml` (mode 0600: it holds patient data)
with a `.json` sidecar naming sender and recipients. Files appear atomically (written under a
dot-name, then renamed), the sidecar first and the `.eml` last; a message id already written is
not written again, so the outbox's retry after a crash cannot produce a second copy, and a retry
after a crash between the two renames completes the sidecar left alone. `sweep()` removes the
temporary files of writers that died.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from mailbot.errors import SendError
from mailbot.private_files import private_dirs
from mailbot.store.files import writer_alive

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
MAX_ID_CHARS = 100
TMP_PREFIX = ".tmp-"            # + writer pid + "-" + random hex
STALE_SECONDS = 3600.0


def safe_message_id(message_id: str) -> str:
    """A file-name-safe form of a Message-ID; altered ids get a hash so two never collide."""
    bare = message_id.strip().strip("<>")
    safe = _UNSAFE.sub("_", bare)[:MAX_ID_CHARS].lstrip(".") or "message"
    if safe != bare:
        safe += "-" + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return safe


class DirectoryTransport:
    """Writes into `path` (created 0700 when missing)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def send(self, *, sender: str, recipients: list[str], message_id: str, raw: bytes) -> None:
        safe = safe_message_id(message_id)
        try:
            private_dirs(self.path)
            if any(self.path.glob(f"*-{_glob_escape(safe)}.eml")):
                return  # already written: sending twice must not deliver twice
            # A sidecar without its .eml is a write cut short by a crash: finish that one.
            earlier = sorted(self.path.glob(f"*-{_glob_escape(safe)}.json"))
            stem = earlier[0].name[:-len(".json")] if earlier else \
                f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{safe}"
            sidecar = {"message_id": message_id, "sender": sender, "recipients": list(recipients),
                       "eml": f"{stem}.eml",
                       "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            # The sidecar first, the .eml last: whoever sees the .eml can rely on its .json.
            self._write_atomically(f"{stem}.json", json.dumps(sidecar, indent=2).encode() + b"\n")
            self._write_atomically(f"{stem}.eml", raw)
        except OSError as exc:
            raise SendError(f"cannot write message {message_id} to the outbox directory "
                            f"{self.path}: [Errno {exc.errno}] {exc.strerror}", unreachable=True) from None

    def _write_atomically(self, name: str, data: bytes) -> None:
        tmp = self.path / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)  # whatever the umask
            os.rename(tmp, self.path / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def sweep(self, *, min_age_seconds: float = STALE_SECONDS) -> int:
        """Remove what a crash left: temporary files of writers that are gone (or older than
        `min_age_seconds`) and sidecars whose .eml never came (older than that). Returns how many."""
        if not self.path.is_dir():
            return 0
        cutoff = time.time() - min_age_seconds
        removed = 0
        for path in self.path.iterdir():
            name = path.name
            if name.startswith(TMP_PREFIX):
                stale = not writer_alive(name[len(TMP_PREFIX):].split("-", 1)[0])
            elif name.endswith(".json") and not path.with_name(name[:-len(".json")] + ".eml").exists():
                stale = False
            else:
                continue
            try:
                if stale or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def close(self) -> None:
        """Nothing to release."""


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]])", r"[\1]", text)
