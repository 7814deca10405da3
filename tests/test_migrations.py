"""Schema migrations (Alembic), on SQLite and PostgreSQL: models and migrations agree; a database
made before migrations (create_all, no alembic_version) is refused by every start, then
upgraded by `mailbot db upgrade` with its data kept; a fresh database is still made at head by
the first start; `db check` tells head from anything else."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import MetaData, inspect, select, text

from mailbot.cli import main
from mailbot.errors import SchemaError
from mailbot.store.database import make_engine, open_database
from mailbot.store.models import (
    AuditLine,
    Base,
    Case,
    CaseCounter,
    Document,
    Event,
    InboundMessage,
    MailboxForget,
    OutboxMessage,
    Payment,
    Reminder,
)
from mailbot.store.schema import VERSION_TABLE, model_differences, schema_state, upgrade
from test_cli import LOCAL_CONFIG
from mailbot.resources import default_rules_dir

# The tables create_all made before migrations existed: revision 0001 (a later model's table
# is made by its own migration, never by create_all).
PRE_MIGRATION_TABLES = ["audit", "case_counters", "cases", "documents", "events", "inbound_messages",
                        "mailbox_forget", "outbox", "payments", "reminders"]
# Columns later revisions add to those tables: a database made before migrations has none of them.
LATER_COLUMNS = {"documents": ("inside", "searchable_sha256", "ocr_state", "language"),
                 "cases": ("hospital", "additional_of", "after_report")}
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def config_for(tmp_path, db_url: str):
    path = tmp_path / "config.toml"
    path.write_text(LOCAL_CONFIG.format(rules=default_rules_dir()).replace(
        'url = "sqlite:///mailbot.db"', f'url = "{db_url}"'), encoding="utf-8")
    return path


def pre_migration_database(db_url: str) -> dict[str, list[tuple]]:
    """A database as mailbot made it before migrations, holding one row per table; its rows."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[name] for name in PRE_MIGRATION_TABLES])
    from sqlalchemy.orm import Session
    with Session(engine) as s:
        case = Case(ref="SO-2026-00001", state="awaiting_payment", language="it", requestor_email="p@example.net",
                    condition_id="breast_cancer", form={"patient_name": "Anna Neri"}, consent={}, findings=[],
                    opened_at=NOW, updated_at=NOW, triage={"by": "t@example.org"}, declined_by=[], pending_extra={},
                    amount_due="500.00")
        s.add_all([case, CaseCounter(year=2026, last=1)])
        s.flush()
        inbound = InboundMessage(dedup_key="k1", case_id=case.id, message_id="<m1@example.net>",
                                 from_addr="p@example.net", raw_sha256="a" * 64, received_at=NOW,
                                 disposition="filed", role="requestor", summary={"subject": "richiesta"})
        s.add(inbound)
        s.flush()
        s.add_all([
            Document(case_id=case.id, inbound_id=inbound.id, filename="histology_report.pdf", sha256="b" * 64,
                     size=1234, kind="pdf", doc_types=["histology_report"], pages=2, has_text=True,
                     received_at=NOW),
            Event(case_id=case.id, at=NOW, kind="inbound", detail={"key": "k1"}),
            OutboxMessage(case_id=case.id, message_id="<r1@hospital.example.org>", purpose="requestor/received",
                          sender="so@hospital.example.org", recipients=["p@example.net"], subject="[SO-2026-00001] ok",
                          raw=b"raw bytes \x00\xff", status="sent", attempts=1, next_attempt_at=NOW, created_at=NOW,
                          sent_at=NOW),
            Payment(case_id=case.id, amount="500.00", expected="500.00", recorded_by="cli", at=NOW),
            Reminder(case_id=case.id, key="payment:7", at=NOW),
            MailboxForget(message_id="<old@example.net>", at=NOW),
            AuditLine(ref="SO-2025-00009", at=NOW, action="purged", detail={"documents": 3}),
        ])
        s.commit()
    with engine.begin() as connection:
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    rows = table_rows(engine)
    engine.dispose()
    return rows


def table_rows(engine) -> dict[str, list[tuple]]:
    """Every row of the pre-migration tables, in the columns the pre-migration database had."""
    metadata = MetaData()
    metadata.reflect(engine, only=PRE_MIGRATION_TABLES)
    with engine.connect() as connection:
        return {name: [tuple(r) for r in connection.execute(
                    select(*(c for c in table.columns if c.name not in LATER_COLUMNS.get(name, ())))
                    .order_by(*table.primary_key.columns))]
                for name, table in metadata.tables.items()}


def test_models_and_migrations_agree(db_url):
    engine = make_engine(db_url)
    before, after = upgrade(engine)
    assert before.empty and not before.at_head and after.at_head
    with engine.connect() as connection:
        assert model_differences(connection) == []
        assert set(inspect(connection).get_table_names()) == set(Base.metadata.tables) | {VERSION_TABLE}
    engine.dispose()


def test_the_first_start_makes_a_fresh_database_at_head(db_url):
    sessions = open_database(db_url)
    engine = sessions.kw["bind"]
    assert schema_state(engine).at_head
    with engine.connect() as connection:
        assert model_differences(connection) == []
    open_database(db_url)   # and the next start uses it as it is
    engine.dispose()


def test_a_pre_migration_database_is_refused_then_upgraded_with_its_data(db_url, tmp_path, capsys):
    rows = pre_migration_database(db_url)
    assert all(rows[name] for name in PRE_MIGRATION_TABLES)
    config = config_for(tmp_path, db_url)

    with pytest.raises(SchemaError, match="run `mailbot db upgrade`"):
        open_database(db_url)
    capsys.readouterr()
    assert main(["--config", str(config), "once"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "made before migrations" in err[0] and "mailbot db upgrade" in err[0]
    assert main(["--config", str(config), "db", "check"]) == 1
    assert "made before migrations" in capsys.readouterr().out
    engine = make_engine(db_url)
    assert VERSION_TABLE not in inspect(engine).get_table_names()   # refusing changed nothing

    assert main(["--config", str(config), "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "was: schema made before migrations" in out and "now: schema at revision" in out
    assert main(["--config", str(config), "db", "check"]) == 0
    assert "(head)" in capsys.readouterr().out
    assert table_rows(engine) == rows
    with engine.connect() as connection:
        assert model_differences(connection) == []
        assert connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == schema_state(engine).head
    engine.dispose()

    assert main(["--config", str(config), "cases"]) == 0   # and mailbot works on it
    assert "SO-2026-00001" in capsys.readouterr().out
    assert main(["--config", str(config), "db", "upgrade"]) == 0   # a second upgrade changes nothing
    assert table_rows(make_engine(db_url)) == rows


def test_a_database_from_a_newer_mailbot_is_refused(db_url, tmp_path, capsys):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="does not know"):
        open_database(db_url)
    config = config_for(tmp_path, db_url)
    assert main(["--config", str(config), "db", "upgrade"]) == 2
    assert "9999" in capsys.readouterr().err
    assert main(["--config", str(config), "db", "check"]) == 1
    engine.dispose()


def test_db_check_does_not_create_a_database(tmp_path, capsys):
    config = config_for(tmp_path, "sqlite:///var/mailbot.db")
    assert main(["--config", str(config), "db", "check"]) == 1
    assert "no database at" in capsys.readouterr().out
    assert not (tmp_path / "var" / "mailbot.db").exists()
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert "now: schema at revision" in capsys.readouterr().out
    assert main(["--config", str(config), "db", "check"]) == 0
    assert "(head)" in capsys.readouterr().out


def test_an_unreachable_database_is_exit_3(tmp_path, capsys):
    config = config_for(tmp_path, "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert main(["--config", str(config), "db", "check"]) == 3
    err = capsys.readouterr().err
    assert "unreachable" in err and "secret" not in err
