"""A bounce of our own mail -> Decision; and the pause it puts on an address. Pure.

A delivery report (parse/dsn.py) that names a message we sent (the shell found it in the outbox
by Message-ID) is filed on that message's case, never answered:

* temporary (4.x.x, "delayed"): recorded only; a later report or the mail's arrival decides;
* about an address no longer on the case (corrected since), or about no recipient of ours: recorded only;
* permanent (5.x.x) for the requestor or the patient: recorded (recipient, status, diagnostic,
  never the body), automatic mail to that address paused for the case, and the admins told the
  case ref and the failed address. An admin records a corrected address (`EMAIL <role>
  <address>`, `mailbot case REF --set-email`), which sends the failed mail again;
* permanent for a staff member (an address that no longer exists): the admins told at once, and
  where the table routes that role (a specialist on a case with the specialist), the case goes
  to the next eligible specialist, as after a DECLINE.

A second report about an address already paused adds a timeline line and no second notice.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mailbot.parse.dsn import PERMANENT, TEMPORARY, RecipientStatus
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.effects import Builder, StaffFacts, perform
from mailbot.workflow.model import CasePatch, CaseView, Decision, DeliveryPatch, Facts, Office, SentMail, Undelivered
from mailbot.workflow.routing import sender_role
from mailbot.workflow.transitions import STAFF_ROLES, Disposition, Refused, Role, Verb, transition_for

PARTY_ROLES = (Role.REQUESTOR, Role.PATIENT)


def bounce_role(address: str, case: CaseView, rulebook: Rulebook) -> Role:
    """Whose address bounced: a staff member's (by the rules), else the case's requestor or patient;
    a stranger's when it is none of those (an address corrected since, say)."""
    return sender_role(address, case, rulebook)


def decide_bounce(envelope, facts: Facts, rulebook: Rulebook, office: Office, staff: StaffFacts) -> Decision | None:
    """None when the report is not about mail of ours on a case (the caller files it as before)."""
    report, sent, case = envelope.report, facts.bounced, facts.bounced_case
    if report is None or sent is None or case is None:
        return None
    failure = report.failure_for(sent.recipients)
    if failure is None:   # about a recipient we did not write to: noted only
        failure = RecipientStatus("", "", "", "")
    role = bounce_role(failure.address, case, rulebook) if failure.address else Role.STRANGER
    detail = _detail(failure, sent, role)
    b = Builder(case, role, failure.address, rulebook, office, first_event=("delivery_report", detail), facts=staff)
    paused = {u.address for u in facts.undelivered.get(case.ref, ())}
    delivery = None
    if role != Role.STRANGER and failure.severity == PERMANENT and failure.address not in paused:
        delivery = DeliveryPatch(pause=(Undelivered(failure.address, str(role), failure.status, failure.diagnostic,
                                                    sent.message_id, sent.purpose),))
        _tell(b, role, detail, case)
    return _decision(b, envelope, delivery, f"bounce ({detail['severity']})")


def _detail(failure: RecipientStatus, sent: SentMail, role: Role) -> dict[str, Any]:
    severity = failure.severity if failure.address else "not about our recipient"
    return {"recipient": failure.address, "role": str(role), "severity": severity,
            "status": failure.status, "action": failure.action, "diagnostic": failure.diagnostic,
            "message_id": sent.message_id, "purpose": sent.purpose}


def _tell(b: Builder, role: Role, detail: dict[str, Any], case: CaseView) -> None:
    """The admins' notice, and for a staff address the table's re-routing where it has a row."""
    context = {"address": detail["recipient"], "address_role": str(role), "status": detail["status"],
               "diagnostic": detail["diagnostic"], "purpose": detail["purpose"],
               "policy": detail["status"].startswith("5.7."),
               "line": detail["recipient"]}   # one notice per address and state, not one per case
    if role == Role.ADMIN:
        b.events.append(("admin_address_undeliverable", {"address": detail["recipient"]}))
        return   # a notice to the admins would go the same broken way
    if role not in STAFF_ROLES:
        b.alert("address_bounced", **context)
        return
    b.alert("staff_address_bounced", **context)
    found = transition_for(case.state, Verb.UNDELIVERABLE, role)
    staff_on_case = role != Role.SPECIALIST or (case.specialist_email or "") == detail["recipient"]
    if not isinstance(found, Refused) and staff_on_case:
        b.case_documents = tuple((d.sha256, d.filename) for d in case.documents if d.usable)
        perform(b, found, b.facts.now)


def _decision(b: Builder, envelope, delivery: DeliveryPatch | None, reason: str) -> Decision:
    case = b.case
    patch = CasePatch().set(**b.updates)
    return Decision(
        disposition=Disposition.AUTOMATIC, case_ref=case.ref, new_case=False, routed_by="bounce",
        sender_role=b.role, state_before=case.state, state_after=b.state, language=case.language,
        form=dict(case.form), consent=dict(case.consent), condition_id=case.condition_id,
        attachments=envelope.attachments, findings=(), replies=tuple(b.replies), events=tuple(b.events),
        reason=reason, patch=patch, delivery=delivery)


def split_paused(specs, paused: tuple[str, ...]) -> tuple[list, list[tuple[Any, list[str]]]]:
    """Scheduled mail (reminders): the specs still to send, and (spec, addresses) withheld."""
    stopped = {a.lower() for a in paused}
    keep, dropped = [], []
    for spec in specs:
        to = tuple(a for a in spec.to if a.lower() not in stopped)
        if to != spec.to:
            dropped.append((spec, [a for a in spec.to if a not in to]))
        if to:
            keep.append(dataclasses.replace(spec, to=to))
    return keep, dropped


def withheld(decision: Decision, paused: tuple[str, ...]) -> Decision:
    """No automatic mail to an address paused on the case: its replies are dropped and recorded."""
    resumed = set(decision.delivery.resume) if decision.delivery else set()
    keep, dropped = split_paused(decision.replies, tuple({a.lower() for a in paused} - resumed))
    if not dropped:
        return decision
    events = [("reply_withheld", {"purpose": spec.purpose, "to": to, "why": "address undeliverable"})
              for spec, to in dropped]
    return dataclasses.replace(decision, replies=tuple(keep), events=decision.events + tuple(events))


__all__ = ["PERMANENT", "TEMPORARY", "bounce_role", "decide_bounce", "split_paused", "withheld"]
