"""The whole decision for one message, as a pure function of what was read and looked up.

    decision = decide(envelope, facts, rulebook, office, now)

Routing (which case), the sender's role, duplicates, staff capacity for updates, which PDFs
count as a report, the command or the intake decision, and the daily reply cap: all here, so
`replay --dry-run` can print it and the shell only writes it (store/apply.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from mailbot.checks.authentication import sender_authenticated
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.effects import StaffFacts
from mailbot.workflow.envelope import Envelope
from mailbot.workflow.hospitals import hospital_of, office_for
from mailbot.workflow.intake import decide as decide_intake
from mailbot.workflow.limits import split_by_cap
from mailbot.workflow.model import CaseView, Decision, Facts, Office
from mailbot.workflow.routing import (Candidates, Route, choose_case, form_names_other_patient, route_closed_case,
                                      sender_role)
from mailbot.workflow.staff import decide_command, read_command
from mailbot.workflow.transitions import STAFF_ROLES, Role, State


def form_in(envelope: Envelope) -> dict[str, str]:
    """The request-form fields this message carries (body, then fillable PDFs)."""
    form_here: dict[str, str] = dict(envelope.body_form)
    for a in envelope.attachments:
        form_here.update(a.form_fields)
    return form_here


def route_of(envelope: Envelope, facts: Facts, rulebook: Rulebook, now: datetime) -> Route:
    """Thread, then ref, then the sender's one open case; an update or a new case
    for new documents on a closed one."""
    form_here = form_in(envelope)
    sender_open = same_hospital(facts.sender_open, envelope, form_here, rulebook)
    other_patient = any(form_names_other_patient(form_here, c) for c in sender_open)
    route = choose_case(Candidates(by_thread=facts.by_thread, by_reference=facts.by_reference,
                                   sender_open=sender_open), carries_form_for_other_patient=other_patient)
    if sender_role(envelope.sender, None, rulebook) in STAFF_ROLES:
        return route   # staff files on a closed case are theirs to explain, not an update by the patient
    return route_closed_case(route, now=now, update_months=rulebook.pricing.update_months,
                             brings_documents=any(a.problem is None for a in envelope.attachments))


def staff_facts(case: CaseView, facts: Facts, rulebook: Rulebook, office: Office, now: datetime) -> StaffFacts:
    """Capacity: an update goes back to the earlier case's specialist only while they have room."""
    previous, same = None, False
    parent = facts.parents.get(case.parent_ref or "")
    if parent is not None and parent.specialist_email:
        previous = parent.specialist_email
        member = next((m for m in rulebook.staff.specialists if str(m.email).lower() == previous), None)
        same = member is not None and facts.specialist_loads.get(previous, 0) < member.max_open_cases
    return StaffFacts(now=now, open_cases=facts.specialist_loads, report_due=office.report_due(now),
                      previous_specialist=previous, is_update_same_specialist=same)


def report_documents(role: str, attachments) -> tuple[tuple[str, str], ...]:
    """The PDFs that count as a specialist's report: readable, new to the case. In any state: the
    table refuses a report where none is due, so it is not filed as a plain document either."""
    if role != Role.SPECIALIST:
        return ()
    return tuple((a.sha256, a.filename) for a in attachments if a.kind == "pdf" and a.problem is None
                 and not a.duplicate)


def same_hospital(cases: tuple[CaseView, ...], envelope: Envelope, form: dict[str, str],
                  rulebook: Rulebook) -> tuple[CaseView, ...]:
    """The sender's open cases a fresh mail may join: with hospitals, only those of the hospital it
    is written to (a request sent to another hospital of the network is a request of its own)."""
    if not rulebook.hospitals or not cases:
        return cases
    msg = envelope.message
    chosen = hospital_of(rulebook, None, form, (*msg.delivered_to, *msg.to, *msg.cc), envelope.received_for)
    return tuple(c for c in cases if (c.hospital or rulebook.default_hospital) == chosen)


def for_message(envelope: Envelope, route: Route, rulebook: Rulebook, office: Office) -> tuple[Rulebook, Office]:
    """The rules and office of the hospital this message is for (themselves without hospitals)."""
    msg = envelope.message
    hospital = hospital_of(rulebook, route.case, form_in(envelope), (*msg.delivered_to, *msg.to, *msg.cc),
                           envelope.received_for)
    return rulebook.for_hospital(hospital), office_for(office, rulebook, hospital)


def decide(envelope: Envelope, facts: Facts, rulebook: Rulebook, office: Office, now: datetime) -> Decision:
    msg, attachments = envelope.message, envelope.attachments
    route = route_of(envelope, facts, rulebook, now)
    rulebook, office = for_message(envelope, route, rulebook, office)
    case = route.case
    if case is not None:
        known = frozenset(d.sha256 for d in case.documents)
        attachments = tuple(dataclasses.replace(a, duplicate=a.sha256 in known) for a in attachments)
    role = sender_role(msg.from_addr, case, rulebook)
    decision = None
    if envelope.automatic is None and case is not None and role != Role.STRANGER:
        authenticated = not office.require_authenticated_staff or sender_authenticated(msg, office.authserv_id)
        decision = decide_command(msg.from_addr, attachments, case, role, read_command(msg.text, role), rulebook,
                                  office, staff_facts(case, facts, rulebook, office, now),
                                  tuple((d.sha256, d.filename) for d in case.documents if d.usable),
                                  report_documents(role, attachments), authenticated=authenticated)
    if decision is None:
        restart = office.report_due(now) if case is not None and case.state == State.WITH_SPECIALIST else None
        decision = decide_intake(msg, attachments, route, role, envelope.automatic, rulebook, office,
                                 report_due_if_restarted=restart, body_form=envelope.body_form, now=now)
    return capped(decision, facts.replies_today, office.max_replies_per_day)


def capped(decision: Decision, sent_today: dict[str, int], cap: int) -> Decision:
    """No address gets more than `cap` automatic replies a day; the dropped ones are recorded."""
    keep, dropped = split_by_cap(decision.replies, sent_today, cap)
    if not dropped:
        return decision
    events = tuple(("reply_suppressed", {"purpose": spec.purpose, "why": "daily cap of automatic replies reached"})
                   for spec in dropped)
    return dataclasses.replace(decision, replies=tuple(keep), events=decision.events + events)
