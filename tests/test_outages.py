"""A real `mailbot run` process keeps going through real outages
of its storage (a tmpfs remounted read-only), its PostgreSQL database (ALLOW_CONNECTIONS false and
every backend terminated) and its IMAP server (Dovecot stopped and started again); it quarantines
nothing, answers what came meanwhile once the service is back, and logs each outage once."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from faultkit import Daemon, remount, scratch_postgres, tmpfs, wait_until
from mailbot.store.models import Case, InboundMessage
from office import Office, patient_mail

OUTAGE_SECONDS = 6   # the 15-20 s; with the test config's 2 s backoff cap that is 3+ retries


def request(n: int) -> bytes:
    return patient_mail(f"Patient {n} <patient{n}@patient.example.net>", "Information",
                        "Good morning, how can I ask for a second opinion?")


def counts(office: Office) -> tuple[int, int]:
    app = office.app()
    with app.sessions() as s:
        return (s.execute(select(func.count()).select_from(Case)).scalar_one(),
                s.execute(select(func.count()).select_from(InboundMessage)).scalar_one())


def replied_to(office: Office) -> list[str]:
    return sorted(m.rcpt_tos[0] for m in office.sink.messages)


def test_storage_read_only_under_run_quarantines_nothing_and_answers_after(tmp_path, imap_account, smtp_sink,
                                                                             monkeypatch):
    office = Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    with tmpfs(office.storage) as storage:
        daemon = Daemon(office.config, tmp_path / "run.log").start()
        try:
            office.deliver(request(0))
            wait_until(lambda: len(smtp_sink.messages) == 1, 60, "the first reply", daemon)
            remount(storage, "ro")
            try:
                office.deliver(request(1))
                office.deliver(request(2))
                wait_until(lambda: "storage (" in daemon.text(), 30, "the storage outage in the log", daemon)
                time.sleep(OUTAGE_SECONDS)
                assert daemon.alive() and len(smtp_sink.messages) == 1
                assert imap_account.messages("Quarantine") == []
            finally:
                remount(storage, "rw")
            wait_until(lambda: len(smtp_sink.messages) == 3, 60, "the replies after recovery", daemon)
            wait_until(lambda: imap_account.messages("INBOX") == [], 30, "an empty inbox", daemon)
        finally:
            code = daemon.stop()
        stored = [p for p in storage.rglob("*") if p.is_file()]
        assert len(stored) == 3                              # each raw message, once
    assert code == 0
    assert imap_account.messages("Quarantine") == [] and len(imap_account.messages("Processed")) == 3
    assert replied_to(office) == [f"patient{n}@patient.example.net" for n in range(3)]
    assert counts(office) == (3, 3)
    log = daemon.text()
    assert log.count("unavailable") == 1 and log.count("available again") == 1
    assert "Read-only file system" in log and "quarantine" not in log.lower()


def test_postgresql_refusing_connections_under_run(tmp_path, imap_account, smtp_sink, monkeypatch):
    with scratch_postgres() as (admin, name, url):
        office = Office(tmp_path, imap_account, smtp_sink, url, monkeypatch)
        daemon = Daemon(office.config, tmp_path / "run.log").start()
        try:
            office.deliver(request(0))
            wait_until(lambda: len(smtp_sink.messages) == 1, 60, "the first reply", daemon)
            admin.refuse_connections(name)
            try:
                office.deliver(request(1))
                wait_until(lambda: "database (" in daemon.text(), 30, "the database outage in the log", daemon)
                time.sleep(OUTAGE_SECONDS)
                assert daemon.alive(), daemon.tail()
                assert len(imap_account.messages("INBOX")) == 1 and imap_account.messages("Quarantine") == []
            finally:
                admin.allow_connections(name)
            wait_until(lambda: len(smtp_sink.messages) == 2, 60, "the reply after recovery", daemon)
            assert daemon.alive()
        finally:
            code = daemon.stop()
        assert code == 0
        assert replied_to(office) == ["patient0@patient.example.net", "patient1@patient.example.net"]
        assert counts(office) == (2, 2)
    assert imap_account.messages("INBOX") == [] and imap_account.messages("Quarantine") == []
    log = daemon.text()
    assert "is not currently accepting connections" in log or "terminating connection" in log
    assert log.count("available again") >= 1 and "Traceback" not in log
    assert "password" not in log.lower()


def test_dovecot_restarted_under_run(tmp_path, imap_account, smtp_sink, monkeypatch):
    office = Office(tmp_path, imap_account, smtp_sink, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    daemon = Daemon(office.config, tmp_path / "run.log").start()
    try:
        office.deliver(request(0))
        wait_until(lambda: len(smtp_sink.messages) == 1, 60, "the first reply", daemon)
        # down until the daemon has noticed (else, on a loaded machine, its next login may already
        # find the server back, and there is no outage to see)
        imap_account.restart(down_seconds=3, until=lambda: ") unavailable" in daemon.text())
        office.deliver(request(1))
        wait_until(lambda: len(smtp_sink.messages) == 2, 60, "the reply after the restart", daemon)
        assert daemon.alive()
    finally:
        code = daemon.stop()
    assert code == 0
    assert replied_to(office) == ["patient0@patient.example.net", "patient1@patient.example.net"]
    assert imap_account.messages("Quarantine") == [] and len(imap_account.messages("Processed")) == 2
    log = daemon.text()
    assert "mailbox (IMAP 127.0.0.1" in log
    assert log.count(") unavailable") == log.count("available again") >= 1, log   # each outage ends
    assert "Traceback" not in log


def test_smtp_server_stopped_under_run(tmp_path, imap_account, monkeypatch):
    from servers.smtp_sink import SmtpSink
    sink = SmtpSink().start()
    office = Office(tmp_path, imap_account, sink, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    daemon = Daemon(office.config, tmp_path / "run.log").start()
    try:
        office.deliver(request(0))
        wait_until(lambda: len(sink.messages) == 1, 60, "the first reply", daemon)
        sink.stop()
        office.deliver(request(1))
        office.deliver(request(2))
        wait_until(lambda: "smtp (SMTP" in daemon.text(), 30, "the SMTP outage in the log", daemon)
        wait_until(lambda: imap_account.messages("INBOX") == [], 30, "the requests processed meanwhile", daemon)
        time.sleep(OUTAGE_SECONDS)
        sink = SmtpSink(port=sink.port).start()
        wait_until(lambda: len(sink.messages) == 2, 60, "the replies once SMTP is back", daemon)
        assert daemon.alive()
    finally:
        code = daemon.stop()
        sink.stop()
    assert code == 0
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == ["patient1@patient.example.net",
                                                           "patient2@patient.example.net"]
    log = daemon.text()
    assert log.count("smtp (SMTP") == 2 and "available again" in log      # down once, back once
