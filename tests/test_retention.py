"""Retention. The pure policy at its boundaries, and a real purge on
SQLite and PostgreSQL that leaves nothing of the case on disk or in the database but one audit
line, while another case sharing an identical PDF keeps its file."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email import policy as email_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailbot.app import build_app
from mailbot.clock import FixedClock
from mailbot.config import load_config
from mailbot.store.apply import DOCUMENT_COPY
from mailbot.schedule.retention import RetentionPolicy, retention_action, warning_due
from mailbot.store.files import sha256
from mailbot.store.models import AuditLine, Base, Case, CaseCounter, Document, InboundMessage
from mailbot.store.purge import (Purged, delete_unreferenced_files, purge_case, scrub_database,
                                 sweep_orphan_files)
from office import patient_mail
from pdf_factory import HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, text_pdf
from test_cli import local_config

UTC = timezone.utc
OPENED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)

# The purged case: every one of these must vanish.
OTTAVIA = "Ottavia Quarantotto <ottavia.q@patient.example.net>"
OTTAVIA_EMAIL = "ottavia.q@patient.example.net"
OTTAVIA_NAME = "Ottavia Quarantotto"
OTTAVIA_BIRTH = "1961-02-03"
SHARED_NAME_A = "core_biopsy_histology_report_2026-03-02.pdf"
OWN_NAME_A = "mammography_report_2026-02-20.pdf"
STRANGER_EMAIL = "nosy.neighbour@elsewhere.example.com"
OTTAVIA_BODY = (f"patient_name: {OTTAVIA_NAME}\npatient_birth_date: {OTTAVIA_BIRTH}\nrequestor_role: patient\n"
                "condition: breast cancer\n")

# The case that stays: same histology PDF bytes under another name.
GIULIA = "Giulia Verdi <giulia.verdi@patient.example.net>"
GIULIA_BODY = ("patient_name: Giulia Verdi\npatient_birth_date: 1970-07-07\nrequestor_role: patient\n"
               "condition: breast cancer\n")
SHARED_NAME_B = "biopsy_histology_2026-03-02_left_breast.pdf"

SHARED_PDF = text_pdf(HISTOLOGY_BREAST)
OWN_PDF = text_pdf(MAMMOGRAPHY_REPORT)


# -- the pure policy ---------------------------------------------------------------------------

def test_incomplete_case_is_purged_from_day_90_not_before():
    p = RetentionPolicy()
    assert (p.incomplete_days, p.warn_days_before, p.closed_days) == (90, 10, 3650)
    assert retention_action("awaiting_documents", OPENED, None, OPENED, p) is None
    assert retention_action("awaiting_documents", OPENED, None, OPENED + 90 * DAY - SECOND, p) is None
    assert retention_action("awaiting_documents", OPENED, None, OPENED + 90 * DAY, p) == "purge_incomplete"
    assert retention_action("awaiting_documents", OPENED, None, OPENED + 400 * DAY, p) == "purge_incomplete"
    short = RetentionPolicy(incomplete_days=30, warn_days_before=5)
    assert retention_action("awaiting_documents", OPENED, None, OPENED + 30 * DAY, short) == "purge_incomplete"


@pytest.mark.parametrize("state", ["in_triage", "awaiting_payment", "with_specialist"])
def test_cases_being_worked_on_are_never_purged(state):
    years = OPENED + 20 * 365 * DAY
    assert retention_action(state, OPENED, None, years, RetentionPolicy()) is None
    assert not warning_due(state, OPENED, OPENED + 85 * DAY, RetentionPolicy())


@pytest.mark.parametrize("state", ["report_sent", "rejected", "cancelled", "expired"])
def test_closed_case_is_kept_for_the_configured_period_then_purged(state):
    p = RetentionPolicy(closed_days=3650)
    closed = OPENED + 20 * DAY
    assert retention_action(state, OPENED, closed, closed + 3650 * DAY - SECOND, p) is None
    assert retention_action(state, OPENED, closed, closed + 3650 * DAY, p) == "purge_closed"
    assert retention_action(state, OPENED, None, closed + 9999 * DAY, p) is None   # no close date: keep
    one_year = RetentionPolicy(closed_days=365)
    assert retention_action(state, OPENED, closed, closed + 365 * DAY, one_year) == "purge_closed"
    assert not warning_due(state, OPENED, OPENED + 85 * DAY, p)


def test_warning_window_is_the_ten_days_before_the_purge():
    p = RetentionPolicy()
    assert not warning_due("awaiting_documents", OPENED, OPENED + 80 * DAY - SECOND, p)
    assert warning_due("awaiting_documents", OPENED, OPENED + 80 * DAY, p)
    assert warning_due("awaiting_documents", OPENED, OPENED + 90 * DAY - SECOND, p)
    assert not warning_due("awaiting_documents", OPENED, OPENED + 90 * DAY, p)   # purge time: no warning
    custom = RetentionPolicy(incomplete_days=60, warn_days_before=14)
    assert not warning_due("awaiting_documents", OPENED, OPENED + 46 * DAY - SECOND, custom)
    assert warning_due("awaiting_documents", OPENED, OPENED + 46 * DAY, custom)
    none = RetentionPolicy(warn_days_before=0)
    assert not any(warning_due("awaiting_documents", OPENED, OPENED + d * DAY, none) for d in (0, 89, 90))
    with pytest.raises(ValueError):
        RetentionPolicy(incomplete_days=0)


# -- a real database ---------------------------------------------------------------------------

def make_app(tmp_path: Path, db_url: str, start: datetime = OPENED):
    config_path = local_config(tmp_path)
    config_path.write_text(config_path.read_text().replace("sqlite:///mailbot.db", db_url))
    clock = FixedClock(start)
    return build_app(load_config(config_path), clock=clock), clock


def render(value) -> str:
    """A cell as text a person could read: JSON as JSON, stored mail decoded part by part."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        parts = [raw.decode("latin-1")]
        message = email.message_from_bytes(raw, policy=email_policy.default)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts.append(str(part.get_content()))
            if part.get_filename():
                parts.append(part.get_filename())
        return "\n".join(parts)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def scan(app) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    with app.sessions() as session:
        return {table.name: [" | ".join(render(v) for v in row) for row in session.execute(table.select())]
                for table in Base.metadata.sorted_tables}


def mentions(dump: dict[str, list[str]], markers: list[str]) -> list[tuple[str, str]]:
    return sorted({(table, m) for table, rows in dump.items() for row in rows for m in markers if m in row})


def case_fk_columns():
    cases = Base.metadata.tables["cases"]
    return [(t, fk.parent) for t in Base.metadata.sorted_tables for fk in t.foreign_keys if fk.column is cases.c.id]


def files_on_disk(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_purge_leaves_only_an_audit_line_and_keeps_shared_files(tmp_path, db_url):
    app, clock = make_app(tmp_path, db_url)
    first = app.intake.process(patient_mail(OTTAVIA, "Second opinion", OTTAVIA_BODY, [(SHARED_NAME_A, SHARED_PDF)]))
    ref = first.case_ref
    assert (first.disposition, ref) == ("filed", "SO-2026-00001")
    clock.advance(days=3)
    second = app.intake.process(patient_mail(OTTAVIA, f"More documents {ref}", "Here is the mammography.",
                                             [(OWN_NAME_A, OWN_PDF)]))
    assert second.case_ref == ref
    stranger = app.intake.process(patient_mail(f"Nosy <{STRANGER_EMAIL}>", f"About {ref}", "What is wrong with her?"))
    assert (stranger.disposition, stranger.case_ref) == ("stranger", ref)
    other = app.intake.process(patient_mail(GIULIA, "Second opinion request", GIULIA_BODY,
                                            [(SHARED_NAME_B, SHARED_PDF)]))
    assert other.case_ref == "SO-2026-00002"

    with app.sessions() as session:
        case = session.execute(select(Case).where(Case.ref == ref)).scalar_one()
        case_id = case.id
        inbound = session.execute(select(InboundMessage).where(InboundMessage.case_id == case_id)).scalars().all()
        inbound_ids = {m.id for m in inbound}
        raw_digests = {m.raw_sha256 for m in inbound}
        message_ids = [m.message_id for m in inbound]
        docs = {d.filename: d.sha256 for d in case.documents}
        other_case = session.execute(select(Case).where(Case.ref == other.case_ref)).scalar_one()
        other_raw = set(session.execute(select(InboundMessage.raw_sha256)
                                        .where(InboundMessage.case_id == other_case.id)).scalars())
        other_docs = {d.filename: d.sha256 for d in other_case.documents}
    assert len(inbound) == 3 and docs == {SHARED_NAME_A: sha256(SHARED_PDF), OWN_NAME_A: sha256(OWN_PDF)}
    assert other_docs == {SHARED_NAME_B: sha256(SHARED_PDF)}
    for digest in [*docs.values(), *raw_digests, *other_raw]:
        assert app.files.path_for(digest).is_file()

    markers = [ref, OTTAVIA_EMAIL, OTTAVIA_NAME, OTTAVIA_BIRTH, SHARED_NAME_A, OWN_NAME_A, STRANGER_EMAIL,
               *message_ids, *raw_digests, sha256(OWN_PDF)]
    before = mentions(scan(app), markers)
    # the scan does see the case before the purge: cases, messages, documents, events, outbox
    for table in ("cases", "inbound_messages", "documents", "events", "outbox"):
        assert any(t == table for t, _ in before), table
    assert (("outbox", OTTAVIA_NAME) in before) or (("outbox", OTTAVIA_EMAIL) in before)

    # Day 90: the retention policy says purge; purge, commit, then delete files.
    clock.at = OPENED + 90 * DAY
    with app.sessions() as session:
        case = session.get(Case, case_id)
        assert retention_action(case.state, case.opened_at, case.closed_at, clock.now(),
                                RetentionPolicy()) == "purge_incomplete"
        purged = purge_case(session, app.files, case, now=clock.now(), outcome="expired")
        session.commit()
        scrub_database(session)
    assert isinstance(purged, Purged) and isinstance(purged, list)
    assert set(purged) == raw_digests | {sha256(OWN_PDF)}          # the shared PDF is still used
    for digest in purged:
        assert app.files.path_for(digest).is_file()                  # nothing on disk before the caller says so
    assert delete_unreferenced_files(app.files, purged) == len(purged)
    assert delete_unreferenced_files(app.files, purged) == 0         # idempotent

    # The database: only the audit line mentions the case, and it holds no personal data.
    dump = scan(app)
    leftovers = mentions(dump, markers)
    assert leftovers == [("audit", ref)], [(t, m, [r for r in dump[t] if m in r]) for t, m in leftovers if t != "audit"]
    with app.sessions() as session:
        (audit,) = session.execute(select(AuditLine)).scalars().all()
        for table, column in case_fk_columns():
            assert session.execute(select(func.count()).select_from(table).where(column == case_id)).scalar() == 0, \
                table.name
        assert session.execute(select(func.count()).select_from(InboundMessage)
                               .where(InboundMessage.id.in_(inbound_ids))).scalar() == 0
        assert session.execute(select(func.count()).select_from(Document)
                               .where(Document.inbound_id.in_(inbound_ids))).scalar() == 0
        assert session.get(Case, case_id) is None
        # the other case is untouched, its document still on disk and readable
        kept = session.execute(select(Case).where(Case.ref == other.case_ref)).scalar_one()
        assert {d.filename: d.sha256 for d in kept.documents} == other_docs
    assert (audit.ref, audit.at, audit.action) == (ref, OPENED + 90 * DAY, "purged")
    assert audit.detail == {"opened": "2026-03-10", "closed": None, "state": "awaiting_documents",
                            "outcome": "expired", "documents": 2, "messages": 3}
    assert purged.audit is not None and purged.audit.id == audit.id
    assert dump["audit"] == [" | ".join(render(v) for v in (audit.id, audit.ref, audit.at, audit.action, audit.detail))]

    # The disk: its documents and raw messages are gone, the shared PDF and the other case stay.
    root = app.files.root
    assert not app.files.path_for(sha256(OWN_PDF)).exists()
    for digest in raw_digests:
        assert not app.files.path_for(digest).exists()
    assert app.files.get(sha256(SHARED_PDF)) == SHARED_PDF
    for digest in other_raw:
        assert app.files.path_for(digest).is_file()
    remaining = files_on_disk(root)
    assert set(remaining) == other_raw | {sha256(SHARED_PDF)}
    for data in remaining.values():
        for marker in (OTTAVIA_EMAIL.encode(), OTTAVIA_NAME.encode(), ref.encode(), STRANGER_EMAIL.encode()):
            assert marker not in data
    if db_url.startswith("sqlite:///"):
        # nor in the SQLite files themselves: deleted pages are zeroed and the WAL truncated
        db_file = Path(db_url[len("sqlite:///"):])
        for path in (db_file, db_file.with_name(db_file.name + "-wal")):
            if path.exists():
                data = path.read_bytes()
                for marker in (OTTAVIA_EMAIL, OTTAVIA_NAME, STRANGER_EMAIL, OWN_NAME_A):
                    assert marker.encode() not in data, (path.name, marker)

    # Purging again (a second worker that loaded the case earlier) does nothing, no second line.
    with app.sessions() as session:
        again = purge_case(session, app.files, case, now=clock.now(), outcome="expired")
        session.commit()
        assert again == [] and again.audit is None
        assert session.execute(select(func.count()).select_from(AuditLine)).scalar() == 1

    # Refs are never reused: the counter was not reset.
    newcomer = app.intake.process(patient_mail("Anna <anna.b@patient.example.net>", "Second opinion",
                                               GIULIA_BODY.replace("Giulia Verdi", "Anna Bruni"),
                                               [("oncologist_letter_2026-03-01.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    assert newcomer.case_ref == "SO-2026-00003"
    with app.sessions() as session:
        assert session.get(CaseCounter, 2026).last == 3


def test_purging_a_parent_keeps_the_documents_its_update_case_copied(tmp_path, db_url):
    """An update case carries its parent's document rows (which still name the parent's inbound
    message). Purging the closed parent years later must not take the update's documents along."""
    app, clock = make_app(tmp_path, db_url)
    parent = app.intake.process(patient_mail(OTTAVIA, "Second opinion", OTTAVIA_BODY,
                                             [(SHARED_NAME_A, SHARED_PDF), (OWN_NAME_A, OWN_PDF)]))
    clock.advance(days=200)
    child = app.intake.process(patient_mail(GIULIA, "Second opinion", GIULIA_BODY,
                                            [("oncologist_letter_2026-03-01.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    with app.sessions() as session:   # what the pipeline does for an update (see Intake._apply)
        p = session.execute(select(Case).where(Case.ref == parent.case_ref)).scalar_one()
        c = session.execute(select(Case).where(Case.ref == child.case_ref)).scalar_one()
        p.state, p.closed_at = "report_sent", OPENED + 30 * DAY
        c.parent_ref = p.ref
        for doc in p.documents:
            session.add(Document(**{col: getattr(doc, col) for col in DOCUMENT_COPY}, case_id=c.id))
        session.commit()
        parent_raw = set(session.execute(select(InboundMessage.raw_sha256)
                                         .where(InboundMessage.case_id == p.id)).scalars())
        child_first = session.execute(select(func.min(InboundMessage.id))
                                      .where(InboundMessage.case_id == c.id)).scalar()
        parent_id, child_id = p.id, c.id

    clock.at = OPENED + 30 * DAY + 3650 * DAY
    with app.sessions() as session:
        p = session.get(Case, parent_id)
        assert retention_action(p.state, p.opened_at, p.closed_at, clock.now(), RetentionPolicy()) == "purge_closed"
        purged = purge_case(session, app.files, p, now=clock.now(), outcome="retention")
        session.commit()
    assert set(purged) == parent_raw                     # both PDFs are still the update's documents
    delete_unreferenced_files(app.files, purged)

    with app.sessions() as session:
        child_docs = session.execute(select(Document).where(Document.case_id == child_id)).scalars().all()
        assert {d.filename for d in child_docs} == {SHARED_NAME_A, OWN_NAME_A, "oncologist_letter_2026-03-01.pdf"}
        assert {d.inbound_id for d in child_docs} == {child_first}
        assert session.get(Case, parent_id) is None
        (audit,) = session.execute(select(AuditLine)).scalars().all()
    assert audit.detail == {"opened": "2026-03-10", "closed": "2026-04-09", "state": "report_sent",
                            "outcome": "retention", "documents": 2, "messages": 1}
    assert app.files.get(sha256(SHARED_PDF)) == SHARED_PDF and app.files.get(sha256(OWN_PDF)) == OWN_PDF
    for digest in parent_raw:
        assert not app.files.path_for(digest).exists()
    assert mentions(scan(app), [OTTAVIA_EMAIL, OTTAVIA_NAME, OTTAVIA_BIRTH]) == []


def dead_pid() -> int:
    """The pid of a process that has already exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_orphans_left_by_a_crash_and_spares_fresh_and_used_files(tmp_path, db_url):
    app, clock = make_app(tmp_path, db_url)
    kept = app.intake.process(patient_mail(GIULIA, "Second opinion", GIULIA_BODY, [(SHARED_NAME_B, SHARED_PDF)]))
    gone = app.intake.process(patient_mail(OTTAVIA, "Second opinion", OTTAVIA_BODY, [(OWN_NAME_A, OWN_PDF)]))
    clock.at = OPENED + 91 * DAY
    with app.sessions() as session:
        case = session.execute(select(Case).where(Case.ref == gone.case_ref)).scalar_one()
        purged = purge_case(session, app.files, case, now=clock.now(), outcome="expired")
        session.commit()
    # crash here: the files were never deleted
    files = app.files
    orphan_fresh = files.put(b"written just now by a transaction that has not committed yet")
    tmp_old = files.path_for(sha256(b"interrupted")).with_suffix(f".tmp{os.getpid()}")
    tmp_young = files.path_for(sha256(b"interrupted too")).with_suffix(f".tmp{os.getpid()}")   # writer alive
    tmp_dead = files.path_for(sha256(b"interrupted by a kill")).with_suffix(f".tmp{dead_pid()}")  # writer gone
    for path in (tmp_old, tmp_young, tmp_dead):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    foreign = files.root / "README.txt"
    foreign.write_text("not ours")
    two_hours_ago = time.time() - 7200
    for path in files.root.rglob("*"):
        if path.is_file() and path not in (files.path_for(orphan_fresh), tmp_young):
            os.utime(path, (two_hours_ago, two_hours_ago))

    with app.sessions() as session:
        # the purge leftovers, the old .tmp and the young .tmp of a dead writer
        assert sweep_orphan_files(session, files) == len(purged) + 2
        assert sweep_orphan_files(session, files) == 0
    for digest in purged:
        assert not files.path_for(digest).exists()
    assert not tmp_old.exists() and not tmp_dead.exists()
    assert tmp_young.exists() and files.path_for(orphan_fresh).exists() and foreign.exists()
    assert files.get(sha256(SHARED_PDF)) == SHARED_PDF                   # referenced: kept though old
    with app.sessions() as session:
        for (digest,) in session.execute(select(InboundMessage.raw_sha256)):
            assert files.path_for(digest).is_file()
        # once old enough, the never-committed file is an orphan too
        assert sweep_orphan_files(session, files, min_age_seconds=0) == 2   # orphan_fresh and tmp_young
    assert kept.case_ref == "SO-2026-00001"
