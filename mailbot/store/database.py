"""Engine and session set-up. A fresh database gets the schema on first use; one at an older
revision is refused (store/schema.py), never migrated silently.

A SQLite database holds every form and every outgoing mail with its PDFs: its file is created
0600 (and its folder 0700) before SQLAlchemy opens it, and SQLite gives the -wal, -shm and
-journal files the mode of the database file.

Connections are checked before use (pool pre-ping), so a backend that PostgreSQL terminated or a
server restart costs one reconnect, not an error. A database that cannot be reached, opened or
created at start is one `DatabaseUnavailable` line naming the URL without its password; a URL
SQLAlchemy cannot use is a `ConfigError`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.errors import ConfigError, DatabaseUnavailable
from mailbot.faults import describe
from mailbot.private_files import private_file, tighten
from mailbot.store.schema import require_head

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
CONNECT_TIMEOUT_SECONDS = 10


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def safe_url(url: str) -> str:
    """The URL for messages: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database)


def make_engine(url: str) -> Engine:
    """The engine for `url`; ConfigError for a URL it cannot use, DatabaseUnavailable when a
    SQLite file cannot be created."""
    shown = safe_url(url)
    try:
        path = sqlite_file(url)
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
        engine: Engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"database.url {shown}: cannot be used ({type(exc).__name__}: {exc}); "
                          "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from None
    if path is not None:
        try:
            private_file(path)
        except OSError as exc:
            raise DatabaseUnavailable(f"database {shown} cannot be created: {describe(exc)}") from None
        for suffix in SQLITE_COMPANIONS:   # left 0644 by a version before this rule
            tighten(path.with_name(path.name + suffix))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_database(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    try:
        require_head(engine)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"database {safe_url(url)} cannot be opened: {describe(exc)}") from None
    return sessionmaker(engine, expire_on_commit=False)
