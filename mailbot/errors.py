"""One error root, so the CLI can turn any expected failure into a message a person can act on.

Expected outcomes of bad *input* (a broken PDF, an auto-reply, an unknown condition) are
findings, not exceptions; these errors are for a bad *setup* or a failing *server*.
"""

from __future__ import annotations


class MailbotError(Exception):
    """Root of every error mailbot raises on purpose."""


class ConfigError(MailbotError):
    """The config file is missing, unreadable, or has a bad key or value."""


class TemplateError(ConfigError):
    """A reply template (packaged, or the office's own in `[templates] dir`) cannot be sent."""


class SchemaError(ConfigError):
    """The database's schema is not the one this version needs (run `mailbot db upgrade`)."""


class RulesError(MailbotError):
    """One or more rule files are invalid; `problems` lists each as 'file:line: key: what'."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid rule files:\n" + "\n".join(f"  {p}" for p in self.problems))


class MailboxError(MailbotError):
    """The mailbox server refused or dropped us; the daemon retries on the next round."""


class SendError(MailbotError):
    """An outgoing message could not be handed to the mail server; it stays queued."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
