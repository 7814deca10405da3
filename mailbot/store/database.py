"""Engine and session set-up; the schema is created on first use.

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
from mailbot.store.models import Base

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


def open_database(url: str) -> sessionmaker[Session]:
    shown = safe_url(url)
    try:
        engine = _engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"database.url {shown}: cannot be used ({type(exc).__name__}: {exc}); "
                          "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from None
    if url.startswith("sqlite:///") and ":memory:" not in url:
        folder = Path(url[len("sqlite:///"):]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(f"database {shown}: cannot create its folder {folder}: "
                                      f"{exc.strerror}") from None
    try:
        Base.metadata.create_all(engine)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"database {shown} cannot be opened: {describe(exc)}") from None
    return sessionmaker(engine, expire_on_commit=False)


def _engine(url: str) -> Engine:
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgresql") else {}
    engine: Engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
