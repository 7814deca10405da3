"""Where inbound mail comes from: one Protocol, an IMAP and a Maildir implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailbot.mailbox.base import Mailbox, WaitingMessage

if TYPE_CHECKING:
    from mailbot.config import Config

__all__ = ["Mailbox", "WaitingMessage", "open_mailbox"]


def open_mailbox(config: "Config") -> Mailbox:
    """The mailbox the config names: [imap] in production, [maildir] for the demo and tests."""
    if config.imap is not None:
        from mailbot.auth.registry import token_source
        from mailbot.mailbox.imap import ImapMailbox

        return ImapMailbox(config.imap, tokens=token_source(config, "imap"))
    if config.maildir is not None:
        from mailbot.mailbox.maildir import MaildirMailbox

        return MaildirMailbox(config.path(config.maildir.path))
    raise ValueError("the config names no mailbox: give [imap] or [maildir]")
