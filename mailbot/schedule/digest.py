"""The admins' daily digest: one mail a day to every admin, in their language (staff.toml), with
the new cases, the cases by state, the deadlines due today and overdue, the mail refused for good
and the quarantined messages. Case refs and counts only: no names, no addresses.

Only with a `[digest]` section in the config. It is a scheduled job (`run` checks every
minute; `once` on each run). It is due from
`[digest] time` (office time) until the day ends, so a daemon that was down at 08:00 sends it
when it is back. Once a day, whoever sends it: the `digest:<date>` marker is inserted in the
transaction that queues the mails (a second daemon fails on its primary key before queueing),
and the mails' Message-IDs are fixed by the date.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mailbot.faults import is_infrastructure_fault
from mailbot.logsafe import where
from mailbot.schedule.workdays import WorkCalendar
from mailbot.store.overview import OfficeFacts, office_facts
from mailbot.store.markers import claim
from mailbot.store.models import InboundMessage, Marker, OutboxMessage
from mailbot.workflow.context import staff_language
from mailbot.workflow.model import OPEN_STATES, ReplySpec

log = logging.getLogger(__name__)
PURPOSE = "admin/digest"
PREFIX = "digest:"


def digest_due(app, now: datetime) -> str | None:
    """The office date whose digest is due now ('2026-12-01'), or None."""
    settings = app.config.digest
    local = now.astimezone(app.config.office.zone)
    if settings is None or local.time() < settings.at or not app.rulebook.staff.admins:
        return None
    return local.date().isoformat()


def run_digest(app, mailbox=None) -> int:
    """Queue today's digest if it is due and nobody has; returns how many mails were queued.
    `mailbox`: counts the quarantine folder (the job opens its own connection when None)."""
    now = app.clock.now()
    day = digest_due(app, now)
    if day is None:
        return 0
    with app.sessions() as session:
        if session.get(Marker, PREFIX + day) is not None:
            return 0
        previous = session.execute(select(func.max(Marker.at)).where(Marker.key.like(PREFIX + "%"))).scalar_one()
    since = previous or now - timedelta(days=1)
    facts = office_facts(app.sessions, app.config, WorkCalendar.from_rulebook(app.rulebook), now, since=since)
    context = _context(app, facts, since, now, _quarantine(app, mailbox), _quarantined_since(app, since))
    specs = [ReplySpec(PURPOSE, (str(a.email),), staff_language(a), context, auto_submitted="auto-generated")
             for a in app.rulebook.staff.admins]
    try:
        with app.sessions() as session:
            if not claim(session, PREFIX + day, now, {"admins": len(specs)}):
                return 0
            for i, spec in enumerate(specs):
                queue_admin_mail(app, session, spec, now, f"<mailbot.digest.{day}.{i}@{app.config.office.domain}>")
            session.commit()
    except IntegrityError:   # another daemon queued it a moment before us
        return 0
    log.info("digest for %s queued to %d admin(s): %d new case(s), %d deadline(s) overdue, %d failed mail",
             day, len(specs), len(facts.new_cases), len(facts.overdue), facts.outbox_failed,
             extra={"event": "digest_queued"})
    return len(specs)


def queue_admin_mail(app, session, spec: ReplySpec, now: datetime, message_id: str) -> None:
    """A mail about no case (the digest, a rules alert) into the outbox, in the caller's transaction."""
    rendered = app.intake.renderer.render(spec, case_ref=None, message_id=message_id, date=now)
    session.add(OutboxMessage(case_id=None, message_id=message_id, purpose=spec.purpose,
                              sender=app.config.office.address, recipients=list(spec.to), subject=rendered.subject,
                              raw=rendered.raw, status="queued", next_attempt_at=now, created_at=now))


def _context(app, facts: OfficeFacts, since: datetime, now: datetime, quarantine: int | None,
             quarantined_new: int) -> dict[str, Any]:
    zone = app.config.office.zone
    open_total = sum(n for s, n in facts.cases_by_state.items() if s in OPEN_STATES)
    return {"office_name": app.config.office.name, "date": now.astimezone(zone).date().isoformat(),
            "since": since.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "new_cases": facts.new_cases,
            "by_state": [{"state": s, "count": n} for s, n in facts.cases_by_state.items()],
            "open_total": open_total,
            "due_today": [_shown(d) for d in facts.due_today], "overdue": [_shown(d) for d in facts.overdue],
            "failed": facts.failed_mail, "queued": facts.outbox_queued, "undelivered": facts.cases_with_undelivered,
            "quarantine": -1 if quarantine is None else quarantine, "quarantined_new": quarantined_new}


def _shown(deadline) -> dict[str, str]:
    """A deadline for the mail: '2026-12-03 23:59' (office time) rather than ISO."""
    return {"case": deadline.case, "kind": deadline.kind, "due": deadline.due.replace("T", " ")[:16]}


def _quarantined_since(app, since: datetime) -> int:
    with app.sessions() as session:
        return session.execute(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.disposition == "quarantined", InboundMessage.received_at >= since)).scalar_one()


def _quarantine(app, mailbox) -> int | None:
    """Messages in the quarantine folder(s) now, over every mailbox ([[mailboxes]]); None when a
    mailbox cannot say (the digest still goes, saying so)."""
    from mailbot.mailbox import open_mailbox
    if mailbox is not None:
        return _quarantined_in(lambda: mailbox, own=False)
    counts = [_quarantined_in(lambda one=one: open_mailbox(one), own=True)
              for _name, one in app.config.mailbox_configs()]
    return None if None in counts else sum(counts)


def _quarantined_in(opener, *, own: bool) -> int | None:
    mailbox = None
    try:
        mailbox = opener()
        return mailbox.census()[2]
    except Exception as exc:
        if not is_infrastructure_fault(exc):
            log.error("digest: cannot count the quarantine folder: %s", where(exc))
        return None
    finally:
        if own and mailbox is not None:
            mailbox.close()
