"""The Mailbox protocol: list waiting messages, read one, then move it out only after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol


@dataclass(frozen=True)
class WaitingMessage:
    key: str     # stable within the source: "<uidvalidity>:<uid>" for IMAP, file name for Maildir
    raw: bytes   # the message exactly as stored (read without setting \\Seen)


class Mailbox(Protocol):
    def waiting(self) -> Iterator[WaitingMessage]:
        """Every message currently in the inbox folder, oldest first."""

    def move_to_processed(self, key: str) -> None:
        """Called only after the message's effects are committed."""

    def move_to_quarantine(self, key: str) -> None:
        """For a message that could not be filed; an admin can reprocess it."""

    def forget(self, message_ids: list[str]) -> int:
        """Delete these messages from the processed and quarantine folders (a purged case)."""

    def close(self) -> None: ...
