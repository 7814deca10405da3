"""Drain the outbox: send due rows, retry temporary failures for as long as it takes, never lose.

Each row is claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) so several workers can drain one
queue, and its result is committed right after its send, so the window in which a crash can
make us send a message again is one SMTP transaction wide. The Message-ID was fixed when the row
was queued, so such a resend is the same message to the recipient's client (README
"Faults and exit codes").

A temporary failure (connection refused, timeout, 4xx, an unwritable outbox folder) keeps the
row queued with a capped exponential backoff; when the server itself is unreachable the batch
stops, since the other rows would fail the same way. Only a permanent refusal (5xx) marks a row
failed, and the admins are told (outbox/alerts.py), as they are when a row stays undelivered
for longer than `[delivery] alert_after_minutes`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.errors import SendError
from mailbot.faults import redact_addresses
from mailbot.outbox.alerts import DeliveryAlerts
from mailbot.outbox.base import Transport
from mailbot.store.models import Case, Event, OutboxMessage

log = logging.getLogger(__name__)
STATES = ("queued", "failed", "sent")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    alerted: int = 0
    unreachable: str = ""   # why the batch stopped early: the server or folder is unavailable


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: int = 60
    max_seconds: int = 1800

    def delay(self, attempts: int) -> timedelta:
        """After `attempts` failed attempts: base, 2*base, 4*base... capped at max_seconds."""
        exponent = min(max(attempts - 1, 0), 30)
        return timedelta(seconds=min(self.base_seconds * 2 ** exponent, self.max_seconds))


def deliver_due(sessions: sessionmaker[Session], transport: Transport, clock: Clock, *,
                policy: RetryPolicy = RetryPolicy(), alerts: DeliveryAlerts | None = None,
                limit: int = 200) -> DeliveryReport:
    report = DeliveryReport()
    for _ in range(limit):
        with sessions() as session:
            now = clock.now()
            row = session.execute(
                select(OutboxMessage).where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
                # longest-waiting first: while a server is down each round's one try is another row
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)
                .with_for_update(skip_locked=True)).scalar_one_or_none()
            if row is None:
                break
            row.attempts += 1
            try:
                transport.send(sender=row.sender, recipients=list(row.recipients), message_id=row.message_id,
                               raw=row.raw)
            except SendError as exc:
                _record_failure(session, row, exc, now, policy, alerts, report)
            else:
                row.status = "sent"
                row.sent_at = now
                row.last_error = ""
                report.sent += 1
                if row.case_id is not None:
                    session.add(Event(case_id=row.case_id, at=now, kind="reply_sent",
                                      detail={"message_id": row.message_id, "purpose": row.purpose}))
                _log_sent(session, row)
            session.commit()   # right after the send: the resend-after-crash window stays one send wide
        if report.unreachable:
            break
    if alerts is not None:
        report.alerted = alert_delayed(sessions, clock, alerts)
    return report


def _log_sent(session: Session, row: OutboxMessage) -> None:
    """The operator's line per message sent: case ref, purpose, Message-ID; never an address."""
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    ref = case.ref if case is not None else "-"
    log.info("sent %s %s %s", ref, row.purpose, row.message_id,
             extra={"event": "mail_sent", "case": ref, "purpose": row.purpose, "message_id": row.message_id})


def _record_failure(session: Session, row: OutboxMessage, exc: SendError, now: datetime, policy: RetryPolicy,
                    alerts: DeliveryAlerts | None, report: DeliveryReport) -> None:
    row.last_error = redact_addresses(str(exc))[:1000]
    if exc.permanent:
        row.status = "failed"
        report.failed += 1
        if row.case_id is not None:
            session.add(Event(case_id=row.case_id, at=now, kind="delivery_failed",
                              detail={"message_id": row.message_id, "error": row.last_error}))
        log.error("outbox: %s (row %d, %s) refused for good: %s", row.message_id, row.id, row.purpose,
                  row.last_error)
        if alerts is not None:
            alerts.failed(session, row, now)
        return
    row.next_attempt_at = now + policy.delay(row.attempts)
    report.retrying += 1
    if exc.unreachable:
        report.unreachable = row.last_error
    else:
        log.info("outbox: %s will be retried (attempt %d): %s", row.message_id, row.attempts, row.last_error)


def alert_delayed(sessions: sessionmaker[Session], clock: Clock, alerts: DeliveryAlerts) -> int:
    """Tell the admins once about rows undelivered for too long (their own transaction)."""
    with sessions() as session:
        try:
            count = alerts.delayed(session, clock.now())
            session.commit()
        except IntegrityError:   # another daemon told them first
            session.rollback()
            return 0
    return count


def retry_backed_off_now(sessions: sessionmaker[Session], clock: Clock) -> int:
    """Mail works again: make every queued row due now instead of at the end of its backoff."""
    with sessions() as session:
        now = clock.now()
        result = session.execute(update(OutboxMessage).where(
            OutboxMessage.status == "queued", OutboxMessage.next_attempt_at > now).values(next_attempt_at=now))
        session.commit()
    return result.rowcount or 0


def undelivered(sessions: sessionmaker[Session]) -> int:
    """How many messages are still queued (due now or waiting for their next attempt)."""
    with sessions() as session:
        return session.execute(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.status == "queued")).scalar_one()


def requeue(sessions: sessionmaker[Session], clock: Clock, *, outbox_id: int | None = None,
            all_failed: bool = False) -> list[int]:
    """`mailbot outbox retry`: failed (or queued) rows due again now; returns their ids. A sent
    row is never requeued (that would send it twice)."""
    with sessions() as session:
        query = select(OutboxMessage).with_for_update()
        if all_failed:
            query = query.where(OutboxMessage.status == "failed")
        else:
            query = query.where(OutboxMessage.id == outbox_id, OutboxMessage.status.in_(("queued", "failed")))
        rows = list(session.execute(query.order_by(OutboxMessage.id)).scalars())
        now = clock.now()
        for row in rows:
            row.status = "queued"
            row.next_attempt_at = now
            if row.case_id is not None:
                session.add(Event(case_id=row.case_id, at=now, kind="delivery_requeued",
                                  detail={"message_id": row.message_id}))
        session.commit()
        return [row.id for row in rows]
