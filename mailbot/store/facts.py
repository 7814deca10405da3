"""Everything one decision needs from the database, read in one place (no writes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.store import cases as case_store
from mailbot.store import undelivered
from mailbot.outbox.ids import unguessable
from mailbot.store.models import Case, CaseCounter, Event, OutboxMessage, PendingCommandRecord
from mailbot.workflow.envelope import Envelope
from mailbot.workflow.model import Facts, PendingCommand
from mailbot.workflow.transitions import Role

NOTED = "requestor/noted"   # the short acknowledgement, at most one a day per case


def load_facts(session: Session, envelope: Envelope, *, case_prefix: str, now: datetime, zone) -> Facts:
    msg = envelope.message
    by_thread = case_store.by_sent_message_ids(session, [msg.in_reply_to, *msg.references])
    if by_thread is None and envelope.bounced_refs:
        by_thread = case_store.by_ref(session, envelope.bounced_refs[0])
    by_reference = next(filter(None, (case_store.by_ref(session, ref) for ref in envelope.refs)), None)
    sender_open = case_store.open_cases_awaiting_documents(session, msg.from_addr) if msg.from_addr else []
    bounced = undelivered.sent_mail(session, envelope.report.original_ids) if envelope.report else None
    bounced_case = case_store.by_ref(session, bounced.case_ref) if bounced and bounced.case_ref else None
    sender_active = case_store.open_cases_of(session, msg.from_addr) if msg.from_addr and envelope.attachments else []
    candidates = list({c.id: c for c in (by_thread, by_reference, *sender_open, *sender_active, bounced_case)
                       if c is not None}.values())
    cited = [m for m in (msg.in_reply_to, *msg.references) if m]
    return Facts(
        by_thread=case_store.view(by_thread) if by_thread else None,
        by_reference=case_store.view(by_reference) if by_reference else None,
        sender_open=tuple(case_store.view(c) for c in sender_open),
        parents=parents_of(session, candidates),
        specialist_loads=case_store.open_cases_by_specialist(session),
        replies_today=replies_today(session, now),
        noted_today=noted_today(session, candidates, now),
        next_ref=peek_next_ref(session, case_prefix, now.astimezone(zone).year),
        bounced=bounced, bounced_case=case_store.view(bounced_case) if bounced_case else None,
        undelivered=undelivered.paused_by_ref(session, [c.ref for c in candidates]),
        threaded=threaded_refs(session, cited, msg.from_addr),
        pending=pending_answered(session, cited),
        awaiting=awaiting_confirmation(session, candidates, now),
        sender_active=tuple(case_store.view(c) for c in sender_active),
        acknowledged_resends=acknowledged_resends(session, candidates),
        notices_sent=notices_since_state_change(session, candidates),
        staff_today=staff_mail_today(session, candidates, now))


def acknowledged_resends(session: Session, cases: list[Case]) -> frozenset[str]:
    ids = {c.id: c.ref for c in cases}
    if not ids:
        return frozenset()
    rows = session.execute(select(Event.case_id).where(Event.case_id.in_(ids), Event.kind == "resend_acknowledged"))
    return frozenset(ids[case_id] for (case_id,) in rows)


def notices_since_state_change(session: Session, cases: list[Case]) -> dict[str, frozenset[tuple[str, str, str, str]]]:
    """ref -> (address, purpose, kind, line) of the notices queued since the case last changed state."""
    out = {}
    for case in cases:
        since = session.execute(select(func.max(Event.at)).where(
            Event.case_id == case.id, Event.kind == "state_changed")).scalar_one_or_none() or case.opened_at
        keys = set()
        for (detail,) in session.execute(select(Event.detail).where(
                Event.case_id == case.id, Event.kind == "reply_queued", Event.at >= since)):
            notice = detail.get("notice")
            if notice:
                keys.update((address.lower(), *notice) for address in detail.get("to", []))
        out[case.ref] = frozenset(keys)
    return out


def staff_mail_today(session: Session, cases: list[Case], now: datetime) -> dict[str, dict[str, int]]:
    """ref -> staff address -> mails about that case in the last 24 hours."""
    ids = {c.id: c.ref for c in cases}
    out: dict[str, dict[str, int]] = {}
    if not ids:
        return out
    for case_id, recipients in session.execute(select(OutboxMessage.case_id, OutboxMessage.recipients).where(
            OutboxMessage.case_id.in_(ids), OutboxMessage.created_at >= now - timedelta(days=1),
            OutboxMessage.purpose.not_like("requestor/%"))):
        counts = out.setdefault(ids[case_id], {})
        for address in recipients:
            counts[address.lower()] = counts.get(address.lower(), 0) + 1
    return out


def threaded_refs(session: Session, cited: list[str], sender: str) -> frozenset[str]:
    """Refs of the cases whose mail to `sender` this message answers (only our unguessable ids)."""
    ids = [m for m in cited if unguessable(m)]
    if not ids or not sender:
        return frozenset()
    rows = session.execute(select(Case.ref, OutboxMessage.recipients).join(Case, Case.id == OutboxMessage.case_id)
                           .where(OutboxMessage.message_id.in_(ids))).all()
    return frozenset(ref for ref, recipients in rows if sender.lower() in {r.lower() for r in recipients})


def pending_answered(session: Session, cited: list[str]) -> PendingCommand | None:
    """The kept command whose confirmation request this message answers (the attachments of the
    message that gave it are added by the caller, which reads files)."""
    ids = [m for m in cited if unguessable(m)]
    if not ids:
        return None
    row = session.execute(select(PendingCommandRecord, Case.ref).join(Case, Case.id == PendingCommandRecord.case_id)
                          .where(PendingCommandRecord.message_id.in_(ids))
                          .order_by(PendingCommandRecord.id.desc()).limit(1)).first()
    if row is None:
        return None
    record, ref = row
    return PendingCommand(request_id=record.message_id, case_ref=ref, verb=record.verb, line=record.line,
                          role=Role(record.role), address=record.address, expires_at=record.expires_at,
                          status=record.status)


def awaiting_confirmation(session: Session, cases: list[Case], now: datetime) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each candidate case: the commands still waiting for their confirmation, (address, line)."""
    ids = {c.id: c.ref for c in cases}
    if not ids:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for case_id, address, line in session.execute(
            select(PendingCommandRecord.case_id, PendingCommandRecord.address, PendingCommandRecord.line).where(
                PendingCommandRecord.case_id.in_(ids), PendingCommandRecord.status == "pending",
                PendingCommandRecord.expires_at > now)):
        out.setdefault(ids[case_id], []).append((address, line))
    return {ref: tuple(pairs) for ref, pairs in out.items()}


def raw_of_pending(session: Session, request_id: str) -> str:
    """The file-store digest of the message that gave a kept command."""
    return session.execute(select(PendingCommandRecord.raw_sha256).where(
        PendingCommandRecord.message_id == request_id)).scalar_one_or_none() or ""


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


def noted_today(session: Session, cases: list[Case], now: datetime) -> frozenset[str]:
    """The refs among `cases` whose requestor got the short acknowledgement in the last 24 hours."""
    ids = {c.id: c.ref for c in cases}
    if not ids:
        return frozenset()
    rows = session.execute(select(OutboxMessage.case_id).where(
        OutboxMessage.case_id.in_(ids), OutboxMessage.purpose == NOTED,
        OutboxMessage.created_at >= now - timedelta(days=1)))
    return frozenset(ids[case_id] for (case_id,) in rows)


def peek_next_ref(session: Session, prefix: str, year: int) -> str:
    """The ref a new case would get now (store.cases.next_ref hands it out, under a lock)."""
    last = session.execute(select(CaseCounter.last).where(CaseCounter.year == year)).scalar_one_or_none()
    return f"{prefix}-{year}-{(last or 0) + 1:05d}"
