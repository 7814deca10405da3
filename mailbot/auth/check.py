"""`mailbot auth check`: log in to the mailbox and the SMTP server now and say as whom, and how.

One line per service. Exit 0 when every configured login works, 3 when a server (or the identity
provider) is unreachable or refuses; a config error stops before this (exit 2).
"""

from __future__ import annotations

from mailbot.config import Config
from mailbot.errors import MailboxError, SendError

UNREACHABLE_OR_REFUSED = 3


def _check_mailbox(config: Config) -> tuple[bool, str]:
    """(login worked, what to print) for the one mailbox of `config`."""
    if config.imap is None:
        return True, f"not used (mail is read from the Maildir {config.maildir.path})"
    from mailbot.mailbox import open_mailbox

    c = config.imap
    mailbox = open_mailbox(config)
    try:
        how = mailbox.check_login()
        return True, f"OK   logged in to {c.host}:{c.port} as {c.username} ({how}), folder {c.folder}"
    except MailboxError as exc:
        return False, f"FAIL {exc}"
    finally:
        mailbox.close()


def check_logins(config: Config) -> tuple[int, list[str]]:
    """(exit code, lines): the IMAP line, then the SMTP line."""
    lines: list[str] = []
    failed = False
    for name, one in config.mailbox_configs():
        label = "imap" if name == "mailbox" else f"imap ({name.removeprefix('mailbox ')})"
        ok, line = _check_mailbox(one)
        failed = failed or not ok
        lines.append(f"{label}: {line}")
    if config.smtp is not None:
        from mailbot.outbox import open_transport

        c = config.smtp
        transport = open_transport(config)
        try:
            how = transport.check_login()
            whom = f"as {c.username} " if c.username else ""
            lines.append(f"smtp: OK   logged in to {c.host}:{c.port} {whom}({how})")
        except SendError as exc:
            failed = True
            lines.append(f"smtp: FAIL {exc}")
        finally:
            transport.close()
    else:
        lines.append(f"smtp: not used (mail is written to the directory {config.outbox.dir})")
    return (UNREACHABLE_OR_REFUSED if failed else 0), lines
