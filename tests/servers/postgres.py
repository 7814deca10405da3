"""A throw-away PostgreSQL database per test, on the server at 127.0.0.1:5432 (trust auth).

Set MAILBOT_TEST_PG_URL (e.g. postgresql://me:pw@host:5432/postgres) to use another server; the
account must be allowed to CREATE DATABASE.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote, urlsplit

ADMIN_URL_ENV = "MAILBOT_TEST_PG_URL"
DEFAULT_ADMIN_URLS = ("postgresql://root@127.0.0.1:5432/postgres",
                      "postgresql://postgres@127.0.0.1:5432/postgres")
UNREACHABLE = (f"PostgreSQL not reachable on 127.0.0.1:5432: install postgresql and start it, "
               f"or set {ADMIN_URL_ENV}=postgresql://USER@HOST:PORT/postgres")


class PostgresAdmin:
    """Creates and drops scratch databases through an admin connection URL."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url

    @classmethod
    def find(cls) -> "PostgresAdmin | None":
        """The first admin URL that accepts a connection, or None."""
        import psycopg

        urls = [os.environ[ADMIN_URL_ENV]] if os.environ.get(ADMIN_URL_ENV) else DEFAULT_ADMIN_URLS
        for url in urls:
            try:
                with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return cls(url)
            except psycopg.Error:
                continue
        return None

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> tuple[str, str]:
        """(name, SQLAlchemy URL) of a fresh empty database."""
        name = f"mailbot_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.admin_url)
        auth = quote(parts.username or "", safe="")
        if parts.password:
            auth += ":" + quote(parts.password, safe="")
        host = parts.hostname or "127.0.0.1"
        return name, f"postgresql+psycopg://{auth}@{host}:{parts.port or 5432}/{name}"

    def refuse_connections(self, name: str) -> None:
        """The database stops accepting connections and every open one is terminated (as in a
        failover or an administrator's maintenance)."""
        self._execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        self._execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    def allow_connections(self, name: str) -> None:
        self._execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    def drop_database(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
