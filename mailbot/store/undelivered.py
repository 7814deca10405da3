"""Addresses that bounced for good, per case: read for decisions and views, written for a
decision's DeliveryPatch, and the outbox copy of a failed mail sent again to a corrected address.

`cases_with_undelivered(session)` is the count `mailbot status` shows; `mailbot cases` marks
each such case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.outbox.ids import new_message_id
from mailbot.replies.resend import readdressed
from mailbot.store.models import Case, Event, OutboxMessage, UndeliveredAddress
from mailbot.workflow.model import DeliveryPatch, SentMail, Undelivered

HELD = "held: the address bounced for good"
PARTY_ROLES = ("requestor", "patient")   # the addresses an admin corrects on a case (EMAIL, --set-email)


def sent_mail(session: Session, message_ids: tuple[str, ...]) -> SentMail | None:
    """The newest outbox message among `message_ids` (the ones a delivery report names)."""
    ids = [m for m in message_ids if m][:50]
    if not ids:
        return None
    row = session.execute(select(OutboxMessage.message_id, Case.ref, OutboxMessage.recipients, OutboxMessage.purpose)
                          .outerjoin(Case, Case.id == OutboxMessage.case_id)
                          .where(OutboxMessage.message_id.in_(ids)).order_by(OutboxMessage.id.desc()).limit(1)).first()
    if row is None:
        return None
    return SentMail(row.message_id, row.ref, tuple(a.lower() for a in row.recipients or ()), row.purpose)


def paused_by_ref(session: Session, refs: list[str]) -> dict[str, tuple[Undelivered, ...]]:
    """Each case's addresses still paused, oldest first."""
    refs = sorted({r for r in refs if r})
    if not refs:
        return {}
    rows = session.execute(select(Case.ref, UndeliveredAddress).join(Case, Case.id == UndeliveredAddress.case_id)
                           .where(Case.ref.in_(refs), UndeliveredAddress.resolved_at.is_(None))
                           .order_by(UndeliveredAddress.id)).all()
    out: dict[str, tuple[Undelivered, ...]] = {}
    for ref, u in rows:
        out[ref] = (*out.get(ref, ()), Undelivered(u.address, u.role, u.status, u.diagnostic, u.message_id, u.purpose))
    return out


def paused_addresses(session: Session, case_id: int) -> tuple[str, ...]:
    return tuple(session.execute(select(UndeliveredAddress.address).where(
        UndeliveredAddress.case_id == case_id, UndeliveredAddress.resolved_at.is_(None))).scalars())


def cases_with_undelivered(session: Session) -> int:
    """How many cases have a requestor's or patient's address that bounced for good and is not
    corrected yet (a staff address is corrected in the staff list, not on a case: not counted)."""
    return session.execute(select(func.count(func.distinct(UndeliveredAddress.case_id))).where(
        UndeliveredAddress.resolved_at.is_(None), UndeliveredAddress.role.in_(PARTY_ROLES))).scalar_one()


def undelivered_by_case(session: Session) -> dict[int, list[str]]:
    """case id -> its paused addresses (for `mailbot cases`)."""
    out: dict[int, list[str]] = {}
    for case_id, address in session.execute(select(UndeliveredAddress.case_id, UndeliveredAddress.address).where(
            UndeliveredAddress.resolved_at.is_(None)).order_by(UndeliveredAddress.id)):
        out.setdefault(case_id, []).append(address)
    return out


def apply_delivery(session: Session, case: Case, patch: DeliveryPatch, now: datetime) -> None:
    """Pause, resume; queued mail to a newly paused address is held (failed, with the reason)."""
    for u in patch.pause:
        session.add(UndeliveredAddress(case_id=case.id, address=u.address.lower(), role=u.role, status=u.status[:16],
                                       diagnostic=u.diagnostic[:1000], message_id=u.message_id[:255],
                                       purpose=u.purpose[:64], at=now))
    if patch.resume:
        for row in session.execute(select(UndeliveredAddress).where(
                UndeliveredAddress.case_id == case.id, UndeliveredAddress.resolved_at.is_(None),
                UndeliveredAddress.address.in_([a.lower() for a in patch.resume]))).scalars():
            row.resolved_at, row.resolved_by = now, patch.by[:320]
    stopped = {u.address.lower() for u in patch.pause}
    if stopped:
        for row in session.execute(select(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.status == "queued")).scalars():
            if row.recipients and all(a.lower() in stopped for a in row.recipients):
                row.status, row.last_error = "failed", HELD
                session.add(Event(case_id=case.id, at=now, kind="reply_held",
                                  detail={"message_id": row.message_id, "purpose": row.purpose}))
    session.flush()


def resend(session: Session, case: Case, patch: DeliveryPatch, now: datetime, domain: str) -> list[str]:
    """Queue again, to the corrected address, each failed mail the patch names; returns the new ids."""
    queued = []
    for message_id, address in patch.resend:
        old = session.execute(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).scalar_one_or_none()
        if old is None or old.case_id != case.id:
            continue
        new_id = new_message_id(domain, case.ref)   # unguessable: a reply to it proves its writer got it
        session.add(OutboxMessage(case_id=case.id, message_id=new_id, purpose=old.purpose, sender=old.sender,
                                  recipients=[address], subject=old.subject, raw=readdressed(old.raw, address, new_id),
                                  status="queued", next_attempt_at=now, created_at=now))
        session.add(Event(case_id=case.id, at=now, kind="reply_resent",
                          detail={"purpose": old.purpose, "to": [address], "message_id": new_id,
                                  "resends": message_id}))
        queued.append(new_id)
    session.flush()
    return queued
