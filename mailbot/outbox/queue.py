"""Drain the outbox: send due rows, retry temporary failures with backoff, never lose or double.

Each row is claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) so several workers can drain one
queue; the Message-ID was fixed when the row was queued, so a resend after a crash is the same
message to the recipient's client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.errors import SendError
from mailbot.outbox.base import Transport
from mailbot.store.models import Event, OutboxMessage

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_due(sessions: sessionmaker[Session], transport: Transport, clock: Clock, *,
                max_attempts: int = 8, retry_base_seconds: int = 60, limit: int = 200) -> DeliveryReport:
    report = DeliveryReport()
    for _ in range(limit):
        with sessions() as session:
            now = clock.now()
            row = session.execute(
                select(OutboxMessage).where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
            if row is None:
                break
            row.attempts += 1
            try:
                transport.send(sender=row.sender, recipients=list(row.recipients), message_id=row.message_id,
                               raw=row.raw)
            except SendError as exc:
                row.last_error = str(exc)[:1000]
                if exc.permanent or row.attempts >= max_attempts:
                    row.status = "failed"
                    report.failed += 1
                    if row.case_id is not None:
                        session.add(Event(case_id=row.case_id, at=now, kind="delivery_failed",
                                          detail={"message_id": row.message_id, "error": row.last_error}))
                    log.warning("outbox: %s failed for good after %d attempts", row.message_id, row.attempts)
                else:
                    row.next_attempt_at = now + timedelta(seconds=retry_base_seconds * 2 ** (row.attempts - 1))
                    report.retrying += 1
                    log.info("outbox: %s will be retried (attempt %d)", row.message_id, row.attempts)
            else:
                row.status = "sent"
                row.sent_at = now
                report.sent += 1
                if row.case_id is not None:
                    session.add(Event(case_id=row.case_id, at=now, kind="reply_sent",
                                      detail={"message_id": row.message_id, "purpose": row.purpose}))
            session.commit()
    return report
