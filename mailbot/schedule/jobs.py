"""Scheduled jobs (shell): deadlines and reminders, retention, housekeeping, the OCR queue. Each
case in its own transaction, so one failing case never stops the others, and a Reminder row per key makes every reminder
at-most-once even with several daemons on one PostgreSQL database."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from mailbot.faults import is_infrastructure_fault
from mailbot.logsafe import where
from mailbot.schedule.deadlines import due_keys, triage_due
from mailbot.schedule.policy import case_times, policy_of  # noqa: F401  (also imported from here)
from mailbot.schedule.retention import RetentionPolicy, retention_action
from mailbot.store.purge import delete_unreferenced_files, purge_case, scrub_database, sweep_orphan_files
from mailbot.store import cases as case_store
from mailbot.store.undelivered import paused_addresses
from mailbot.workflow.bounces import split_paused
from mailbot.mailbox import open_mailbox
from mailbot.documents.photos import MAX_OCR_PAGES, ocr_scan
from mailbot.ocr import Tesseract
from mailbot.outbox.ids import new_message_id
from mailbot.store.models import Case, Document, Event, InboundMessage, MailboxForget, OutboxMessage, Reminder
from mailbot.schedule.workdays import WorkCalendar
from mailbot.workflow.model import OPEN_STATES
from mailbot.schedule.reminders import reminder_specs

log = logging.getLogger(__name__)


@dataclass
class JobReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


def run_deadlines(app) -> JobReport:
    report = JobReport()
    now = app.clock.now()
    tz = app.config.office.zone
    cal = WorkCalendar.from_rulebook(app.rulebook)
    policy = policy_of(app.config)
    with app.sessions() as session:
        ids = list(session.execute(select(Case.id).where(Case.state.in_(OPEN_STATES)).order_by(Case.id)).scalars())
    for case_id in ids:
        try:
            with app.sessions() as session:
                case = session.get(Case, case_id)
                if case is None or case.state not in OPEN_STATES:
                    continue
                sent = set(session.execute(select(Reminder.key).where(Reminder.case_id == case_id)).scalars())
                times = case_times(case)
                keys = due_keys(times, now, cal, tz, policy, sent)
                if not keys:
                    continue
                view = case_store.view(case)
                due = triage_due(times, cal, tz, policy) if case.state == "in_triage" else case.report_due_at
                delete_on = (case.opened_at + timedelta(days=policy.incomplete_days)).astimezone(tz).date().isoformat()
                for key in keys:
                    session.add(Reminder(case_id=case_id, key=key, at=now))
                    session.flush()   # on PostgreSQL another daemon's identical row fails here, not after mailing
                    rules, office = app.intake.scoped(view.hospital)
                    specs = reminder_specs(key, view, list(case.findings or []), rules, office,
                                           due=due, delete_on=delete_on, amount=case.amount_due or "")
                    last = _last_sent_to(session, case_id, view.requestor_email)
                    specs, withheld = split_paused(specs, paused_addresses(session, case_id))
                    for spec, addresses in withheld:
                        session.add(Event(case_id=case_id, at=now, kind="reply_withheld",
                                          detail={"purpose": spec.purpose, "to": addresses,
                                                  "why": "address undeliverable", "key": key}))
                    for spec in specs:
                        app.intake.queue(session, spec, case, now, new_message_id(app.config.office.domain, case.ref),
                                         in_reply_to=last)
                    session.add(Event(case_id=case_id, at=now, kind="reminder", detail={"key": key}))
                session.commit()
                report.sent += len(keys)
        except IntegrityError:
            report.skipped += 1     # another worker sent it first: exactly what the unique key is for
        except Exception as exc:
            if is_infrastructure_fault(exc):
                raise               # the database or storage is down: the whole job waits for it
            report.failed += 1
            log.error("deadline job failed for case id %s: %s; will retry next round", case_id, where(exc))
    return report


def _last_sent_to(session, case_id: int, address: str) -> str:
    rows = session.execute(select(OutboxMessage.message_id, OutboxMessage.recipients).where(
        OutboxMessage.case_id == case_id).order_by(OutboxMessage.id.desc())).all()
    return next((mid for mid, rcpts in rows if address in rcpts), "")


def run_retention(app) -> JobReport:
    """Purge incomplete cases past their time and closed cases past the keeping period."""
    report = JobReport()
    now = app.clock.now()
    k = app.config.retention
    policy = RetentionPolicy(incomplete_days=k.incomplete_days, warn_days_before=k.warn_days_before,
                             closed_days=k.closed_days)
    with app.sessions() as session:
        rows = session.execute(select(Case.id, Case.state, Case.opened_at, Case.closed_at)).all()
    for case_id, state, opened_at, closed_at in rows:
        action = retention_action(state, opened_at, closed_at, now, policy)
        if action is None:
            continue
        try:
            with app.sessions() as session:
                case = session.get(Case, case_id)
                # re-check: the case may have moved on since the list was read
                if case is None or retention_action(case.state, case.opened_at, case.closed_at, now, policy) != action:
                    continue
                for (message_id,) in session.execute(select(InboundMessage.message_id).where(
                        InboundMessage.case_id == case_id, InboundMessage.message_id != "")):
                    session.add(MailboxForget(message_id=message_id, at=now))
                digests = purge_case(session, app.files, case, now=now, zone=app.config.office.zone,
                                     outcome="expired" if action == "purge_incomplete" else "retention")
                session.commit()
                scrub_database(session)
            delete_unreferenced_files(app.files, digests)
            report.sent += 1
            log.info("retention: purged %s (%s)", digests.audit.ref if digests.audit else "?", action)
        except Exception as exc:
            if is_infrastructure_fault(exc):
                raise
            report.failed += 1
            log.error("retention failed for case id %s: %s; will retry next round", case_id, where(exc))
    forget_in_mailbox(app)
    return report


def forget_in_mailbox(app, mailbox=None) -> int:
    """Delete purged cases' raw mail from the mailbox's Processed/Quarantine folders, over a
    connection of its own (the mail loop keeps its own). Pending ids survive a crash or an
    unreachable server and are retried on the next round."""
    with app.sessions() as session:
        pending = list(session.execute(select(MailboxForget)).scalars())
        if not pending:
            return 0
        ids = [p.message_id for p in pending]
        if mailbox is not None:
            removed = _forget_in(lambda: mailbox, ids, own=False)
        else:   # every mailbox: a purged case's mail may have come to any of them
            counts = [_forget_in(lambda one=one: open_mailbox(one), ids, own=True)
                      for _name, one in app.config.mailbox_configs()]
            removed = None if None in counts else sum(counts)
        if removed is None:
            return 0
        for row in pending:
            session.delete(row)
        session.commit()
        log.info("deleted %d purged message(s) from the mailbox folders", removed)
        return removed


def _forget_in(opener, message_ids: list[str], *, own: bool) -> int | None:
    """Messages deleted from one mailbox's folders; None when it could not be done now."""
    mailbox = None
    try:
        mailbox = opener()
        return mailbox.forget(message_ids)
    except Exception as exc:
        log.error("could not delete purged mail from the mailbox: %s; will retry", where(exc))
        return None
    finally:
        if own and mailbox is not None:
            mailbox.close()


def run_housekeeping(app, transport=None) -> JobReport:
    """What crashes and full disks leave behind: stored files no row refers to (a purge cut
    short, a commit that never came) and temporary files of interrupted writes, in the document
    store and in a directory outbox. Daily in `run`, and in every `once`."""
    report = JobReport()
    with app.sessions() as session:
        report.sent = sweep_orphan_files(session, app.files)
    sweep = getattr(transport, "sweep", None)
    if sweep is not None:
        report.sent += sweep()
    return report


OCR_CLAIM_STALE = timedelta(hours=1)   # a claim older than this was left by a crash: taken again
OCR_DOCUMENTS_PER_RUN = 20


def run_ocr_queue(app) -> JobReport:
    """Long scans the intake queued: each read whole (up to MAX_OCR_PAGES pages), one document at
    a time, claimed first so that two daemons never read the same one; the searchable copy goes
    to the store, then to the row. In `run` this is a scheduler job, beside the mail loop: a
    200-page scan never holds up the mailbox."""
    report = JobReport()
    if app.intake.ocr is None:
        return report
    for _ in range(OCR_DOCUMENTS_PER_RUN):
        document_id = _claim_ocr(app)
        if document_id is None:
            break
        _read_scan(app, document_id, report)
    return report


def _claim_ocr(app) -> int | None:
    now = app.clock.now().astimezone(timezone.utc)
    stale = (now - OCR_CLAIM_STALE).isoformat()
    with app.sessions() as session:
        rows = session.execute(select(Document.id, Document.ocr_state).where(
            or_(Document.ocr_state == "queued", Document.ocr_state.like("running:%")))
            .order_by(Document.id).limit(50)).all()
        for document_id, state in rows:
            if state.startswith("running:") and state[len("running:"):] > stale:
                continue
            claimed = session.execute(update(Document).where(Document.id == document_id, Document.ocr_state == state)
                                      .values(ocr_state=f"running:{now.isoformat()}")).rowcount
            session.commit()
            if claimed:
                return document_id
    return None


def _read_scan(app, document_id: int, report: JobReport) -> None:
    with app.sessions() as session:
        document = session.get(Document, document_id)
        digest, pages = document.sha256, document.pages
    reader = Tesseract(app.intake.ocr.binary, app.intake.ocr.page_seconds, budget=MAX_OCR_PAGES,
                       total_seconds=MAX_OCR_PAGES * app.intake.ocr.page_seconds)   # beside the mail loop
    made = ocr_scan(app.files.get(digest), pages, reader.page, MAX_OCR_PAGES, copy_if_partial=True)
    searchable = app.files.put(made.pdf) if made.pdf is not None else None   # before the row names it
    with app.sessions() as session:
        document = session.get(Document, document_id)
        if document is None:   # the case was deleted meanwhile; housekeeping sweeps the file
            return
        document.ocr_state = "done" if searchable else "failed"
        document.searchable_sha256 = searchable or document.searchable_sha256
        document.detail = f"{document.detail}; whole scan {made.detail}"[:500]
        session.commit()
    report.sent += 1 if searchable else 0
    report.failed += 0 if searchable else 1
    log.info("OCR queue: document %d, %d pages read in %.1f s", document_id, reader.pages_read, reader.seconds)
