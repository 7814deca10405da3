"""Is this exception the infrastructure's fault or the message's?

A message earns a quarantine strike only when its own bytes make the code fail (a parse, decide
or render error fails the same way every time). A storage, database, mailbox or SMTP failure is
never the message's fault: the daemon waits and tries the same message again after recovery.

`infrastructure_fault(exc)` names the service that failed ("storage", "database", "mailbox",
"smtp", "network") or returns None for a failure the message caused. `describe(exc)` says what
went wrong in one line without patient data: no SQL parameters, no file names, no addresses.
"""

from __future__ import annotations

import errno
import re
import sqlite3

from sqlalchemy import exc as sa_exc

from mailbot.errors import DatabaseUnavailable, MailboxError, SendError, StorageUnavailable

_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
# Message-IDs the robot makes (`<SO-2026-00042.<stem>.0@...>`, `<mailbot.<...>@...>`) are no
# one's address and are what an admin searches for: they stay.
_OWN_ID = re.compile(r"([A-Z]{1,6}-\d{4}-\d{5}|mailbot)\.")
_RANDOM_LOCAL = re.compile(r"[A-Za-z0-9_-]{22}")      # `<random@our.domain>`: a notice's Message-ID
# The office's own addresses (its From, its mailbox logins) and domains: they name a mailbox an
# operator must fix, not a patient. Set once the config is read.
_OFFICE: set[str] = set()
_OFFICE_DOMAINS: set[str] = set()

# Errors SQLAlchemy raises when the server is gone, refuses us, or the file cannot be written;
# IntegrityError and friends (a constraint, bad data) are deliberately not here.
_DATABASE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
             sa_exc.TimeoutError, sqlite3.OperationalError,
             sqlite3.InterfaceError)


def _driver_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:   # SQLite-only installs
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


_DRIVER = _driver_errors()

# errno values that mean "the system is in trouble", not "these bytes are bad": a read-only or
# full file system, permissions, I/O, resource exhaustion, a network file system or a peer gone.
# ENOENT, EISDIR, ENAMETOOLONG and the like are left out: the same input fails the same way.
SYSTEM_ERRNOS = frozenset(getattr(errno, name) for name in (
    "EROFS", "ENOSPC", "EDQUOT", "EACCES", "EPERM", "EIO", "ENOMEM", "EMFILE", "ENFILE", "EAGAIN",
    "EBUSY", "ESTALE", "ENOLCK", "EINTR", "ETIMEDOUT", "ENOTCONN", "ECONNREFUSED", "ECONNRESET",
    "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EPIPE", "EREMOTEIO", "ENXIO")
    if hasattr(errno, name))


def infrastructure_fault(exc: BaseException) -> str | None:
    """The failing service for an infrastructure fault, None when the message is to blame.

    Looks through explicit causes (`raise X from Y`) as well, since wrappers keep the real
    failure there.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        service = _service_of(current)
        if service is not None:
            return service
        current = current.__cause__
    return None


def is_infrastructure_fault(exc: BaseException) -> bool:
    return infrastructure_fault(exc) is not None


def _service_of(exc: BaseException) -> str | None:
    if isinstance(exc, DatabaseUnavailable):
        return "database"
    if isinstance(exc, StorageUnavailable):
        return "storage"
    if isinstance(exc, MailboxError):
        return "mailbox"
    if isinstance(exc, SendError):
        return None if exc.permanent else "smtp"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "database"
    if isinstance(exc, _DATABASE + _DRIVER):
        return "database"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return "network"
    # Libraries that reject bad data raise OSError without an errno (Pillow's "cannot identify
    # image file"): those stay the message's fault, as do ENOENT and friends.
    if isinstance(exc, OSError) and exc.errno in SYSTEM_ERRNOS:
        return "storage"
    return None


def keep_office_addresses(addresses: list[str]) -> None:
    """The office's own addresses stay readable in logs; so do Message-IDs of its domains."""
    for address in filter(None, addresses):
        _OFFICE.add(address.lower())
        _OFFICE_DOMAINS.add(address.rpartition("@")[2].lower())


def _kept(token: str) -> bool:
    local, _, domain = token.rpartition("@")
    return bool(_OWN_ID.match(token)) or token.lower() in _OFFICE or (
        domain.lower() in _OFFICE_DOMAINS and bool(_RANDOM_LOCAL.fullmatch(local)))


def redact_addresses(text: str) -> str:
    """Every e-mail address in `text` replaced by '<address>' (our own Message-IDs and the office's
    own addresses kept)."""
    return _ADDRESS.sub(lambda m: m.group(0) if _kept(m.group(0)) else "<address>", text)


def describe(exc: BaseException) -> str:
    """One line for logs and the CLI: type and reason, without SQL, parameters, file names or
    addresses (a library's message can quote any of them)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        inner = exc.orig
        return f"{type(inner).__name__}: {_first_line(str(inner))}"
    if isinstance(exc, sa_exc.SQLAlchemyError):
        return type(exc).__name__
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror or ''}".rstrip()
    if isinstance(exc, (sqlite3.Error, *_DRIVER)):
        return f"{type(exc).__name__}: {_first_line(str(exc))}"
    if isinstance(exc, (MailboxError, SendError, DatabaseUnavailable, StorageUnavailable)):
        return _first_line(str(exc))
    return type(exc).__name__


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return redact_addresses(line)[:300]
