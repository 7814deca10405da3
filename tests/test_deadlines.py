"""Deadlines, reminders and their robustness, with a fake clock (no test sleeps)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.app import build_app
from mailbot.cli.views import cases_table
from mailbot.clock import FixedClock
from mailbot.config import load_config
from mailbot.schedule.deadlines import CaseTimes, Policy, due_keys
from mailbot.schedule.jobs import run_deadlines
from mailbot.rulebook import default_rules_dir, load_rulebook
from mailbot.store.models import Case, OutboxMessage, Reminder
from mailbot.schedule.workdays import WorkCalendar
from office import patient_mail
from pdf_factory import filled_request_form, text_pdf
from test_cli import local_config
from test_end_to_end import BREAST_FORM, MARIA, breast_documents

CAL = WorkCalendar.from_rulebook(load_rulebook(default_rules_dir()))
UTC = timezone.utc
MON = datetime(2026, 11, 16, 9, tzinfo=UTC)     # a Monday with no holiday that week


def keys(state="awaiting_documents", now=MON, sent=(), **times):
    from zoneinfo import ZoneInfo
    c = CaseTimes(state=state, opened_at=times.pop("opened_at", MON), **times)
    return due_keys(c, now, CAL, ZoneInfo("Europe/Rome"), Policy(), set(sent))


def test_document_reminders_once_each_and_only_the_latest_after_downtime():
    assert keys(now=MON + timedelta(days=13)) == []
    assert keys(now=MON + timedelta(days=14)) == ["documents:14"]
    assert keys(now=MON + timedelta(days=20), sent={"documents:14"}) == []
    assert keys(now=MON + timedelta(days=31), sent={"documents:14"}) == ["documents:30"]
    # the daemon was down from day 10 to day 65: one reminder, not three
    assert keys(now=MON + timedelta(days=65)) == ["documents:60"]
    assert keys(now=MON + timedelta(days=66), sent={"documents:60"}) == []
    assert keys(now=MON + timedelta(days=80), sent={"documents:60"}) == ["deletion_warning"]


def test_triage_deadline_counts_working_days():
    friday = datetime(2026, 11, 20, 15, tzinfo=UTC)           # complete Friday 16:00 in Rome: due end of Tuesday
    assert keys("in_triage", now=datetime(2026, 11, 21, 10, tzinfo=UTC), completed_at=friday) == []
    assert keys("in_triage", now=datetime(2026, 11, 23, 10, tzinfo=UTC), completed_at=friday) == ["triage_reminder@2026-11-24"]
    assert keys("in_triage", now=datetime(2026, 11, 24, 22, 30, tzinfo=UTC), completed_at=friday,
                sent={"triage_reminder@2026-11-24"}) == []               # 23:30 in Rome on Tuesday: still in time
    assert keys("in_triage", now=datetime(2026, 11, 24, 23, 30, tzinfo=UTC), completed_at=friday,
                sent={"triage_reminder@2026-11-24"}) == ["triage_overdue@2026-11-24"]
    # over Christmas: complete Wed 23 Dec; 24 closed, 25-26 holidays, weekend -> due end of Tue 29 Dec
    xmas = datetime(2026, 12, 23, 10, tzinfo=UTC)
    assert keys("in_triage", now=datetime(2026, 12, 28, 8, tzinfo=UTC), completed_at=xmas) == ["triage_reminder@2026-12-29"]
    assert keys("in_triage", now=datetime(2026, 12, 29, 20, tzinfo=UTC), completed_at=xmas,
                sent={"triage_reminder@2026-12-29"}) == []


def test_payment_and_report_deadlines():
    approved = MON
    assert keys("awaiting_payment", now=MON + timedelta(days=7), approved_at=approved) == ["payment:7"]
    assert keys("awaiting_payment", now=MON + timedelta(days=15), approved_at=approved, sent={"payment:7"}) == ["payment:14"]
    due = datetime(2026, 11, 23, 22, 59, tzinfo=UTC)          # end of Monday 23 Nov in Rome
    assert keys("with_specialist", now=datetime(2026, 11, 19, 9, tzinfo=UTC), report_due_at=due) == []
    assert keys("with_specialist", now=datetime(2026, 11, 20, 9, tzinfo=UTC), report_due_at=due) == ["report_reminder@2026-11-23"]
    assert keys("with_specialist", now=datetime(2026, 11, 24, 9, tzinfo=UTC), report_due_at=due,
                sent={"report_reminder@2026-11-23"}) == ["report_overdue@2026-11-23"]


class Office:
    """A clocked office on a local Maildir/outbox config with the given database."""

    def __init__(self, tmp_path: Path, db_url: str | None = None, start: datetime = MON):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.config_path = local_config(tmp_path)
        if db_url:
            self.config_path.write_text(self.config_path.read_text().replace("sqlite:///mailbot.db", db_url))
        self.clock = FixedClock(start)
        self.app = build_app(load_config(self.config_path), clock=self.clock)

    def mail(self, raw: bytes):
        return self.app.intake.process(raw)

    def outbox(self, purpose: str | None = None) -> list[OutboxMessage]:
        with self.app.sessions() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id)
            rows = list(s.execute(q).scalars())
        return [r for r in rows if purpose is None or r.purpose == purpose]


def incomplete(office: Office, italian=False):
    body = ("patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
            f"condition: breast cancer\nlanguage: {'it' if italian else 'en'}\n")
    return office.mail(patient_mail(MARIA, "Second opinion", body, breast_documents()[:1]))


def test_requestor_reminders_are_sent_once_in_the_case_language(tmp_path):
    office = Office(tmp_path)
    incomplete(office, italian=True)
    office.clock.advance(days=14)
    assert run_deadlines(office.app).sent == 1
    assert run_deadlines(office.app).sent == 0
    (reminder,) = office.outbox("requestor/reminder_documents")
    assert "Promemoria" in reminder.subject and reminder.recipients == ["maria.rossi@patient.example.net"]
    text = reminder.raw.decode("utf-8", "replace")
    assert "In-Reply-To: <SO-2026-00001." in text       # threads under our earlier reply
    office.clock.advance(days=66)                        # day 80: documents:60 and the deletion warning
    assert run_deadlines(office.app).sent == 2
    warning = office.outbox("requestor/deletion_warning")
    assert len(warning) == 1 and "2027-02-14" in warning[0].subject


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)   # SQLite serialises writers anyway
def test_two_daemons_on_one_postgresql_never_send_a_reminder_twice(tmp_path, db_url):
    first = Office(tmp_path / "a", db_url)
    for n in range(6):
        first.mail(patient_mail(f"P{n} <p{n}@patient.example.net>", "Second opinion",
                                "patient_name: P\npatient_birth_date: 1960-01-01\nrequestor_role: patient\n"
                                "condition: breast cancer\n", breast_documents()[:1]))
    second = Office(tmp_path / "b", db_url)
    for office in (first, second):
        office.clock.advance(days=15)
    results = []
    threads = [threading.Thread(target=lambda o=o: results.append(run_deadlines(o.app))) for o in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 6 and sum(r.failed for r in results) == 0
    with first.app.sessions() as s:
        assert s.execute(select(func.count()).select_from(Reminder)).scalar_one() == 6
    assert len(first.outbox("requestor/reminder_documents")) == 6


def test_a_failing_case_does_not_stop_the_others(tmp_path, caplog):
    office = Office(tmp_path)
    incomplete(office)
    office.mail(patient_mail("Other <other@patient.example.net>", "Second opinion",
                             "patient_name: O\npatient_birth_date: 1960-01-01\nrequestor_role: patient\n"
                             "condition: breast cancer\n", breast_documents()[:1]))
    with office.app.sessions() as s:
        s.execute(select(Case).where(Case.ref == "SO-2026-00001")).scalar_one().language = "xx"  # no such templates
        s.commit()
    office.clock.advance(days=14)
    report = run_deadlines(office.app)
    assert (report.sent, report.failed) == (1, 1)
    assert "SO-2026-00001" not in caplog.text or "Maria" not in caplog.text
    with office.app.sessions() as s:
        s.execute(select(Case).where(Case.ref == "SO-2026-00001")).scalar_one().language = "en"
        s.commit()
    assert run_deadlines(office.app).sent == 1          # retried next round, once


def test_staff_deadlines_and_the_cases_table(tmp_path):
    office = Office(tmp_path, start=datetime(2026, 11, 20, 15, tzinfo=UTC))      # Friday
    office.mail(patient_mail(MARIA, "Second opinion", "Attached.",
                             [("request_form.pdf", filled_request_form(**BREAST_FORM)), *breast_documents()]))
    assert "due 2026-11-24" in cases_table(office.app)
    office.clock.at = datetime(2026, 11, 23, 8, tzinfo=UTC)                      # Monday
    run_deadlines(office.app)
    assert {tuple(r.recipients)[0] for r in office.outbox("triage/reminder")} == {
        "francesca.rinaldi@example.org", "roberto.moretti@example.org"}
    office.clock.at = datetime(2026, 11, 25, 8, tzinfo=UTC)                      # Wednesday: missed
    run_deadlines(office.app)
    run_deadlines(office.app)
    alerts = office.outbox("admin/notice")
    assert len(alerts) == 2 and all("triage" in a.subject for a in alerts)
    assert "OVERDUE 1 wd" in cases_table(office.app)


def test_incomplete_case_is_warned_then_purged_by_the_daemons_jobs(tmp_path):
    from mailbot.daemon import Worker
    from mailbot.store.models import AuditLine
    import mailbox as _mailbox
    office = Office(tmp_path)
    box = _mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(patient_mail(MARIA, "Second opinion", "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\n"
                         "requestor_role: patient\ncondition: breast cancer\n", breast_documents()[:1]))
    worker = Worker(office.app)
    try:
        worker.cycle()                                   # filed, moved to .Processed
        assert [p for sub in ("new", "cur") for p in (tmp_path / "mail" / ".Processed" / sub).iterdir()]
        office.clock.advance(days=80)
        worker.cycle()
        assert len(office.outbox("requestor/deletion_warning")) == 1
        office.clock.advance(days=9)
        worker.cycle()
        with office.app.sessions() as s:
            assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 1
        office.clock.advance(days=1)                     # day 90
        worker.cycle()
    finally:
        worker.close()
    with office.app.sessions() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 0
        (audit,) = s.execute(select(AuditLine)).scalars().all()
        assert audit.ref == "SO-2026-00001" and audit.detail["outcome"] == "expired"
    stored = [p for p in (tmp_path / "docs").rglob("*") if p.is_file()]
    assert stored == []
    # the raw mail is gone from the mailbox's Processed folder too (it was moved there by once)
    processed = [p for sub in ("new", "cur") for p in (tmp_path / "mail" / ".Processed" / sub).iterdir()]
    assert processed == []
    # the directory outbox keeps the .eml files already "sent": that is mail delivered, see README


def test_the_run_daemon_sends_due_reminders_on_its_own(tmp_path):
    import time as _time
    from mailbot.daemon import Worker
    office = Office(tmp_path)
    incomplete(office)
    office.clock.advance(days=15)
    worker = Worker(office.app)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        deadline = _time.monotonic() + 20
        while _time.monotonic() < deadline:
            sent = [p for p in (tmp_path / "out").glob("*.eml") if b"Reminder: documents still missing" in p.read_bytes()]
            if sent:
                break
            _time.sleep(0.1)
        assert len(sent) == 1
    finally:
        worker.stopping.set()
        thread.join(timeout=20)
        worker.close()
    assert not thread.is_alive()


def test_job_failures_are_logged_without_their_message(tmp_path, caplog):
    import logging
    from mailbot.logsafe import where
    try:
        raise ValueError("Maria Rossi histology_report_2026-03-02.pdf")
    except ValueError as exc:
        summary = where(exc)
    assert summary.startswith("ValueError at tests/test_deadlines.py:") and "Maria" not in summary
    office = Office(tmp_path)
    incomplete(office)
    with office.app.sessions() as s:
        s.execute(select(Case)).scalar_one().language = "xx"
        s.commit()
    office.clock.advance(days=14)
    with caplog.at_level(logging.INFO):
        assert run_deadlines(office.app).failed == 1
    assert "deadline job failed" in caplog.text and "Maria" not in caplog.text and "histology" not in caplog.text
