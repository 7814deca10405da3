"""A local Maildir as the Mailbox: for the demo, tests, and offices that deliver mail to disk.

Messages are read from new/ and cur/ of the top folder and moved (one rename each, so a crash
never leaves a half-moved message) into the Maildir++ subfolders `.Processed` / `.Quarantine`.
The key is the maildir key: the file name without its ":2,<flags>" suffix.
"""

from __future__ import annotations

import mailbox
import os
from email.parser import BytesHeaderParser
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from mailbot.errors import MailboxError
from mailbot.mailbox.base import WaitingMessage
from mailbot.private_files import private_dirs, tighten_tree

POLL_INTERVAL = 0.25  # seconds between directory checks in wait_for_mail


class MaildirMailbox:
    """The top folder of the Maildir at `path` is the inbox; it is created when missing."""

    def __init__(self, path: Path, *, processed_folder: str = "Processed",
                 quarantine_folder: str = "Quarantine"):
        self.path = Path(path)
        try:
            private_dirs(self.path.parent)
            self._maildir = mailbox.Maildir(self.path, factory=None, create=True)
        except OSError as exc:
            raise MailboxError(f"cannot open or create the Maildir {self.path}: {exc}") from None
        self._colon = self._maildir.colon
        self.processed_folder = processed_folder
        self.quarantine_folder = quarantine_folder
        self._listed: set[str] | None = None  # keys of the last waiting() sweep

    def _entries(self, root: Path) -> list[tuple[float, str, str, Path]]:
        """(mtime, name, key, path) of every message in new/ and cur/ under `root`."""
        entries = []
        for sub in ("new", "cur"):
            try:
                scan = list(os.scandir(root / sub))
            except FileNotFoundError:
                continue
            for entry in scan:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                try:
                    mtime = entry.stat().st_mtime
                except FileNotFoundError:  # moved away by someone else meanwhile
                    continue
                key = entry.name.split(self._colon, 1)[0]
                entries.append((mtime, entry.name, key, Path(entry.path)))
        return entries

    def waiting(self) -> Iterator[WaitingMessage]:
        """Messages of the top folder, oldest first (by mtime, then name)."""
        entries = sorted(self._entries(self.path))
        self._listed = {e[2] for e in entries}
        for _mtime, _name, key, path in entries:
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            yield WaitingMessage(key=key, raw=raw)

    def census(self) -> tuple[int, datetime | None, int]:
        """For `mailbot status`: messages waiting, when the oldest arrived (its file's time),
        and how many are in the quarantine folder."""
        try:
            entries = self._entries(self.path)
            quarantined = len(self._entries(self.path / f".{self.quarantine_folder}"))
        except OSError as exc:
            raise MailboxError(f"cannot read the Maildir {self.path}: {exc}") from None
        oldest = min((e[0] for e in entries), default=None)
        return len(entries), (datetime.fromtimestamp(oldest, timezone.utc) if oldest else None), quarantined

    def move_to_processed(self, key: str) -> None:
        self._move(key, self.processed_folder)

    def move_to_quarantine(self, key: str) -> None:
        self._move(key, self.quarantine_folder)

    def _folder_root(self, folder: str) -> Path:
        if folder not in self._maildir.list_folders():
            self._maildir.add_folder(folder)  # Maildir++: <path>/.<folder>/{tmp,new,cur}
            tighten_tree(self.path / f".{folder}")   # its maildirfolder marker follows the umask
        return self.path / f".{folder}"

    def _move(self, key: str, folder: str) -> None:
        if not key or "/" in key or key.startswith(".") or self._colon in key:
            raise MailboxError(f"{key!r} is not a maildir key")
        try:
            target = self._folder_root(folder)
            found = [e for e in self._entries(self.path) if e[2] == key]
            if not found:
                if any(e[2] == key for e in self._entries(target)):
                    return  # already moved (a retry after a crash): nothing to do
                raise MailboxError(f"message {key} is not in the Maildir {self.path}; "
                                   f"it cannot be moved to {folder}")
            for _mtime, name, _key, path in found:
                os.rename(path, target / path.parent.name / name)  # new -> new, cur -> cur
        except OSError as exc:
            raise MailboxError(f"cannot move message {key} to {folder} in {self.path}: {exc}") from None

    def wait_for_mail(self, timeout_seconds: float) -> bool:
        """Poll until a message not seen by the last waiting() sweep (or, before any sweep, not
        there at the start) appears: True; False when time is up. Like IMAP: no busy loop on a
        message that stays in the inbox."""
        deadline = time.monotonic() + max(0.0, timeout_seconds)
        before = self._listed if self._listed is not None else {e[2] for e in self._entries(self.path)}
        while True:
            if any(e[2] not in before for e in self._entries(self.path)):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(POLL_INTERVAL, remaining))

    def forget(self, message_ids: list[str]) -> int:
        """Delete messages with these Message-IDs from the Processed and Quarantine folders."""
        wanted = {m.strip() for m in message_ids if m}
        removed = 0
        for folder in (self.processed_folder, self.quarantine_folder):
            for _mtime, _name, _key, path in self._entries(self.path / f".{folder}"):
                try:
                    with open(path, "rb") as handle:
                        headers = BytesHeaderParser().parse(handle)
                except OSError:
                    continue
                if (headers.get("Message-ID") or "").strip() in wanted:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""

    def __enter__(self) -> "MaildirMailbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
