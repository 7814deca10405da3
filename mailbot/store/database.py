"""Engine and session set-up. A fresh database gets the schema on first use; one at an older
revision is refused (store/schema.py), never migrated silently.

A SQLite database holds every form and every outgoing mail with its PDFs: its file is created
0600 (and its folder 0700) before SQLAlchemy opens it, and SQLite gives the -wal, -shm and
-journal files the mode of the database file.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from mailbot.private_files import private_file, tighten
from mailbot.store.schema import require_head

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


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
    path = sqlite_file(url)
    if path is not None:
        private_file(path)
        for suffix in SQLITE_COMPANIONS:   # left 0644 by a version before this rule
            tighten(path.with_name(path.name + suffix))
    engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_database(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    require_head(engine)
    return sessionmaker(engine, expire_on_commit=False)
