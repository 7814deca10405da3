"""The Alembic environment: run by store/schema.py with a connection in
`config.attributes["connection"]` (mailbot db upgrade, the zero-setup first start), or by
scripts/new-migration with `sqlalchemy.url` set, to autogenerate a revision."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mailbot.store.models import Base, UTCDateTime


def render_item(type_, obj, autogen_context):
    """Migrations must not import the models (they change); UTCDateTime is stored as
    DateTime(timezone=True), so that is what a revision says."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as fresh:
        run(fresh)
    engine.dispose()
