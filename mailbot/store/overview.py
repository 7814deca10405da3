"""What the database says about the office's work now, in refs and counts (no names, no
addresses): the outbox, the quarantined messages, the cases by state and opened since a time,
the triage and report deadlines due today or past, the cases with an address that bounced for
good and is not corrected yet, and the last good cycle. `mailbot status`
shows it; the admins' daily digest (schedule/digest.py) mails it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, defer, sessionmaker

from mailbot.config import Config
from mailbot.schedule.deadlines import triage_due
from mailbot.schedule.policy import case_times, policy_of
from mailbot.schedule.workdays import WorkCalendar
from mailbot.store.markers import LAST_CYCLE
from mailbot.store.models import Case, InboundMessage, Marker, OutboxMessage, UndeliveredAddress
from mailbot.store.undelivered import cases_with_undelivered
from mailbot.workflow.model import CLOSED_STATES, OPEN_STATES


@dataclass
class Deadline:
    case: str
    kind: str          # triage | report
    due: str           # ISO time in the office's zone


@dataclass
class OfficeFacts:
    """What the database says about the office's work now (refs and counts only)."""

    outbox_queued: int = 0
    outbox_failed: int = 0
    failed_mail: list[dict[str, Any]] = field(default_factory=list)   # outbox id, case ref, purpose
    quarantined_recorded: int = 0      # messages filed as quarantined (the folder may hold more)
    cases_by_state: dict[str, int] = field(default_factory=dict)
    new_cases: list[str] = field(default_factory=list)                # refs opened since `since`
    due_today: list[Deadline] = field(default_factory=list)
    overdue: list[Deadline] = field(default_factory=list)
    cases_with_undelivered: int = 0    # a requestor's or patient's address bounced for good, not corrected
    last_cycle: str | None = None      # ISO time in the office's zone


def office_facts(sessions: sessionmaker[Session], config: Config, calendar: WorkCalendar, now: datetime, *,
                 since: datetime | None = None) -> OfficeFacts:
    zone = config.office.zone
    facts = OfficeFacts()
    with sessions() as session:
        counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        facts.outbox_queued, facts.outbox_failed = counts.get("queued", 0), counts.get("failed", 0)
        failed = session.execute(select(OutboxMessage.id, OutboxMessage.purpose, Case.ref)
                                 .outerjoin(Case, Case.id == OutboxMessage.case_id)
                                 .where(OutboxMessage.status == "failed").order_by(OutboxMessage.id)).all()
        facts.failed_mail = [{"outbox_id": i, "case": ref or "-", "purpose": purpose} for i, purpose, ref in failed]
        facts.quarantined_recorded = session.execute(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.disposition == "quarantined")).scalar_one()
        states = dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
        facts.cases_by_state = {s: states[s] for s in (*OPEN_STATES, *CLOSED_STATES) if states.get(s)}
        if since is not None:
            facts.new_cases = list(session.execute(select(Case.ref).where(Case.opened_at >= since)
                                                   .order_by(Case.id)).scalars())
        _deadlines(session, facts, config, calendar, now)
        tables = inspect(session.connection())
        if tables.has_table(UndeliveredAddress.__tablename__):   # an older schema has none
            facts.cases_with_undelivered = cases_with_undelivered(session)
        if tables.has_table(Marker.__tablename__):
            marker = session.get(Marker, LAST_CYCLE)
            facts.last_cycle = marker.at.astimezone(zone).isoformat(timespec="seconds") if marker else None
    return facts


def _deadlines(session: Session, facts: OfficeFacts, config: Config, calendar: WorkCalendar, now: datetime) -> None:
    """Triage and report deadlines of open cases: due later today, or already past."""
    zone, policy = config.office.zone, policy_of(config)
    today = now.astimezone(zone).date()
    present = {c["name"] for c in inspect(session.connection()).get_columns(Case.__tablename__)}
    later = [defer(getattr(Case, c.key)) for c in Case.__table__.columns if c.name not in present]
    cases = session.execute(select(Case).options(*later).where(Case.state.in_(("in_triage", "with_specialist")))
                            .order_by(Case.id)).scalars()   # an older schema lacks a later column: not read
    for case in cases:
        times = case_times(case)
        kind, due = ("triage", triage_due(times, calendar, zone, policy)) if case.state == "in_triage" else \
            ("report", case.report_due_at)
        if due is None:
            continue
        entry = Deadline(case.ref, kind, due.astimezone(zone).isoformat(timespec="minutes"))
        if now > due:
            facts.overdue.append(entry)
        elif due.astimezone(zone).date() == today:
            facts.due_today.append(entry)
