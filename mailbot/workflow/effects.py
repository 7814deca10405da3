"""What each transition of the table does, and the one engine that runs a row. Pure.

An effect is a small function of the `Builder` (the case, the command, the facts): it adds
column changes, events and replies. `perform` moves the state, stamps the row's time columns
and runs the row's effects in order; the templates an effect sends must be named in its row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from mailbot.rulebook.models import Rulebook, StaffMember
from mailbot.workflow.assignment import choose_specialist
from mailbot.workflow.commands import Command
from mailbot.workflow.context import admin_notices, case_context, find_staff, staff_language
from mailbot.workflow.model import CaseView, DeliveryPatch, Office, ReplySpec, Undelivered
from mailbot.workflow.pricing import additional_price, money, quote
from mailbot.workflow.transitions import ENGINE_TEMPLATES, State, Transition


@dataclass(frozen=True)
class StaffFacts:
    """What a staff decision needs beyond the case: the time, loads and deadlines."""

    now: datetime
    open_cases: dict[str, int]              # specialist email -> cases with_specialist
    report_due: datetime | None = None      # 5 working days from now (for routing)
    previous_specialist: str | None = None  # for an update: who wrote the earlier report
    is_update_same_specialist: bool = False
    undelivered: tuple[Undelivered, ...] = ()   # the case's addresses paused after a bounce


@dataclass(frozen=True)
class IntakeData:
    """What the intake worked out for one message from a party (workflow/intake.py)."""

    reply_to: tuple[str, ...]
    language: str
    context: dict[str, Any]                 # for the requestor's reply
    triage_context: Callable[[str], dict[str, Any]]   # per triage doctor's language
    usable_documents: tuple[tuple[str, str], ...]      # every usable (sha256, filename) on the case
    fresh_documents: tuple[tuple[str, str], ...]       # usable ones that came with this message
    active_files: tuple[str, ...] = ()      # fresh usable files with active content, to warn the staff
    forms_needed: tuple[str, ...] = ()
    ask_purpose: str = "requestor/missing_documents"
    report_due_if_restarted: datetime | None = None
    noted_today: bool = False               # the short acknowledgement went out in the last 24 hours
    own_words: str = ""                     # what the sender wrote this time, quoted history cut


class Builder:
    """Collects one decision's column changes, events and replies."""

    def __init__(self, case: CaseView | None, role: str, sender: str, rulebook: Rulebook, office: Office, *,
                 first_event: tuple[str, dict[str, Any]], facts: StaffFacts | None = None,
                 command: Command | None = None):
        """`case` is None for a case still to be opened (the NEW rows of the table)."""
        self.case, self.role, self.sender, self.rulebook, self.office = case, role, sender, rulebook, office
        self.facts, self.command = facts, command
        self.replies: list[ReplySpec] = []
        self.events: list[tuple[str, dict[str, Any]]] = [first_event]
        self.updates: dict[str, Any] = {}
        self.state: State | None = case.state if case is not None else None
        self.payment: dict[str, Any] | None = None
        self.allowed: tuple[str, ...] = ENGINE_TEMPLATES
        self.intake: IntakeData | None = None
        self.report_documents: tuple[tuple[str, str], ...] = ()
        self.case_documents: tuple[tuple[str, str], ...] = ()
        self.attachments: tuple = ()             # the message's assessed attachments (for a relay)
        self.message_id = ""                     # the message's own Message-ID (to thread a relay to it)
        self.body = ""                           # the message's latest reply text, quoted history cut
        self.opens: dict[str, Any] | None = None  # the columns of a new case the message opens (ADDITIONAL)
        self.delivery: DeliveryPatch | None = None

    def ctx(self, language: str, **extra) -> dict[str, Any]:
        """The case as a template shows it, in the state this decision leaves it in."""
        return {**case_context(self.case, self.rulebook, language, self.office.name),
                **({"state": self.state} if self.state is not None else {}), **extra}

    def send(self, spec: ReplySpec) -> None:
        if spec.purpose not in self.allowed:
            raise ValueError(f"template {spec.purpose} is not named in its transition's row")
        self.replies.append(spec)

    def to_requestor(self, purpose: str, documents: tuple[tuple[str, str], ...] = (), **extra) -> None:
        self.send(ReplySpec(purpose, (self.case.requestor_email,), self.case.language,
                            self.ctx(self.case.language, **extra), documents=documents))

    def to_member(self, member: StaffMember, purpose: str, documents=(), **extra) -> None:
        lang = staff_language(member)
        self.send(ReplySpec(purpose, (str(member.email),), lang, self.ctx(lang, doctor_name=member.name, **extra),
                            documents=documents, auto_submitted="auto-generated"))

    def alert(self, kind: str, **extra) -> None:
        """Every admin notice names who did what: the sender and role of the message that caused it
        (an empty sender is a command given at the command line)."""
        extra = {"sender": self.sender, "role": self.role, **extra}
        self.events.append(("admin_alert", {"kind": kind, **{k: v for k, v in extra.items() if k != "line"}}))
        for spec in admin_notices(self.rulebook, kind, {}):   # each admin in their own language
            self.send(replace(spec, context=self.ctx(spec.language, **extra, kind=kind)))

    def move(self, state: str) -> None:
        self.events.append(("state_changed", {"from": self.state, "to": state}))
        self.state = state


def perform(b: Builder, transition: Transition, now: datetime) -> None:
    """The engine: one row of the table applied to the builder."""
    b.allowed = (*transition.templates, *ENGINE_TEMPLATES)
    if transition.next_state is not None and transition.next_state != b.state:
        b.move(transition.next_state)
    for column in transition.stamps:
        b.updates[column] = now
    for name in transition.effects:
        EFFECTS[name](b)


# -- staff commands ------------------------------------------------------------------------------

def approve(b: Builder) -> None:
    consultation, specialty = None, None
    for word in b.command.args:
        if word in ("surgical", "oncological", "cardio_oncological", "radiotherapy"):
            consultation = word
        else:
            specialty = word
    q = quote(b.rulebook, is_update_same_specialist=b.facts.is_update_same_specialist,
              courier=b.case.form.get("delivery") == "courier", additional=bool(b.case.additional_of),
              condition_id=b.case.condition_id)
    b.updates["triage"] = {**b.case.triage, "approved_by": b.sender, "approved_at": b.facts.now.isoformat(),
                           "consultation_type": consultation or b.case.form.get("consultation_type", ""),
                           "specialty": specialty or ""}
    b.updates["amount_due"] = money(q.total)
    p = b.office.payment
    b.to_requestor("requestor/payment_request", amount=money(q.total), currency=q.currency,
                   lines=[{"item": line.item, "amount": money(line.amount)} for line in q.lines],
                   beneficiary=p["beneficiary"], iban=p["iban"], bic=p["bic"],
                   report_days=b.office.report_working_days)


def triage_missing(b: Builder) -> None:
    b.updates["triage"] = {**b.case.triage, "missing": list(b.command.args), "asked_by": b.sender}
    b.to_requestor("requestor/more_documents_requested", items=list(b.command.args), asked_by="triage")


def specialist_missing(b: Builder) -> None:
    """The case stays with the specialist; the report deadline restarts when the documents come."""
    b.updates["triage"] = {**b.case.triage, "specialist_missing": list(b.command.args)}
    b.to_requestor("requestor/more_documents_requested", items=list(b.command.args), asked_by="specialist")


def reject(b: Builder) -> None:
    b.updates["triage"] = {**b.case.triage, "rejected_by": b.sender, "reason": b.command.text}
    b.to_requestor("requestor/rejected", reason=b.command.text)


def record_payment(b: Builder) -> None:
    expected = Decimal(b.case.amount_due or "0")
    amount = Decimal(b.command.args[0]) if b.command.args else expected
    b.payment = {"amount": money(amount), "expected": money(expected), "by": b.sender or "cli"}
    if amount != expected:
        b.alert("payment_mismatch", amount=money(amount), expected=money(expected),
                currency=b.rulebook.pricing.currency)


def decline(b: Builder) -> None:
    declined = (*b.case.declined_by, b.sender.lower())
    b.updates["declined_by"] = list(declined)
    b.events.append(("specialist_declined", {"specialist": b.sender, "reason": b.command.text}))


def route_to_specialist(b: Builder) -> None:
    """The next specialist with room (after a DECLINE, not those who declined); admins when none."""
    case, facts = b.case, b.facts
    excluded = tuple(b.updates.get("declined_by", case.declined_by))
    member = choose_specialist(b.rulebook, condition_id=case.condition_id, specialty=case.triage.get("specialty"),
                               language=case.language, open_cases=facts.open_cases, excluded=excluded,
                               previous=facts.previous_specialist)
    if member is None:
        b.updates["specialist_email"] = None
        b.alert("no_specialist", declined_by=", ".join(excluded))
        return
    b.updates["specialist_email"] = str(member.email).lower()
    b.updates["report_due_at"] = facts.report_due
    b.events.append(("specialist_assigned", {"specialist": str(member.email)}))
    earlier = tuple(tuple(r) for r in case.after_report.get("earlier_report", ()))   # an additional opinion's
    due, documents = facts.report_due, tuple(dict.fromkeys((*b.case_documents, *earlier)))
    lang = staff_language(member)
    paid = b.payment or {}
    b.to_member(member, "specialist/new_case", documents=documents,
                due_date=due.date().isoformat() if due else "", documents_list=[f for _, f in documents],
                case_documents=document_lines(b, documents, lang), report_days=b.office.report_working_days,
                payment_differs=paid.get("amount", "") != paid.get("expected", ""),
                extras=[e.title.get(lang) or e.title.get("en") or i for i, e in b.rulebook.pricing.extras.items()])


def document_lines(b: Builder, documents: tuple[tuple[str, str], ...], language: str) -> list[dict[str, str]]:
    """Each attached document with the title of what it is (from documents.toml), in `language`."""
    types = {d.sha256: d.doc_types for d in b.case.documents}
    return [{"filename": name, "title": b.rulebook.title(types[sha][0], language) if types.get(sha) else ""}
            for sha, name in documents]


def specialist_unreachable(b: Builder) -> None:
    """Mail to the case's specialist bounced for good: they count as having declined it."""
    declined = tuple(dict.fromkeys((*b.case.declined_by, b.sender.lower())))
    b.updates["declined_by"] = list(declined)
    b.events.append(("specialist_unreachable", {"specialist": b.sender}))


def set_email(b: Builder) -> None:
    """`EMAIL <role> <address>`: the requestor's or patient's address corrected (the other field too
    where it held the same address); the last mail that bounced to the old one goes to the new one."""
    role, address = b.command.args
    case = b.case
    requestor_is_patient = case.form.get("requestor_role", "patient") == "patient"
    old = case.requestor_email.lower() if role == "requestor" else (
        case.patient_email or (case.requestor_email.lower() if requestor_is_patient else ""))
    if role == "requestor" or (old and case.requestor_email.lower() == old):
        b.updates["requestor_email"] = address
    if role == "patient" or (old and case.patient_email == old):
        b.updates["form"] = {**case.form, "patient_email": address}
    failed = [u for u in b.facts.undelivered if u.address in (old, address)]
    last = failed[-1] if failed else None
    b.delivery = DeliveryPatch(resume=tuple(dict.fromkeys(u.address for u in failed)),
                               resend=((last.message_id, address),) if last and last.message_id else (),
                               by=b.sender or "cli")
    b.events.append(("address_corrected", {"role": role, "old": old, "new": address,
                                           "resend": last.message_id if last else ""}))
    b.alert("address_corrected", address_role=role, old=old, new=address, line=f"{role} {address}",
            resent=last.purpose if last else "")


def propose_extra(b: Builder) -> None:
    extras = b.rulebook.pricing.extras
    item = extra_for(b.command.text, b.rulebook)
    price = money(extras[item].amount) if item else ""
    title = extras[item].title.get(b.case.language) if item else ""
    b.updates["pending_extra"] = {"what": b.command.text, "item": item or "", "price": price,
                                  "specialist": b.sender.lower()}
    b.to_requestor("requestor/extra_proposal", what=b.command.text, item_title=title, price=price,
                   currency=b.rulebook.pricing.currency)


def extra_for(text: str, rulebook: Rulebook) -> str | None:
    """The priced extra a CONSULT line asks for: the first whose keywords (or id) occur in it,
    else the first extra listed; None when pricing.toml lists none."""
    extras = rulebook.pricing.extras
    words = text.lower()
    for item_id, item in extras.items():
        if any(k.lower() in words for k in (item_id.replace("_", " "), *item.keywords)):
            return item_id
    return next(iter(extras), None)


def answer_extra(b: Builder) -> None:
    pending = b.case.pending_extra
    if not pending:
        return   # a bare YES/NO with nothing proposed: filed only
    accepted = b.command.verb == "YES"
    b.updates["pending_extra"] = {}
    b.events.append(("extra_answered", {"accepted": accepted, "item": pending.get("item")}))
    specialist = find_staff(b.rulebook, pending.get("specialist", "")) if pending.get("specialist") else None
    if specialist is not None:
        b.to_member(specialist, "specialist/extra_answer", accepted=accepted, what=pending.get("what", ""),
                    price=pending.get("price", ""))
    b.to_requestor("requestor/extra_answer_noted", accepted=accepted, what=pending.get("what", ""),
                   price=pending.get("price", ""))


def cancel(b: Builder) -> None:
    state = b.case.state
    b.to_requestor("requestor/cancelled", previous_state=state)
    if state == State.IN_TRIAGE:
        for doctor in b.rulebook.staff.triage:
            b.to_member(doctor, "staff/case_cancelled")
    if state == State.WITH_SPECIALIST and b.case.specialist_email:
        member = find_staff(b.rulebook, b.case.specialist_email)
        if member is not None:
            b.to_member(member, "staff/case_cancelled")


def deliver_report(b: Builder) -> None:
    """To the requestor and the patient; to a referring physician only with the patient's consent."""
    form, report = b.case.form, b.report_documents
    recipients: list[str] = []
    physician_requested = form.get("requestor_role") == "referring_physician"
    if not physician_requested or form.get("share_with_referring_physician") == "yes":
        recipients.append(b.case.requestor_email)
    patient = b.case.patient_email
    if patient and patient not in recipients:
        recipients.append(patient)
    b.events.append(("report_received", {"files": [f for _, f in report]}))
    b.updates["after_report"] = {**b.case.after_report, "report": [list(r) for r in report]}
    if not recipients:
        b.alert("report_no_recipient")
        return
    for address in recipients:
        b.send(ReplySpec("requestor/report", (address,), b.case.language, b.ctx(b.case.language), documents=report))
    if form.get("delivery") == "courier":
        b.alert("courier_delivery")


# -- after the report ------------------------------------------------------------------------------

def forward_treatment(b: Builder) -> None:
    """TREATMENT: the case summary and the report to the reporting specialist's secretariat (or
    the specialist); the requestor is told. Without that specialist in staff.toml, the admins."""
    case = b.case
    member = find_staff(b.rulebook, case.specialist_email or "")
    report = tuple(tuple(r) for r in case.after_report.get("report", ())) or b.case_documents
    to = str(member.secretariat or member.email).lower() if member is not None else ""
    if member is None:
        b.alert("treatment_no_secretariat", specialist=case.specialist_email or "")
    else:
        lang = staff_language(member)
        b.send(ReplySpec("secretariat/treatment_request", (to,), lang,
                         b.ctx(lang, specialist_name=member.name, message=b.command.text,
                               report_date=case.report_sent_at.date().isoformat() if case.report_sent_at else "",
                               files=[f for _, f in report]),
                         documents=report, auto_submitted="auto-generated"))
    b.updates["after_report"] = {**case.after_report, "treatment": {
        "to": to, "at": b.facts.now.isoformat(), "by": b.sender.lower(), "thread": b.message_id}}
    b.events.append(("treatment_forwarded", {"to": to or "admins"}))
    b.send(ReplySpec("requestor/treatment_forwarded", (b.sender.lower(),), case.language,
                     b.ctx(case.language, specialist_name=member.name if member is not None else "",
                           message=b.command.text)))


def relay_treatment_reply(b: Builder) -> None:
    """The secretariat's answer (a quote as a PDF, say) to whoever asked, on the thread they started."""
    treatment = b.case.after_report.get("treatment", {})
    files = tuple((a.sha256, a.filename) for a in b.attachments
                  if a.kind == "pdf" and a.problem in (None, "foreign_language") and not a.duplicate)
    held = [a.filename for a in b.attachments if (a.sha256, a.filename) not in files and not a.duplicate]
    b.events.append(("treatment_reply_relayed", {"files": [f for _, f in files], "held": held}))
    if held:
        b.alert("treatment_reply_files_held", files=", ".join(held))
    member = find_staff(b.rulebook, b.case.specialist_email or "")
    b.send(ReplySpec("requestor/treatment_reply", (treatment.get("by") or b.case.requestor_email,), b.case.language,
                     b.ctx(b.case.language, message=b.body, held=held,
                           specialist_name=member.name if member is not None else ""),
                     documents=files, in_reply_to=treatment.get("thread", "")))


def open_additional(b: Builder) -> None:
    """ADDITIONAL: a new case linked to the reported one, with its form, documents and the question
    below the command, straight to triage; then the usual payment (the additional-opinion price)."""
    case, question, now = b.case, b.command.text, b.facts.now
    if not question.strip():   # nothing to answer yet: how to ask, again, and no case opened
        b.events.append(("additional_without_question", {}))
        b.send(ReplySpec("requestor/additional_offer", (b.sender.lower(),), case.language,
                         b.ctx(case.language, price=money(additional_price(b.rulebook)),
                               currency=b.rulebook.pricing.currency, question_missing=True,
                               treatment_forwarded=bool(case.after_report.get("treatment")))))
        return
    form = {**case.form, "clinical_question": question or case.form.get("clinical_question", "")}
    report = tuple(tuple(r) for r in case.after_report.get("report", ()))
    fresh = tuple((a.sha256, a.filename) for a in b.attachments if a.usable)
    documents = tuple(dict.fromkeys((*b.case_documents, *report, *fresh)))   # the report, however it was named
    b.opens = {"state": State.IN_TRIAGE, "requestor_email": case.requestor_email, "language": case.language,
               "form": form, "consent": dict(case.consent), "condition_id": case.condition_id,
               "additional_of": case.ref, "completed_at": now, "findings": [],
               "after_report": {"earlier_report": [list(r) for r in report]}}
    b.events.append(("additional_opinion_of", {"parent": case.ref}))
    price, currency = money(additional_price(b.rulebook)), b.rulebook.pricing.currency
    b.send(ReplySpec("requestor/additional_opened", (b.sender.lower(),), case.language,
                     b.ctx(case.language, first_ref=case.ref, question=question, price=price, currency=currency,
                           triage_days=b.office.triage_working_days)))
    for doctor in b.rulebook.staff.triage:
        b.to_member(doctor, "triage/additional_opinion", documents=documents, first_ref=case.ref,
                    question=question, documents_list=[f for _, f in documents], price=price,
                    case_documents=document_lines(b, documents, staff_language(doctor)),
                    currency=currency, triage_days=b.office.triage_working_days)


# -- ordinary mail from the case's parties --------------------------------------------------------

def acknowledge_complete(b: Builder) -> None:
    i = b.intake
    b.send(ReplySpec("requestor/case_complete", i.reply_to, i.language, i.context))


def send_to_triage(b: Builder) -> None:
    i = b.intake
    for doctor in b.rulebook.staff.triage:
        lang = staff_language(doctor)
        b.send(ReplySpec("triage/new_case", (str(doctor.email),), lang, {**i.triage_context(lang),
                         "doctor_name": doctor.name}, documents=i.usable_documents, auto_submitted="auto-generated"))
    if not b.rulebook.staff.triage:
        b.events.append(("alert", {"what": "no triage doctor in staff.toml"}))


def ask_for_documents(b: Builder) -> None:
    i = b.intake
    b.send(ReplySpec(i.ask_purpose, i.reply_to, i.language, i.context, blank_forms=i.forms_needed))


def acknowledge(b: Builder) -> None:
    i = b.intake
    b.send(ReplySpec("requestor/received", i.reply_to, i.language, {**i.context, "state": b.case.state}))


def note_briefly(b: Builder) -> None:
    """Nothing new came: a short acknowledgement that repeats nothing, at most once a day."""
    i = b.intake
    if i.noted_today:
        b.events.append(("reply_skipped", {"purpose": "requestor/noted", "why": "acknowledged in the last 24 hours"}))
        return
    b.send(ReplySpec("requestor/noted", i.reply_to, i.language, i.context))


def forward_to_specialist(b: Builder) -> None:
    """New usable files for the case's specialist; what they asked for restarts the report deadline."""
    i, case = b.intake, b.case
    member = next((m for m in b.rulebook.staff.specialists
                   if str(m.email).lower() == (case.specialist_email or "")), None)
    if not i.fresh_documents or member is None:
        return
    asked = case.triage.get("specialist_missing")
    due = i.report_due_if_restarted
    restart = bool(asked) and due is not None
    if restart:
        b.updates["report_due_at"] = due
        b.updates["triage"] = {k: v for k, v in case.triage.items() if k != "specialist_missing"}
        b.events.append(("report_deadline_restarted", {"due": due.isoformat()}))
    b.send(ReplySpec("specialist/more_documents", (str(member.email),), staff_language(member),
                     {"office_name": b.office.name, "doctor_name": member.name,
                      "files": [f for _, f in i.fresh_documents], "asked": list(asked or []),
                      "active_files": list(i.active_files),
                      "due_date": due.date().isoformat() if restart else ""},
                     documents=i.fresh_documents, auto_submitted="auto-generated"))


def offer_additional(b: Builder) -> None:
    """Words on a reported case, no new documents: questions about the report are an additional
    opinion; how to ask for one, and what it costs."""
    i = b.intake
    b.send(ReplySpec("requestor/additional_offer", i.reply_to, i.language,
                     {**i.context, "price": money(additional_price(b.rulebook)),
                      "currency": b.rulebook.pricing.currency,
                      "treatment_forwarded": bool(b.case.after_report.get("treatment"))}))


def forward_follow_up(b: Builder) -> None:
    """The patient writes again while the treatment request is with the secretariat: passed on
    to them (with any new files); the patient is told, and how to ask about the report itself."""
    i, case = b.intake, b.case
    to = case.after_report["treatment"]["to"]
    member = find_staff(b.rulebook, case.specialist_email or "")
    lang = staff_language(member)
    b.send(ReplySpec("secretariat/follow_up", (to,), lang,
                     b.ctx(lang, specialist_name=member.name if member is not None else "", message=i.own_words,
                           files=[f for _, f in i.fresh_documents]),
                     documents=i.fresh_documents, auto_submitted="auto-generated"))
    b.events.append(("treatment_follow_up_forwarded", {"to": to, "files": [f for _, f in i.fresh_documents]}))
    b.send(ReplySpec("requestor/follow_up_forwarded", i.reply_to, i.language,
                     {**i.context, "price": money(additional_price(b.rulebook)),
                      "currency": b.rulebook.pricing.currency,
                      "specialist_name": member.name if member is not None else ""}))


def say_closed(b: Builder) -> None:
    i = b.intake
    b.send(ReplySpec("requestor/case_closed", i.reply_to, i.language, {**i.context, "state": b.case.state}))


EFFECTS: dict[str, Callable[[Builder], None]] = {f.__name__: f for f in (
    approve, triage_missing, specialist_missing, reject, record_payment, decline, route_to_specialist,
    propose_extra, answer_extra, cancel, deliver_report, specialist_unreachable, set_email, acknowledge_complete,
    send_to_triage, ask_for_documents, acknowledge, note_briefly, forward_to_specialist, offer_additional,
    say_closed, forward_treatment, relay_treatment_reply, open_additional, forward_follow_up)}
