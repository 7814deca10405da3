"""The intake decision: one message from a requestor (or anyone) -> a Decision. Pure.

No clock, no database, no network: the shell passes in the case snapshot and the assessed
attachments, and applies the returned Decision in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailbot.checks.completeness import DocumentFacts, check_completeness
from mailbot.checks.findings import Finding
from mailbot.forms import fields_from_body
from mailbot.parse import ParsedMessage
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.language import detect_language
from mailbot.workflow.model import AssessedAttachment, CaseView, Decision, ReplySpec, StoredDocument
from mailbot.workflow.routing import Route

STAFF_ROLES = ("triage", "specialist", "admin")


@dataclass(frozen=True)
class Office:
    name: str
    address: str
    languages: tuple[str, ...]
    triage_working_days: int = 2
    report_working_days: int = 5
    payment: dict[str, str] = field(default_factory=dict)   # beneficiary, iban, bic

    @property
    def default_language(self) -> str:
        return self.languages[0]


def file_findings(attachments: tuple[AssessedAttachment, ...]) -> list[Finding]:
    out: list[Finding] = []
    for a in attachments:
        if a.duplicate:
            out.append(Finding("file_duplicate", a.filename))
        elif a.problem is not None:
            out.append(Finding("file_problem", a.filename, {"problem": a.problem, "kind": a.kind}))
        elif not a.name_ok:
            out.append(Finding("file_badly_named", a.filename, {
                "reason": a.name_reason, "suggestion": a.suggestion, "types": list(a.doc_types)}))
        elif not a.doc_types:
            out.append(Finding("file_unrecognised", a.filename))
    return out


def warning_findings(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...]) -> list[Finding]:
    """What the staff must know but the requestor is not asked to fix: active content in a PDF;
    parts of the email that could not be read (the requestor is told of those too)."""
    out = [Finding("file_active_content", a.filename, {"what": list(a.active_content)})
           for a in attachments if a.active_content and not a.duplicate]
    if msg.unreadable_parts:
        out.append(Finding("message_part_unreadable", "", {"parts": list(msg.unreadable_parts)}))
    return out


def _merge(old: dict[str, str], *updates: dict[str, str]) -> dict[str, str]:
    merged = dict(old)
    for update in updates:
        merged.update({k: v for k, v in update.items() if v})
    return merged


def _no_case(route: Route, role: str, disposition: str, reason: str,
             attachments: tuple[AssessedAttachment, ...], language: str, replies: tuple[ReplySpec, ...] = (),
             events: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Decision:
    case = route.case
    return Decision(
        disposition=disposition, case_ref=case.ref if case else None, new_case=False, routed_by=route.how,
        sender_role=role, state_before=case.state if case else None, state_after=case.state if case else None,
        language=case.language if case else language, form=dict(case.form) if case else {},
        consent=dict(case.consent) if case else {}, condition_id=None, attachments=attachments,
        findings=(), replies=replies, events=events, reason=reason)


def decide(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...], route: Route, role: str,
           automatic: str | None, rulebook: Rulebook, office: Office, *,
           report_due_if_restarted: datetime | None = None) -> Decision:
    case = route.case
    guessed = detect_language(f"{msg.subject}\n{msg.text}", office.default_language)
    summary = {"from_role": role, "attachments": [a.filename for a in attachments]}

    if automatic is not None:
        if case is None:
            return _no_case(route, role, "quarantined", f"automatic message ({automatic}) for no case",
                            attachments, guessed)
        return _no_case(route, role, "automatic", automatic, attachments, guessed,
                        events=(("automatic_message", {"reason": automatic}),))

    if role in STAFF_ROLES:
        if case is None:
            return _no_case(route, role, "quarantined", "staff message without a case reference",
                            attachments, guessed)
        return _no_case(route, role, "filed", "staff message", attachments, guessed,
                        events=(("staff_message", {**summary, "note": "shown to admins; no command handling yet"}),))

    if role == "stranger":
        reply = ReplySpec("requestor/not_a_party", (msg.from_addr,), guessed, {"office_name": office.name})
        return _no_case(route, role, "stranger", "sender is not a party to the case", attachments, guessed,
                        replies=(reply,), events=(("stranger_message", summary),))

    return _intake(msg, attachments, route, role, rulebook, office, guessed, summary, report_due_if_restarted)


def _intake(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...], route: Route, role: str,
            rulebook: Rulebook, office: Office, guessed: str, summary: dict[str, Any],
            report_due_if_restarted: datetime | None = None) -> Decision:
    case = route.case
    updates: dict[str, Any] = {}
    parent = None
    if route.how == "update":   # a new case that builds on the earlier one's form and documents
        parent, case = case, None
        summary = {**summary, "update_of": parent.ref}
    body_form = fields_from_body(msg.text)
    pdf_form: dict[str, str] = {}
    pdf_consent: dict[str, str] = {}
    for a in attachments:
        if not a.duplicate and a.problem is None:
            pdf_form = _merge(pdf_form, a.form_fields)
            pdf_consent = _merge(pdf_consent, a.consent_fields)
    base = case or parent
    form = _merge(base.form if base else {}, body_form, pdf_form)
    consent = _merge(base.consent if base else {}, pdf_consent)   # consent only from a signed form
    language = form.get("language") if form.get("language") in office.languages else (
        base.language if base else guessed if guessed in office.languages else office.default_language)

    stored = list(base.documents) if base else []
    new_docs = [StoredDocument(a.filename, a.sha256, a.doc_types, a.usable, _problem_note(a), a.active_content)
                for a in attachments if not a.duplicate]
    facts = [DocumentFacts(d.filename, d.doc_types, d.usable) for d in (*stored, *new_docs)]
    condition_id, requirements = check_completeness(form=form, consent=consent, documents=facts, rulebook=rulebook)
    per_file = file_findings(attachments)
    findings = tuple(requirements + per_file + warning_findings(msg, attachments))
    state_before = case.state if case else None
    reply_to = (msg.from_addr,)   # the identity the case knows; never a different Reply-To
    base_ctx = _context(form, language, rulebook, office, route, requirements, per_file, attachments, condition_id)
    base_ctx["triage_missing"] = list(case.triage.get("missing", [])) if case else []
    base_ctx["unreadable_parts"] = list(msg.unreadable_parts)
    events: list[tuple[str, dict[str, Any]]] = [("message_received", summary)]
    replies: list[ReplySpec] = []

    waiting_for_triage_items = bool(case and case.triage.get("missing")) and not any(d.usable for d in new_docs)
    if case is None or case.state == "awaiting_documents":
        if not requirements and not waiting_for_triage_items:
            state_after = "in_triage"
            events.append(("state_changed", {"from": state_before, "to": state_after}))
            replies.append(ReplySpec("requestor/case_complete", reply_to, language, base_ctx))
            docs = tuple((d.sha256, d.filename) for d in (*stored, *new_docs) if d.usable)
            for doctor in rulebook.staff.triage:
                lang = doctor.languages[0] if doctor.languages else "en"
                ctx = {**_context(form, lang, rulebook, office, route, requirements, per_file, attachments,
                                  condition_id),
                       "doctor_name": doctor.name, "unreadable_parts": base_ctx["unreadable_parts"],
                       "documents": [_doc_line(d, lang, rulebook) for d in (*stored, *new_docs) if d.usable],
                       "unusable": [{"filename": d.filename, "problem": d.problem}
                                    for d in (*stored, *new_docs) if not d.usable]}
                replies.append(ReplySpec("triage/new_case", (str(doctor.email),), lang, ctx, documents=docs,
                                         auto_submitted="auto-generated"))
            if not rulebook.staff.triage:
                events.append(("alert", {"what": "no triage doctor in staff.toml"}))
        else:
            state_after = "awaiting_documents"
            usable_any = any(f.usable for f in facts) or bool(form)
            forms_needed = []
            if not form:
                forms_needed.append("request_form")
            if any(f.code in ("consent_missing", "consent_mismatch") for f in requirements):
                forms_needed.append("consent_form")
            purpose = "requestor/missing_documents" if usable_any else "requestor/instructions"
            if purpose == "requestor/instructions" and "consent_form" not in forms_needed:
                forms_needed.append("consent_form")   # they may need it; it costs nothing to include
            replies.append(ReplySpec(purpose, reply_to, language, base_ctx, blank_forms=tuple(forms_needed)))
            if case is None:
                events.append(("state_changed", {"from": None, "to": state_after}))
    elif case.is_open:
        state_after = case.state
        replies.append(ReplySpec("requestor/received", reply_to, language, {**base_ctx, "state": case.state}))
        fresh = tuple((d.sha256, d.filename) for d in new_docs if d.usable)
        member = next((m for m in rulebook.staff.specialists if str(m.email).lower() == (case.specialist_email or "")), None)
        if case.state == "with_specialist" and fresh and member is not None:
            asked = case.triage.get("specialist_missing")
            restart = bool(asked) and report_due_if_restarted is not None
            if restart:   # what the specialist asked for has come: a fresh 5 working days
                updates["report_due_at"] = report_due_if_restarted
                updates["triage"] = {k: v for k, v in case.triage.items() if k != "specialist_missing"}
                events.append(("report_deadline_restarted", {"due": report_due_if_restarted.isoformat()}))
            lang = member.languages[0] if member.languages else "en"
            replies.append(ReplySpec("specialist/more_documents", (str(member.email),), lang,
                                     {"office_name": office.name, "doctor_name": member.name,
                                      "files": [f for _, f in fresh], "asked": list(asked or []),
                                      "active_files": [d.filename for d in new_docs if d.usable and d.active_content],
                                      "due_date": report_due_if_restarted.date().isoformat() if restart else ""},
                                     documents=fresh, auto_submitted="auto-generated"))
    else:
        state_after = case.state
        replies.append(ReplySpec("requestor/case_closed", reply_to, language, {**base_ctx, "state": case.state}))

    if parent is not None:
        events.append(("update_of", {"parent": parent.ref}))
        for spec in replies:
            spec.context["update_of"] = parent.ref
    return Decision(
        disposition="filed", case_ref=case.ref if case else None, new_case=case is None, routed_by=route.how,
        sender_role=role, state_before=state_before, state_after=state_after, language=language, form=form,
        consent=consent, condition_id=condition_id, attachments=attachments, findings=findings,
        replies=tuple(replies), events=tuple(events),
        case_updates={**updates, **({"parent_ref": parent.ref} if parent is not None else {})})


def _problem_note(a: AssessedAttachment) -> str:
    if a.problem is not None:
        return a.problem if a.problem != "not_pdf" else f"not_pdf ({a.kind})"
    return "" if a.name_ok else f"badly named ({a.name_reason})"


def _doc_line(d: StoredDocument, language: str, rulebook: Rulebook) -> dict[str, Any]:
    return {"filename": d.filename, "types": [rulebook.title(t, language) for t in d.doc_types[:1]],
            "active_content": list(d.active_content)}


def _context(form: dict[str, str], language: str, rulebook: Rulebook, office: Office, route: Route,
             requirements: list[Finding], per_file: list[Finding], attachments: tuple[AssessedAttachment, ...],
             condition_id: str | None) -> dict[str, Any]:
    """Everything a template may show, already in the case language; no wording lives here."""
    notes = rulebook.conditions[condition_id].notes if condition_id else {}

    def doc(doc_id: str) -> dict[str, str]:
        item = rulebook.all_document_types().get(doc_id)
        desc = item.description.get(language) if item is not None and item.description else ""
        note = notes[doc_id].get(language) if doc_id in notes else ""
        return {"id": doc_id, "title": rulebook.title(doc_id, language), "description": desc, "note": note}

    missing, any_of, form_problems, unknown_condition = [], [], [], None
    consent_missing = consent_mismatch = request_form_missing = False
    for f in requirements:
        if f.code == "document_missing":
            missing.append(doc(f.subject))
        elif f.code == "document_any_of_missing":
            any_of.append({"options": [doc(i) for i in f.detail["options"]],
                           "note": next((doc(i)["note"] for i in f.detail["options"] if i in notes), "")})
        elif f.code in ("form_field_missing", "form_field_invalid"):
            form_problems.append({"field": f.subject, "problem": f.detail.get("problem", "missing")})
        elif f.code == "condition_unknown":
            unknown_condition = {"given": f.detail["given"],
                                 "known": [rulebook.conditions[c].title.get(language) for c in f.detail["known"]]}
        elif f.code == "consent_missing":
            consent_missing = True
        elif f.code == "consent_mismatch":
            consent_mismatch = True
        elif f.code == "request_form_missing":
            request_form_missing = True
    files = []
    for f in per_file:
        entry = {"filename": f.subject, "code": f.code, **f.detail}
        if f.code == "file_badly_named":
            entry["types"] = [rulebook.title(t, language) for t in f.detail.get("types", [])]
        files.append(entry)
    condition = rulebook.conditions.get(condition_id) if condition_id else None
    received = [{"filename": a.filename, "types": [rulebook.title(t, language) for t in a.doc_types[:1]]}
                for a in attachments if a.usable]
    return {
        "office_name": office.name, "office_address": office.address,
        "requestor_name": form.get("requestor_name") or (form.get("patient_name") if form.get("requestor_role") == "patient" else ""),
        "patient_name": form.get("patient_name", ""), "patient_birth_date": form.get("patient_birth_date", ""),
        "requestor_role": form.get("requestor_role", ""), "requestor_email": form.get("requestor_email", ""),
        "referring_physician_code": form.get("referring_physician_code", ""),
        "condition": condition.title.get(language) if condition else form.get("condition", ""),
        "consultation_type": form.get("consultation_type", ""), "clinical_question": form.get("clinical_question", ""),
        "delivery": form.get("delivery", "email"), "share_with_referring_physician": form.get("share_with_referring_physician", "no"),
        "missing": missing, "any_of": any_of, "form_problems": form_problems, "unknown_condition": unknown_condition,
        "consent_missing": consent_missing, "consent_mismatch": consent_mismatch,
        "request_form_missing": request_form_missing, "files": files, "received": received,
        "routed_by": route.how, "triage_days": office.triage_working_days,
        "known_conditions": [c.title.get(language) for c in rulebook.conditions.values()],
    }
