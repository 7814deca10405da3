"""Which schema revision a database is at, and the two ways it may change: `mailbot db upgrade`
(create or migrate, on purpose) and the zero-setup first start (create a fresh, empty database
at head). A database at an older revision is never migrated behind the operator's back: every
other start refuses it, saying to run `mailbot db upgrade`.

A database made before migrations existed (by `create_all`: tables, no `alembic_version`) holds
the schema of the first revision, BASELINE; `db upgrade` stamps it so and migrates from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from mailbot.errors import SchemaError
from mailbot.resources import migrations_dir
from mailbot.store.models import Base

BASELINE = "0001"
VERSION_TABLE = "alembic_version"
_PG_LOCK = 0x6D61696C  # "mail": one schema change at a time on a shared PostgreSQL database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemaState:
    """What `db check` reports. `current` is None for an empty database or a pre-migration one."""

    current: str | None
    head: str
    empty: bool          # none of our tables: a fresh database
    known: bool          # `current` is a revision this version of mailbot has

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.at_head:
            return f"schema at revision {self.current} (head)"
        if self.empty:
            return f"empty database (no tables); head is {self.head}"
        if self.current is None:
            return f"schema made before migrations (no {VERSION_TABLE} table); head is {self.head}"
        if not self.known:
            return (f"schema at revision {self.current}, which this mailbot does not know (a newer "
                    f"release wrote it?); head is {self.head}")
        return f"schema at revision {self.current}, older than head {self.head}"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic settings for the packaged migrations; `connection`: run them on it."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _state(connection: Connection) -> SchemaState:
    tables = set(inspect(connection).get_table_names())
    current = MigrationContext.configure(connection).get_current_revision() if VERSION_TABLE in tables else None
    script = ScriptDirectory.from_config(alembic_config())
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    empty = current is None and not (tables & set(Base.metadata.tables))
    return SchemaState(current=current, head=script.get_current_head(), empty=empty, known=known)


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        return _state(connection)


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Create or migrate the schema to head: (state before, state after). A pre-migration
    database is stamped BASELINE first; the result must match the models exactly."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # two starts at once: the second waits, then sees head
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        before = _state(connection)
        if not before.known:
            raise SchemaError(f"{_where(engine)}: {before.describe()}; upgrade mailbot instead")
        if before.current is None and not before.empty:
            command.stamp(alembic_config(connection), BASELINE)
        command.upgrade(alembic_config(connection), "head")
        after = _state(connection)
        if before.current is None and not before.empty:
            differences = model_differences(connection)
            if differences:
                raise SchemaError(f"{_where(engine)}: the tables made before migrations differ from "
                                  f"revision {BASELINE} ({differences[0]}, ...); it was not migrated")
    return before, after


def model_differences(connection: Connection) -> list[str]:
    """What autogenerate would change to make the database match the models; [] when they agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [repr(diff) for diff in compare_metadata(context, Base.metadata)]


def require_head(engine: Engine) -> None:
    """The zero-setup start: an empty database is created at head; one at head is used; any
    other is refused with what to run. Never migrates."""
    state = schema_state(engine)
    if state.at_head:
        return
    if state.empty:
        log.info("creating the database schema (revision %s)", state.head)
        upgrade(engine)
        return
    advice = "upgrade mailbot instead" if not state.known else "run `mailbot db upgrade` first (back it up before)"
    raise SchemaError(f"{_where(engine)}: {state.describe()}; {advice}")


def _where(engine: Engine) -> str:
    """The database, without a password."""
    return engine.url.render_as_string(hide_password=True)
