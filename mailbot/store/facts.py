"""Everything one decision needs from the database, read in one place (no writes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.store import cases as case_store
from mailbot.store import undelivered
from mailbot.store.models import Case, CaseCounter, OutboxMessage
from mailbot.workflow.envelope import Envelope
from mailbot.workflow.model import Facts


def load_facts(session: Session, envelope: Envelope, *, case_prefix: str, now: datetime, zone) -> Facts:
    msg = envelope.message
    by_thread = case_store.by_sent_message_ids(session, [msg.in_reply_to, *msg.references])
    if by_thread is None and envelope.bounced_refs:
        by_thread = case_store.by_ref(session, envelope.bounced_refs[0])
    by_reference = next(filter(None, (case_store.by_ref(session, ref) for ref in envelope.refs)), None)
    sender_open = case_store.open_cases_awaiting_documents(session, msg.from_addr) if msg.from_addr else []
    bounced = undelivered.sent_mail(session, envelope.report.original_ids) if envelope.report else None
    bounced_case = case_store.by_ref(session, bounced.case_ref) if bounced and bounced.case_ref else None
    candidates = [c for c in (by_thread, by_reference, *sender_open, bounced_case) if c is not None]
    return Facts(
        by_thread=case_store.view(by_thread) if by_thread else None,
        by_reference=case_store.view(by_reference) if by_reference else None,
        sender_open=tuple(case_store.view(c) for c in sender_open),
        parents=parents_of(session, candidates),
        specialist_loads=case_store.open_cases_by_specialist(session),
        replies_today=replies_today(session, now),
        next_ref=peek_next_ref(session, case_prefix, now.astimezone(zone).year),
        bounced=bounced, bounced_case=case_store.view(bounced_case) if bounced_case else None,
        undelivered=undelivered.paused_by_ref(session, [c.ref for c in candidates]))


def case_facts(session: Session, case: Case, *, now: datetime) -> Facts:
    """For a command given outside the mail (`mailbot payment`): the case and what it needs."""
    return Facts(by_reference=case_store.view(case), parents=parents_of(session, [case]),
                 specialist_loads=case_store.open_cases_by_specialist(session),
                 replies_today=replies_today(session, now), undelivered=undelivered.paused_by_ref(session, [case.ref]))


def parents_of(session: Session, cases: list[Case]) -> dict:
    """The earlier cases these cases update (their parent_ref), by ref."""
    out = {}
    for case in cases:
        if case.parent_ref and case.parent_ref not in out:
            parent = case_store.by_ref(session, case.parent_ref)
            if parent is not None:
                out[case.parent_ref] = case_store.view(parent)
    return out


def replies_today(session: Session, now: datetime) -> dict[str, int]:
    """Automatic replies to each requestor-side address in the last 24 hours (the daily cap)."""
    counts: dict[str, int] = {}
    rows = session.execute(select(OutboxMessage.recipients).where(
        OutboxMessage.created_at >= now - timedelta(days=1), OutboxMessage.purpose.like("requestor/%")))
    for (recipients,) in rows:
        for address in recipients:
            counts[address.lower()] = counts.get(address.lower(), 0) + 1
    return counts


def peek_next_ref(session: Session, prefix: str, year: int) -> str:
    """The ref a new case would get now (store.cases.next_ref hands it out, under a lock)."""
    last = session.execute(select(CaseCounter.last).where(CaseCounter.year == year)).scalar_one_or_none()
    return f"{prefix}-{year}-{(last or 0) + 1:05d}"
