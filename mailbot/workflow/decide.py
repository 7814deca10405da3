"""The whole decision for one message, as a pure function of what was read and looked up.

    decision = decide(envelope, facts, rulebook, office, now)

Routing (which case), the sender's role, duplicates, staff capacity for updates, which PDFs
count as a report, whether a command comes with proof of its sender (or waits for, or is, a
confirmation), the command or the intake decision, the daily reply cap and the staff notice
bounds: all here, so `replay --dry-run` can print it and the shell only writes it (store/apply.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from mailbot.rulebook.models import Rulebook
from mailbot.workflow.bounces import decide_bounce, withheld
from mailbot.workflow.effects import StaffFacts
from mailbot.workflow.envelope import Envelope
from mailbot.workflow.hospitals import form_in, hospital_of, office_for, written_to
from mailbot.workflow.intake import decide as decide_intake
from mailbot.workflow.limits import split_by_cap, split_staff
from mailbot.workflow.commands import is_confirmation, own_words
from mailbot.workflow.model import CaseView, Decision, Facts, Office
from mailbot.workflow.routing import (Candidates, Route, choose_case, form_names_other_patient, is_treatment_reply,
                                      resent_to, route_closed_case, sender_role)
from mailbot.workflow.staff import Proof, decide_command, read_command
from mailbot.workflow.transitions import STAFF_ROLES, Disposition, Role, State, Verb


def route_of(envelope: Envelope, facts: Facts, rulebook: Rulebook, now: datetime) -> Route:
    """Thread, then ref, then the sender's open case that has every attached file already, then
    the sender's one open case awaiting documents; an update or a new case for new documents on a
    closed one. With hospitals, a fresh mail joins only the sender's cases at the hospital it is
    written to. A ref that names no case opens none either: the sender is a stranger to it (see
    `decide`), unless the mail finds the sender's own open case."""
    form_here = form_in(envelope)
    sender_open = same_hospital(facts.sender_open, envelope, rulebook)
    sender_active = same_hospital(facts.sender_active, envelope, rulebook)
    other_patient = any(form_names_other_patient(form_here, c) for c in sender_open)
    resent = resent_to(sender_active, frozenset(a.sha256 for a in envelope.attachments))
    route = choose_case(Candidates(by_thread=facts.by_thread, by_reference=facts.by_reference,
                                   sender_open=sender_open, resent=resent),
                        carries_form_for_other_patient=other_patient)
    if sender_role(envelope.sender, None, rulebook) in STAFF_ROLES or \
            is_treatment_reply(route.case, envelope.sender, route.case is not None and route.case.ref in facts.threaded):
        return route   # staff files on a closed case are theirs to explain, not an update by the patient
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
                      previous_specialist=previous, is_update_same_specialist=same,
                      undelivered=facts.undelivered.get(case.ref, ()))


def report_documents(role: str, attachments) -> tuple[tuple[str, str], ...]:
    """The PDFs that count as a specialist's report: readable, new to the case. In any state: the
    table refuses a report where none is due, so it is not filed as a plain document either."""
    if role != Role.SPECIALIST:
        return ()
    return tuple((a.sha256, a.filename) for a in attachments if a.kind == "pdf" and a.problem is None
                 and not a.duplicate)


def same_hospital(cases: tuple[CaseView, ...], envelope: Envelope, rulebook: Rulebook) -> tuple[CaseView, ...]:
    """The sender's open cases a fresh mail may join: with hospitals, only those of the hospital it
    is written to (a request sent to another hospital of the network is a request of its own)."""
    if not rulebook.hospitals or not cases:
        return cases
    chosen = written_to(envelope, rulebook)
    return tuple(c for c in cases if (c.hospital or rulebook.default_hospital) == chosen)


def for_message(envelope: Envelope, route: Route, rulebook: Rulebook, office: Office) -> tuple[Rulebook, Office]:
    """The rules and office of the hospital this message is for (themselves without hospitals)."""
    msg = envelope.message
    hospital = hospital_of(rulebook, route.case, form_in(envelope), (*msg.delivered_to, *msg.to, *msg.cc),
                           envelope.received_for)
    return rulebook.for_hospital(hospital), office_for(office, rulebook, hospital)


def decide(envelope: Envelope, facts: Facts, rulebook: Rulebook, office: Office, now: datetime) -> Decision:
    if facts.bounced_case is not None:   # a bounce of our own mail: filed on its case, never answered
        bounce = decide_bounce(envelope, facts, rulebook, office,
                               staff_facts(facts.bounced_case, facts, rulebook, office, now))
        if bounce is not None:   # its notices bounded like any other (one per address and state)
            return paused(staff_bounded(bounce, facts, office.max_replies_per_day), facts)
    msg, attachments = envelope.message, envelope.attachments
    route = route_of(envelope, facts, rulebook, now)
    rulebook, office = for_message(envelope, route, rulebook, office)
    case = route.case
    if case is not None:
        known = frozenset(d.sha256 for d in case.documents)
        attachments = tuple(dataclasses.replace(a, duplicate=a.sha256 in known) for a in attachments)
    role = sender_role(msg.from_addr, case, rulebook)
    if is_treatment_reply(case, msg.from_addr, case is not None and case.ref in facts.threaded):
        role = Role.SECRETARIAT   # its words and files are for the requestor (RELAY)
    if case is None and role == Role.REQUESTOR and envelope.refs and facts.by_thread is None \
            and facts.by_reference is None:
        role = Role.STRANGER   # a ref that names no case: the same answer as one not theirs, and no new case
    decision = None
    if envelope.automatic is None and case is not None and role != Role.STRANGER:
        decision = confirmation(envelope, facts, case, role, rulebook, office, now)
        if decision is None:
            decision = decide_command(msg.from_addr, attachments, case, role, read_command(msg.text, role), rulebook,
                                      office, staff_facts(case, facts, rulebook, office, now),
                                      tuple(d.sent_as for d in case.documents if d.usable),
                                      report_documents(role, attachments),
                                      proof=proof_of(envelope, facts, case, role, office), message_id=msg.message_id,
                                      body=own_words(msg.text) if role == Role.SECRETARIAT else "")
    if decision is None:
        restart = office.report_due(now) if case is not None and case.state == State.WITH_SPECIALIST else None
        decision = decide_intake(msg, attachments, route, role, envelope.automatic, rulebook, office,
                                 report_due_if_restarted=restart, body_form=envelope.body_form, now=now,
                                 noted_today=case is not None and case.ref in facts.noted_today)
        if route.how == "resend" and decision.disposition == Disposition.FILED:
            decision = resend(decision, already=case.ref in facts.acknowledged_resends)
    return paused(staff_bounded(capped(decision, facts.replies_today, office.max_replies_per_day), facts,
                                office.max_replies_per_day), facts)


def resend(decision: Decision, *, already: bool) -> Decision:
    """The same request again (every file already on the sender's open case): acknowledged the
    first time only, then filed without a word."""
    if not already:
        return dataclasses.replace(decision, events=decision.events + (("resend_acknowledged", {}),))
    quiet = tuple(r for r in decision.replies if not r.purpose.startswith("requestor/"))
    return dataclasses.replace(decision, replies=quiet, events=decision.events + (("resend_filed", {}),))


def staff_bounded(decision: Decision, facts: Facts, cap: int) -> Decision:
    """Staff hear of a thing once per case and state, and get at most `cap` mails a day per case."""
    ref = decision.case_ref
    if ref is None:
        return decision
    same_state = decision.state_after == decision.state_before
    sent = facts.notices_sent.get(ref, frozenset()) if same_state else frozenset()
    keep, dropped = split_staff(decision.replies, sent, facts.staff_today.get(ref, {}), cap)
    if not dropped:
        return decision
    events = tuple(("notice_suppressed", {"purpose": spec.purpose, "to": list(spec.to), "why": why})
                   for spec, why in dropped)
    return dataclasses.replace(decision, replies=tuple(keep), events=decision.events + events)


def proof_of(envelope: Envelope, facts: Facts, case: CaseView, role: Role, office: Office) -> Proof:
    """A pass from our receiving server, else a reply to our own mail to this address about this
    case; neither: the command waits for confirmation. Strict mode: staff need the pass."""
    awaiting = facts.awaiting.get(case.ref, ())
    if office.require_authenticated_staff and role in STAFF_ROLES:
        return Proof("authenticated" if envelope.authenticated else "", refused=not envelope.authenticated,
                     awaiting=awaiting)
    if envelope.authenticated:
        return Proof("authenticated", awaiting=awaiting)
    return Proof("thread" if case.ref in facts.threaded else "", awaiting=awaiting)


def confirmation(envelope: Envelope, facts: Facts, case: CaseView, role: Role, rulebook: Rulebook, office: Office,
                 now: datetime) -> Decision | None:
    """CONFIRM from the address that was asked, in reply to the request: the kept command acts now,
    as if it had come with proof. Late or used again: nothing happens. None: not a confirmation."""
    pending, msg = facts.pending, envelope.message
    if pending is None or pending.case_ref != case.ref or pending.role != role \
            or msg.from_addr.lower() != pending.address or not is_confirmation(msg.text):
        return None
    known = frozenset(d.sha256 for d in case.documents)
    original = tuple(dataclasses.replace(a, duplicate=a.sha256 in known) for a in pending.attachments)
    decision = None
    if pending.status == "pending" and now <= pending.expires_at:
        parsed = None if pending.verb == Verb.REPORT else read_command(pending.text or pending.line, role)
        decision = decide_command(pending.address, original, case, role, parsed, rulebook, office,
                                  staff_facts(case, facts, rulebook, office, now),
                                  tuple(d.sent_as for d in case.documents if d.usable),
                                  report_documents(role, original),
                                  proof=Proof("confirmed", refused=office.require_authenticated_staff
                                              and role in STAFF_ROLES and not envelope.authenticated),
                                  message_id=pending.given_id or msg.message_id)
    if decision is None:
        why = "expired" if pending.status in ("pending", "expired") else f"already {pending.status}"
        return Decision(
            disposition=Disposition.FILED, case_ref=case.ref, new_case=False, routed_by="", sender_role=role,
            state_before=case.state, state_after=case.state, language=case.language, form=dict(case.form),
            consent=dict(case.consent), condition_id=case.condition_id, attachments=envelope.attachments,
            findings=(), replies=(), events=(("confirmation_ignored", {"verb": pending.verb, "why": why}),),
            command=f"confirmation ignored: {pending.verb}",
            resolves=(pending.request_id, "expired") if pending.status == "pending" else None)
    event = ("command_confirmed", {"verb": pending.verb, "by": pending.address})
    return dataclasses.replace(decision, events=(event, *decision.events), resolves=(pending.request_id, "confirmed"))


def paused(decision: Decision, facts: Facts) -> Decision:
    """Replies to the case's undeliverable addresses withheld (workflow/bounces.py)."""
    stopped = facts.undelivered.get(decision.case_ref or "", ())
    return withheld(decision, tuple(u.address for u in stopped))


def capped(decision: Decision, sent_today: dict[str, int], cap: int) -> Decision:
    """No address gets more than `cap` automatic replies a day; the dropped ones are recorded."""
    keep, dropped = split_by_cap(decision.replies, sent_today, cap)
    if not dropped:
        return decision
    events = tuple(("reply_suppressed", {"purpose": spec.purpose, "why": "daily cap of automatic replies reached"})
                   for spec in dropped)
    return dataclasses.replace(decision, replies=tuple(keep), events=decision.events + events)
