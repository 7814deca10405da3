"""Telling the admins about mail that is not getting through.

Two notices, both `admin/notice` mails queued in the outbox in the caller's transaction, so they
are delivered as soon as mail works again:
- `delivery_failed`: one outgoing message was refused for good (5xx); names its case ref.
- `delivery_delayed`: messages still undelivered `alert_after_minutes` after they were queued;
  one notice lists every message that crossed the line since the last one, each message at most
  once (a `DeliveryAlert` row per message).
Notices about admin notices are never sent (they would go the same broken way): those are logged.
The notices carry case refs, purposes and times, never an address or a patient's name.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.replies.render import Renderer
from mailbot.rulebook.models import Rulebook
from mailbot.store.models import Case, DeliveryAlert, OutboxMessage
from mailbot.workflow.staff import admin_notices

log = logging.getLogger(__name__)
ADMIN_PURPOSES = "admin/"
MAX_LISTED = 50   # refs named in one delay notice; the rest are counted


class DeliveryAlerts:
    """Queues the admins' notices about delivery; every method works in the caller's session."""

    def __init__(self, rulebook: Rulebook, renderer: Renderer, *, office_address: str, office_name: str,
                 alert_after: timedelta, zone: tzinfo):
        self.rulebook = rulebook
        self.renderer = renderer
        self.office_address = office_address
        self.office_name = office_name
        self.domain = office_address.rsplit("@", 1)[1]
        self.alert_after = alert_after
        self.zone = zone

    def failed(self, session: Session, row: OutboxMessage, now: datetime) -> None:
        """`row` was refused for good: a notice naming its case."""
        case = session.get(Case, row.case_id) if row.case_id is not None else None
        if row.purpose.startswith(ADMIN_PURPOSES):
            log.error("outbox: admin notice %s refused for good; see `mailbot outbox --state failed`",
                      row.message_id)
            return
        context = {"case_ref": case.ref if case else "", "state": case.state if case else "",
                   "purpose": row.purpose, "error": row.last_error, "outbox_id": row.id,
                   "office_name": self.office_name}
        self._queue(session, "delivery_failed", context, case,
                    f"<mailbot.delivery-failed.{row.id}.{row.attempts}.{{i}}@{self.domain}>", now)

    def delayed(self, session: Session, now: datetime) -> int:
        """Notice for the messages that crossed `alert_after` since the last one; returns how many."""
        rows = list(session.execute(
            select(OutboxMessage.id, OutboxMessage.case_id, OutboxMessage.purpose, OutboxMessage.created_at,
                   OutboxMessage.last_error)
            .outerjoin(DeliveryAlert, DeliveryAlert.outbox_id == OutboxMessage.id)
            .where(OutboxMessage.status == "queued", OutboxMessage.created_at <= now - self.alert_after,
                   DeliveryAlert.outbox_id.is_(None))
            .order_by(OutboxMessage.id)).all())
        if not rows:
            return 0
        for row in rows:
            session.add(DeliveryAlert(outbox_id=row.id, at=now))
        session.flush()   # a second daemon that got there first fails here, before any mail is queued
        # admin notices are marked too, never reported: the notice would go the same broken way
        listed = [r for r in rows if not r.purpose.startswith(ADMIN_PURPOSES)]
        if listed:
            refs = dict(session.execute(select(Case.id, Case.ref).where(
                Case.id.in_({r.case_id for r in listed if r.case_id is not None}))).all())
            minutes = int(self.alert_after.total_seconds() // 60)
            log.error("outbox: %d message(s) undelivered for more than %d minutes (cases %s); the admins "
                      "are told; last error: %s", len(listed), minutes,
                      ", ".join(sorted({refs[r.case_id] for r in listed if r.case_id in refs})) or "none",
                      listed[-1].last_error or "none yet")
            messages = [{"case_ref": refs.get(r.case_id, "-"), "purpose": r.purpose, "outbox_id": r.id,
                         "created": r.created_at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")} for r in listed[:MAX_LISTED]]
            context = {"case_ref": "", "state": "", "messages": messages, "more": max(0, len(listed) - MAX_LISTED),
                       "count": len(listed), "minutes": minutes, "error": listed[-1].last_error,
                       "office_name": self.office_name}
            self._queue(session, "delivery_delayed", context, None,
                        f"<mailbot.delivery-delayed.{rows[0].id}-{rows[-1].id}.{{i}}@{self.domain}>", now)
        return len(rows)

    def _queue(self, session: Session, kind: str, context: dict, case: Case | None, id_pattern: str,
               now: datetime) -> None:
        for i, spec in enumerate(admin_notices(self.rulebook, kind, context)):
            message_id = id_pattern.format(i=i)
            rendered = self.renderer.render(spec, case_ref=case.ref if case else None, message_id=message_id,
                                            date=now)
            session.add(OutboxMessage(
                case_id=case.id if case else None, message_id=message_id, purpose=spec.purpose,
                sender=self.office_address, recipients=list(spec.to), subject=rendered.subject, raw=rendered.raw,
                status="queued", next_attempt_at=now, created_at=now))
