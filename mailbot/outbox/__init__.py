"""Outgoing mail: queued rows in the database, delivered by a Transport (SMTP or a directory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailbot.outbox.base import Transport

if TYPE_CHECKING:
    from mailbot.config import Config

__all__ = ["Transport", "open_transport"]


def open_transport(config: "Config") -> Transport:
    """The transport the config names: [smtp] in production, [outbox] dir for the demo and tests."""
    if config.smtp is not None:
        from mailbot.auth.registry import token_source
        from mailbot.outbox.smtp import SmtpTransport

        return SmtpTransport(config.smtp, tokens=token_source(config, "smtp"))
    if config.outbox is not None:
        from mailbot.outbox.directory import DirectoryTransport

        return DirectoryTransport(config.path(config.outbox.dir))
    raise ValueError("the config names no transport: give [smtp] or [outbox]")
