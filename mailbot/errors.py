"""One error root, so the CLI can turn any expected failure into a message a person can act on.

Expected outcomes of bad *input* (a broken PDF, an auto-reply, an unknown condition) are
findings, not exceptions; these errors are for a bad *setup* or a failing *server*.

`exit_code` is what the command line exits with: 1 work remains or a check failed,
2 a configuration or rules error, 3 a service unreachable.
"""

from __future__ import annotations


class MailbotError(Exception):
    """Root of every error mailbot raises on purpose."""

    exit_code = 1


class ConfigError(MailbotError):
    """The config file is missing, unreadable, or has a bad key or value."""

    exit_code = 2


class TemplateError(ConfigError):
    """A reply template (packaged, or the office's own in `[templates] dir`) cannot be sent."""


class SchemaError(ConfigError):
    """The database's schema is not the one this version needs (run `mailbot db upgrade`)."""


class RulesError(MailbotError):
    """One or more rule files are invalid; `problems` lists each as 'file:line: key: what'."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid rule files:\n" + "\n".join(f"  {p}" for p in self.problems))


class MailboxError(MailbotError):
    """The mailbox server refused or dropped us; the daemon retries on the next round."""

    exit_code = 3


class DatabaseUnavailable(MailbotError):
    """The database cannot be reached, opened or written (not a bad query: a server or file)."""

    exit_code = 3


class StorageUnavailable(MailbotError):
    """The document store cannot be written (read-only, full, no permission)."""

    exit_code = 3


class SendError(MailbotError):
    """An outgoing message could not be handed to the mail server; it stays queued.

    `permanent`: retrying cannot help (5xx for the recipients). `unreachable`: the server or the
    outbox folder itself failed, so the other queued messages would fail the same way now.
    """

    exit_code = 3

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable
