"""`mailbot status` tells a healthy office from a degraded one, against the real servers: the
private Dovecot, the SMTP sink, SQLite and PostgreSQL. Degraded: the SMTP server stopped with
mail queued, mail refused for good, the schema older than this version, the mailbox unreachable.
Exit 0 healthy, 1 degraded, so monitoring can call it."""

from __future__ import annotations

import json

import pytest
from alembic import command

from mailbot.store.database import make_engine
from mailbot.store.schema import alembic_config
from corpus import shared_corpus  # noqa: F401  (the fixture)
from office import Office, patient_mail

PATIENT = "Anna Rossi <anna.rossi@patient.example.net>"


def info_request(n: int = 0) -> bytes:
    return patient_mail(PATIENT.replace("anna.rossi", f"anna.rossi{n}"), "Information",
                        "Good morning, how can I ask for a second opinion?")


def status(office: Office, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = office.cli("status", "--json")
    return code, json.loads(capsys.readouterr().out)


def failing(report: dict) -> set[str]:
    return {name for name, check in report["checks"].items() if not check["ok"]}


def test_a_healthy_office_is_exit_0_with_the_facts(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, capsys):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    office.deliver(info_request())
    assert office.once() == 0 and len(smtp_sink.messages) == 1
    office.deliver(info_request(1))           # arrived, not yet processed
    code, report = status(office, capsys)
    assert code == 0 and report["healthy"] is True, report
    assert failing(report) == set()
    assert report["mailbox"]["waiting"] == 1 and report["mailbox"]["quarantine"] == 0
    assert 0 <= report["mailbox"]["oldest_waiting_seconds"] < 120
    assert report["mailbox"]["oldest_waiting"].endswith(("+01:00", "+02:00"))   # the office's zone
    facts = report["office"]
    assert facts["outbox_queued"] == 0 and facts["outbox_failed"] == 0
    assert facts["cases_by_state"] == {"awaiting_documents": 1}
    assert facts["last_cycle"] is not None and facts["last_cycle"].endswith(("+01:00", "+02:00"))
    assert "anna.rossi" not in json.dumps(report)

    capsys.readouterr()
    assert office.cli("status") == 0
    text = capsys.readouterr().out
    assert text.startswith("mailbot status: HEALTHY") and "last good cycle: 20" in text


def test_smtp_stopped_with_mail_queued_is_degraded(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, capsys):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    smtp_sink.stop()
    office.deliver(info_request())
    assert office.once() == 1                 # processed, but the reply could not go
    code, report = status(office, capsys)
    assert code == 1 and report["healthy"] is False
    assert failing(report) == {"smtp"}, report
    assert "unreachable" in report["checks"]["smtp"]["detail"]
    assert report["office"]["outbox_queued"] == 1


def test_mail_refused_for_good_is_degraded_and_named(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, capsys):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    smtp_sink.refuse_recipient("anna.rossi0@patient.example.net")
    office.deliver(info_request())
    office.once()
    code, report = status(office, capsys)
    assert code == 1 and failing(report) == {"outbox"}, report
    facts = report["office"]
    assert facts["outbox_failed"] == 1
    assert [m["purpose"] for m in facts["failed_mail"]] == ["requestor/instructions"]
    assert facts["failed_mail"][0]["case"].startswith("SO-")
    assert "anna.rossi" not in json.dumps(report)


def test_an_old_schema_is_degraded_and_says_what_to_run(tmp_path, imap_account, smtp_sink, db_url, monkeypatch,
                                                       capsys):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    office.deliver(info_request())
    assert office.once() == 0
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
    engine.dispose()
    code, report = status(office, capsys)
    assert code == 1 and "schema" in failing(report), report
    assert "mailbot db upgrade" in report["checks"]["schema"]["detail"]
    assert report["office"]["cases_by_state"] == {"awaiting_documents": 1}   # still read, and nothing changed
    assert office.cli("db", "check") == 1


def test_an_unreachable_mailbox_is_degraded(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, capsys):
    from servers import free_port

    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    assert office.once() == 0
    config = office.config.read_text().replace(f"port = {imap_account.port}", f"port = {free_port()}")
    office.config.write_text(config)
    code, report = status(office, capsys)
    assert code == 1 and failing(report) == {"mailbox"}, report
    assert "unreachable" in report["checks"]["mailbox"]["detail"]
    assert "s3cret" not in json.dumps(report)


def test_a_missing_database_is_reported_not_created(tmp_path, imap_account, smtp_sink, monkeypatch, capsys):
    office = Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/never.db", monkeypatch)
    code, report = status(office, capsys)
    assert code == 1 and "schema" in failing(report)
    assert not (tmp_path / "never.db").exists()


def test_a_revoked_oauth_grant_is_degraded(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, capsys):
    from mailbot.auth.store import TokenStore

    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    assert office.once() == 0
    store = TokenStore(office.app().sessions, "office|microsoft|issuer|client|refresh", "the office mailbox (microsoft)",
                       cipher=None)
    assert store.block("seed", "invalid_grant")        # what the token source records on invalid_grant
    code, report = status(office, capsys)
    assert code == 1 and failing(report) == {"oauth"}, report
    assert "invalid_grant" in report["checks"]["oauth"]["detail"]
    assert store.unblock("seed")                        # an admin signed in again
    assert status(office, capsys)[0] == 0


def test_an_unreachable_database_is_degraded_in_one_line(tmp_path, imap_account, smtp_sink, monkeypatch, capsys):
    from servers import free_port

    url = f"postgresql+psycopg://mailbot:pw-not-shown@127.0.0.1:{free_port()}/mailbot"
    office = Office(tmp_path, imap_account, smtp_sink, url, monkeypatch)
    code, report = status(office, capsys)
    assert code == 1 and "database" in failing(report), report
    assert "unreachable" in report["checks"]["database"]["detail"]
    assert "pw-not-shown" not in json.dumps(report)
    assert report["checks"]["mailbox"]["ok"] and report["checks"]["smtp"]["ok"]   # the rest still checked


@pytest.mark.usefixtures("shared_corpus")
def test_cases_with_an_undelivered_address_are_counted_not_judged(tmp_path, imap_account, smtp_sink, db_url,
                                                                   monkeypatch, capsys):
    """A patient's address that bounced for good is the office's work (the admins were told, they
    correct it on the case): status counts such cases and stays healthy; the count drops when the
    address is corrected."""
    from test_bounces import DEAD, FIXED, SAMPLES, open_case, readdressed
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    ref, bounced_id = open_case(office, DEAD)
    office.deliver(readdressed(*SAMPLES[0][:3], bounced_id, DEAD))
    assert office.once() == 0
    code, report = status(office, capsys)
    assert code == 0 and report["healthy"] is True, report
    assert report["office"]["cases_with_undelivered"] == 1
    assert office.cli("status") == 0
    text = capsys.readouterr().out
    assert "bounced   1 case(s) with an address that bounced for good" in text and DEAD not in text

    assert office.cli("case", ref, "--set-email", "requestor", FIXED) == 0
    code, report = status(office, capsys)
    assert code == 0 and report["office"]["cases_with_undelivered"] == 0
    assert office.cli("status") == 0
    assert "bounced" not in capsys.readouterr().out
