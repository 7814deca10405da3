"""The Transport protocol: hand one fully rendered message to the next hop."""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    def send(self, *, sender: str, recipients: list[str], message_id: str, raw: bytes) -> None:
        """Deliver or raise mailbot.errors.SendError (permanent=True when retrying cannot help)."""

    def close(self) -> None: ...
