"""Staff and requestor commands on an existing case -> Decision. Pure.

A command counts only from an address listed for its role and only in the state where it makes
sense; anything else is filed, never acted on, and shown to the admins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from mailbot.parse import ParsedMessage
from mailbot.rulebook.models import Rulebook, StaffMember
from mailbot.workflow.assignment import choose_specialist
from mailbot.workflow.commands import REQUESTOR_VERBS, STAFF_VERBS, Command, Unparsed, first_line, parse_command
from mailbot.workflow.model import AssessedAttachment, CaseView, Decision, ReplySpec
from mailbot.workflow.pricing import money, quote

# state in which each verb is accepted
STATE_OF = {"APPROVE": ("in_triage",), "MISSING": ("in_triage",), "REJECT": ("in_triage",),
            "PAID": ("awaiting_payment",), "DECLINE": ("with_specialist",), "CONSULT": ("with_specialist",),
            "CANCEL": ("awaiting_documents", "in_triage", "awaiting_payment", "with_specialist"),
            "YES": ("with_specialist",), "NO": ("with_specialist",)}


@dataclass(frozen=True)
class StaffFacts:
    """What the shell looked up for a staff decision."""

    now: datetime
    open_cases: dict[str, int]              # specialist email -> cases with_specialist
    report_due: datetime | None = None      # 5 working days from now (for routing)
    previous_specialist: str | None = None  # for an update: who wrote the earlier report
    is_update_same_specialist: bool = False


def read_command(msg: ParsedMessage, role: str) -> Command | Unparsed | None:
    line = first_line(msg.text)
    if role in STAFF_VERBS:
        return parse_command(line)
    result = parse_command(line, REQUESTOR_VERBS)
    return None if isinstance(result, Unparsed) else result   # patients' words are not commands


def find_staff(rulebook: Rulebook, address: str) -> StaffMember | None:
    for member in (*rulebook.staff.triage, *rulebook.staff.specialists, *rulebook.staff.admins):
        if str(member.email).lower() == address.lower():
            return member
    return None


def staff_language(member: StaffMember | None) -> str:
    return member.languages[0] if member and member.languages else "en"


def admin_notices(rulebook: Rulebook, kind: str, context: dict[str, Any]) -> list[ReplySpec]:
    return [ReplySpec("admin/notice", (str(a.email),), staff_language(a), {**context, "kind": kind},
                      auto_submitted="auto-generated") for a in rulebook.staff.admins]


def case_context(case: CaseView, rulebook: Rulebook, language: str, office_name: str) -> dict[str, Any]:
    cond = rulebook.conditions.get(case.condition_id or "")
    form = case.form
    return {"office_name": office_name, "patient_name": form.get("patient_name", ""),
            "patient_birth_date": form.get("patient_birth_date", ""),
            "requestor_name": form.get("requestor_name") or (form.get("patient_name", "")
                                                             if form.get("requestor_role") == "patient" else ""),
            "requestor_role": form.get("requestor_role", ""),
            "condition": cond.title.get(language) if cond else form.get("condition", ""),
            "consultation_type": case.triage.get("consultation_type") or form.get("consultation_type", ""),
            "clinical_question": form.get("clinical_question", ""), "delivery": form.get("delivery", "email"),
            "triage_note": case.triage.get("note", ""), "state": case.state}


class _Builder:
    """Collects replies and events for one decision."""

    def __init__(self, msg: ParsedMessage, case: CaseView, role: str, rulebook: Rulebook, office):
        self.msg, self.case, self.role, self.rulebook, self.office = msg, case, role, rulebook, office
        self.replies: list[ReplySpec] = []
        self.events: list[tuple[str, dict[str, Any]]] = [
            ("staff_message" if role in STAFF_VERBS else "message_received",
             {"from_role": role, "attachments": [x.filename for x in msg.attachments]})]
        self.updates: dict[str, Any] = {}
        self.state = case.state
        self.payment: dict[str, Any] | None = None

    def ctx(self, language: str, **extra) -> dict[str, Any]:
        return {**case_context(self.case, self.rulebook, language, self.office.name), **extra}

    def to_requestor(self, purpose: str, documents: tuple[tuple[str, str], ...] = (), **extra) -> None:
        self.replies.append(ReplySpec(purpose, (self.case.requestor_email,), self.case.language,
                                      self.ctx(self.case.language, **extra), documents=documents))

    def to_member(self, member: StaffMember, purpose: str, documents=(), **extra) -> None:
        lang = staff_language(member)
        self.replies.append(ReplySpec(purpose, (str(member.email),), lang,
                                      self.ctx(lang, doctor_name=member.name, **extra), documents=documents,
                                      auto_submitted="auto-generated"))

    def alert(self, kind: str, **extra) -> None:
        self.events.append(("admin_alert", {"kind": kind, **{k: v for k, v in extra.items() if k != "line"}}))
        for spec in admin_notices(self.rulebook, kind, {}):   # each admin in their own language
            self.replies.append(replace(spec, context=self.ctx(spec.language, **extra, kind=kind)))

    def move(self, state: str) -> None:
        self.events.append(("state_changed", {"from": self.state, "to": state}))
        self.state = state

    def decision(self, attachments: tuple[AssessedAttachment, ...], command: str = "") -> Decision:
        return Decision(
            disposition="filed", case_ref=self.case.ref, new_case=False, routed_by="", sender_role=self.role,
            state_before=self.case.state, state_after=self.state, language=self.case.language,
            form=dict(self.case.form), consent=dict(self.case.consent), condition_id=self.case.condition_id,
            attachments=attachments, findings=(), replies=tuple(self.replies), events=tuple(self.events),
            case_updates=self.updates, payment=self.payment, command=command)


def route_to_specialist(b: _Builder, facts: StaffFacts, documents: tuple[tuple[str, str], ...],
                        excluded: tuple[str, ...]) -> None:
    case, rulebook = b.case, b.rulebook
    member = choose_specialist(rulebook, condition_id=case.condition_id, specialty=case.triage.get("specialty"),
                               language=case.language, open_cases=facts.open_cases, excluded=excluded,
                               previous=facts.previous_specialist)
    if member is None:
        b.updates["specialist_email"] = None
        b.alert("no_specialist", declined_by=", ".join(excluded))
        return
    b.updates["specialist_email"] = str(member.email).lower()
    b.updates["report_due_at"] = facts.report_due
    b.events.append(("specialist_assigned", {"specialist": str(member.email)}))
    due = facts.report_due
    b.to_member(member, "specialist/new_case", documents=documents,
                due_date=due.date().isoformat() if due else "", documents_list=[f for _, f in documents],
                report_days=b.office.report_working_days)


def decide_command(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...], case: CaseView, role: str,
                   parsed: Command | Unparsed | None, rulebook: Rulebook, office, facts: StaffFacts,
                   case_documents: tuple[tuple[str, str], ...], report_documents: tuple[tuple[str, str], ...] = (),
                   *, authenticated: bool = True) -> Decision | None:
    """None when the message carries no command (the caller files it as ordinary mail)."""
    b = _Builder(msg, case, role, rulebook, office)
    member = find_staff(rulebook, msg.from_addr)
    is_report = role == "specialist" and bool(report_documents) and parsed is None

    if isinstance(parsed, Unparsed):
        if parsed.problem == "not_allowed":
            b.alert("command_not_allowed", sender=msg.from_addr, line=parsed.line, role=role)
            return b.decision(attachments, f"refused: {parsed.verb}")
        if member is not None:
            b.to_member(member, "staff/command_not_understood", line=parsed.line, usage=parsed.usage,
                        case_ref_hint=case.ref)
        return b.decision(attachments, f"not understood: {parsed.verb}")
    if parsed is None and not is_report:
        return None
    verb = "REPORT" if is_report else parsed.verb
    if role in STAFF_VERBS and not authenticated:
        b.alert("command_unauthenticated", sender=msg.from_addr, line=getattr(parsed, "line", verb), role=role)
        return b.decision(attachments, f"unauthenticated: {verb}")

    # who may: staff verbs only from that role on this case; requestor verbs from requestor/patient
    allowed_role = role in STAFF_VERBS and verb in STAFF_VERBS[role] or \
        role in ("requestor", "patient") and verb in REQUESTOR_VERBS or verb == "REPORT"
    if role == "specialist" and case.specialist_email and msg.from_addr.lower() != case.specialist_email:
        allowed_role = False     # another specialist cannot act on a case not theirs
    if not allowed_role:
        b.alert("command_not_allowed", sender=msg.from_addr, line=getattr(parsed, "line", verb), role=role)
        return b.decision(attachments, f"refused: {verb}")
    states = ("with_specialist",) if (verb, role) == ("MISSING", "specialist") else STATE_OF.get(verb, ("with_specialist",))
    if case.state not in states:
        b.alert("command_wrong_state", sender=msg.from_addr, line=getattr(parsed, "line", verb), role=role)
        if member is not None:
            b.to_member(member, "staff/command_wrong_state", line=getattr(parsed, "line", verb))
        return b.decision(attachments, f"refused in {case.state}: {verb}")

    handler = {"APPROVE": _approve, "MISSING": _missing, "REJECT": _reject, "PAID": _paid,
               "DECLINE": _decline, "CONSULT": _consult, "CANCEL": _cancel, "YES": _answer, "NO": _answer,
               "REPORT": _report}[verb]
    handler(b, parsed, facts, case_documents, report_documents)
    return b.decision(attachments, verb)


def _approve(b: _Builder, cmd: Command, facts, docs, _r) -> None:
    consultation, specialty = None, None
    for word in cmd.args:
        if word in ("surgical", "oncological", "cardio_oncological", "radiotherapy"):
            consultation = word
        else:
            specialty = word
    q = quote(b.rulebook, is_update_same_specialist=facts.is_update_same_specialist,
              courier=b.case.form.get("delivery") == "courier")
    b.updates["triage"] = {**b.case.triage, "approved_by": b.msg.from_addr, "approved_at": facts.now.isoformat(),
                           "consultation_type": consultation or b.case.form.get("consultation_type", ""),
                           "specialty": specialty or ""}
    b.updates["amount_due"] = money(q.total)
    b.move("awaiting_payment")
    p = b.office.payment
    b.to_requestor("requestor/payment_request", amount=money(q.total), currency=q.currency,
                   lines=[{"item": line.item, "amount": money(line.amount)} for line in q.lines],
                   beneficiary=p["beneficiary"], iban=p["iban"], bic=p["bic"],
                   report_days=b.office.report_working_days)


def _missing(b: _Builder, cmd: Command, *_):
    if b.role == "specialist":
        # the case stays with the specialist; the report deadline restarts when the documents come
        b.updates["triage"] = {**b.case.triage, "specialist_missing": list(cmd.args)}
        b.to_requestor("requestor/more_documents_requested", items=list(cmd.args), asked_by="specialist")
        return
    b.updates["triage"] = {**b.case.triage, "missing": list(cmd.args), "asked_by": b.msg.from_addr}
    b.move("awaiting_documents")
    b.to_requestor("requestor/more_documents_requested", items=list(cmd.args), asked_by="triage")


def _reject(b: _Builder, cmd: Command, facts: StaffFacts, *_):
    b.updates["triage"] = {**b.case.triage, "rejected_by": b.msg.from_addr, "reason": cmd.text}
    b.updates["closed_at"] = facts.now
    b.move("rejected")
    b.to_requestor("requestor/rejected", reason=cmd.text)


def _paid(b: _Builder, cmd: Command, facts: StaffFacts, docs, _r):
    expected = Decimal(b.case.amount_due or "0")
    amount = Decimal(cmd.args[0]) if cmd.args else expected
    b.payment = {"amount": money(amount), "expected": money(expected), "by": b.msg.from_addr or "cli"}
    b.updates["paid_at"] = facts.now
    if amount != expected:
        b.alert("payment_mismatch", amount=money(amount), expected=money(expected))
    b.move("with_specialist")
    route_to_specialist(b, facts, docs, excluded=b.case.declined_by)


def _decline(b: _Builder, cmd: Command, facts: StaffFacts, docs, _r):
    declined = (*b.case.declined_by, b.msg.from_addr.lower())
    b.updates["declined_by"] = list(declined)
    b.events.append(("specialist_declined", {"specialist": b.msg.from_addr, "reason": cmd.text}))
    route_to_specialist(b, facts, docs, excluded=declined)


def _consult(b: _Builder, cmd: Command, facts, docs, _r):
    extras = b.rulebook.pricing.extras
    text = cmd.text.lower()
    item = next((k for k in extras if k.replace("_", " ") in text or "histolog" in text and "histolog" in k
                 or "istolog" in text and "histolog" in k), None)
    item = item or next(iter(extras), None)
    price = money(extras[item].amount) if item else ""
    title = extras[item].title.get(b.case.language) if item else ""
    b.updates["pending_extra"] = {"what": cmd.text, "item": item or "", "price": price,
                                  "specialist": b.msg.from_addr.lower()}
    b.to_requestor("requestor/extra_proposal", what=cmd.text, item_title=title, price=price,
                   currency=b.rulebook.pricing.currency)


def _answer(b: _Builder, cmd: Command, facts, docs, _r):
    pending = b.case.pending_extra
    if not pending:
        return   # a bare YES/NO with nothing proposed: filed only
    accepted = cmd.verb == "YES"
    b.updates["pending_extra"] = {}
    b.events.append(("extra_answered", {"accepted": accepted, "item": pending.get("item")}))
    specialist = find_staff(b.rulebook, pending.get("specialist", "")) if pending.get("specialist") else None
    if specialist is not None:
        b.to_member(specialist, "specialist/extra_answer", accepted=accepted, what=pending.get("what", ""),
                    price=pending.get("price", ""))
    b.to_requestor("requestor/extra_answer_noted", accepted=accepted, what=pending.get("what", ""),
                   price=pending.get("price", ""))


def _cancel(b: _Builder, cmd: Command, facts, docs, _r):
    state = b.case.state
    b.move("cancelled")
    b.updates["closed_at"] = facts.now
    b.to_requestor("requestor/cancelled", previous_state=state)
    if state == "in_triage":
        for doctor in b.rulebook.staff.triage:
            b.to_member(doctor, "staff/case_cancelled")
    if state == "with_specialist" and b.case.specialist_email:
        member = find_staff(b.rulebook, b.case.specialist_email)
        if member is not None:
            b.to_member(member, "staff/case_cancelled")


def _report(b: _Builder, cmd, facts: StaffFacts, docs, report_docs):
    form = b.case.form
    recipients: list[str] = []
    physician_requested = form.get("requestor_role") == "referring_physician"
    share = form.get("share_with_referring_physician") == "yes"
    if not physician_requested or share:
        recipients.append(b.case.requestor_email)
    patient = b.case.patient_email
    if patient and patient not in recipients:
        recipients.append(patient)
    b.updates["report_sent_at"] = facts.now
    b.updates["closed_at"] = facts.now
    b.move("report_sent")
    b.events.append(("report_received", {"files": [f for _, f in report_docs]}))
    if not recipients:
        b.alert("report_no_recipient")
        return
    for address in recipients:
        b.replies.append(ReplySpec("requestor/report", (address,), b.case.language,
                                   b.ctx(b.case.language), documents=report_docs))
    if form.get("delivery") == "courier":
        b.alert("courier_delivery")
