"""Ordinary mail (no command) on a case, or opening one -> a Decision. Pure.

No clock, no database, no network: the caller passes the routed case snapshot and the assessed
attachments. Mail from the case's parties becomes a COMPLETE, INCOMPLETE or WRITE row of the
state table (workflow/transitions.py); machines, staff without a command and strangers are
filed without touching the case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from mailbot.checks.completeness import DocumentFacts, check_completeness
from mailbot.checks.findings import Finding
from mailbot.documents.forms import fields_from_body, requestor_name
from mailbot.documents.photos import PHOTO_KINDS
from mailbot.parse import ParsedMessage
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.commands import own_words
from mailbot.workflow.effects import Builder, IntakeData, perform
from mailbot.workflow.hospitals import offering
from mailbot.workflow.language import detect_language
from mailbot.workflow.model import (AssessedAttachment, CasePatch, CaseView, Decision, Office,  # noqa: F401
                                    ReplySpec, StoredDocument)
from mailbot.workflow.routing import Route
from mailbot.workflow.transitions import STAFF_ROLES, TABLE, Disposition, Role, State, Verb


def file_findings(attachments: tuple[AssessedAttachment, ...]) -> list[Finding]:
    out: list[Finding] = []
    for a in attachments:
        where = _where(a.inside)
        if a.duplicate:
            out.append(Finding("file_duplicate", a.filename, where))
        elif a.problem is not None:
            out.append(Finding("file_problem", a.filename, {"problem": a.problem, "kind": a.kind, **where,
                                                            **({"language": a.language} if a.language else {})}))
        elif not a.name_ok:
            out.append(Finding("file_badly_named", a.filename, {
                "reason": a.name_reason, "suggestion": a.suggestion, "types": list(a.doc_types), **where}))
        elif not a.doc_types:
            out.append(Finding("file_unrecognised", a.filename, where))
    return out


def _where(inside: tuple[str, ...]) -> dict[str, list[str]]:
    """Where an unpacked file came from, for replies ("histology.pdf, inside records.zip"); nothing
    for a file attached directly."""
    return {"inside": list(inside)} if inside else {}


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
             events: tuple[tuple[str, dict[str, Any]], ...] = (), filed: tuple[str, ...] = ()) -> Decision:
    """Filed, the case left as it is (a staff member's plain mail still adds its files)."""
    case = route.case
    return Decision(
        disposition=disposition, case_ref=case.ref if case else None, new_case=False, routed_by=route.how,
        sender_role=role, state_before=case.state if case else None, state_after=case.state if case else None,
        language=case.language if case else language, form=dict(case.form) if case else {},
        consent=dict(case.consent) if case else {}, condition_id=None, attachments=attachments,
        findings=(), replies=replies, events=events, reason=reason, filed=filed)


def decide(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...], route: Route, role: str,
           automatic: str | None, rulebook: Rulebook, office: Office, *,
           report_due_if_restarted: datetime | None = None, body_form: dict[str, str] | None = None,
           now: datetime | None = None, noted_today: bool = False) -> Decision:
    """`body_form`: the request-form fields of the body, when the caller has read them already;
    `noted_today`: the case's requestor had the short acknowledgement in the last 24 hours."""
    case = route.case
    guessed = detect_language(f"{msg.subject}\n{msg.text}", office.default_language)
    summary = {"from_role": role, "attachments": [a.filename for a in attachments]}

    if automatic is not None:
        if case is None:
            return _no_case(route, role, Disposition.QUARANTINED, f"automatic message ({automatic}) for no case",
                            attachments, guessed)
        return _no_case(route, role, Disposition.AUTOMATIC, automatic, attachments, guessed,
                        events=(("automatic_message", {"reason": automatic}),))

    if role in STAFF_ROLES:
        if case is None:
            return _no_case(route, role, Disposition.QUARANTINED, "staff message without a case reference",
                            attachments, guessed)
        return _no_case(route, role, Disposition.FILED, "staff message", attachments, guessed,
                        events=(("staff_message", {**summary, "note": "shown to admins; no command handling yet"}),),
                        filed=tuple(a.sha256 for a in attachments if not a.duplicate))

    if role == Role.STRANGER:
        reply = ReplySpec("requestor/not_a_party", (msg.from_addr,), guessed, {"office_name": office.name})
        return _no_case(route, role, Disposition.STRANGER, "sender is not a party to the case", attachments, guessed,
                        replies=(reply,), events=(("stranger_message", summary),))

    form = fields_from_body(msg.text) if body_form is None else body_form
    return _intake(msg, attachments, route, role, rulebook, office, guessed, summary, report_due_if_restarted,
                   form, now, noted_today)


def _intake(msg: ParsedMessage, attachments: tuple[AssessedAttachment, ...], route: Route, role: str,
            rulebook: Rulebook, office: Office, guessed: str, summary: dict[str, Any],
            report_due_if_restarted: datetime | None, body_form: dict[str, str], now: datetime | None,
            noted_today: bool = False) -> Decision:
    case, parent = route.case, None
    if route.how == "update":   # a new case that builds on the earlier one's form and documents
        parent, case = case, None
        summary = {**summary, "update_of": parent.ref}
    base = case or parent
    form, consent = _forms(base, body_form, attachments)
    language = form.get("language") if form.get("language") in office.languages else (
        base.language if base else guessed if guessed in office.languages else office.default_language)
    stored = tuple(base.documents) if base else ()
    new_docs = tuple(StoredDocument(a.filename, a.sha256, a.doc_types, a.usable, _problem_note(a), a.active_content,
                                    a.language, a.inside, a.searchable_sha256)
                     for a in attachments if not a.duplicate)
    condition_id, requirements = check_completeness(
        form=form, consent=consent, rulebook=rulebook,
        documents=[DocumentFacts(d.filename, d.doc_types, d.usable) for d in (*stored, *new_docs)])
    if condition_id and not rulebook.offers(condition_id):
        requirements = [Finding("condition_not_offered", condition_id,
                                {"hospital": rulebook.hospital,
                                 "offered_by": [h["id"] for h in offering(rulebook, condition_id)]})]
    per_file = file_findings(attachments)
    context = partial(_context, form, rulebook=rulebook, office=office, route=route, requirements=requirements,
                      per_file=per_file, attachments=attachments, condition_id=condition_id,
                      delete_on=deletion_date(case, office, now))
    b = Builder(case, role, msg.from_addr, rulebook, office, first_event=("message_received", summary))
    b.intake = replace(_intake_data(msg, case, form, language, context, stored, new_docs, requirements, rulebook,
                                    report_due_if_restarted), noted_today=noted_today)
    state = State(case.state) if case else State.NEW
    nothing_new = case is not None and not new_docs and (form, consent) == (case.form, case.consent)
    perform(b, TABLE[(state, _event(state, case, requirements, new_docs, nothing_new),
                      Role(role) if case else Role.REQUESTOR)], now)
    if parent is not None:
        b.events.append(("update_of", {"parent": parent.ref}))
        for spec in b.replies:
            spec.context["update_of"] = parent.ref
    patch = CasePatch(**b.updates).set(language=language, form=form, consent=consent, condition_id=condition_id,
                                      findings=[f.as_dict() for f in requirements if f.blocking])
    if b.state != (case.state if case else None):
        patch = patch.set(state=b.state)
    if case is None:
        patch = patch.set(requestor_email=msg.from_addr, **({"parent_ref": parent.ref} if parent else {}),
                          **({"hospital": rulebook.hospital} if rulebook.hospital else {}))
    return Decision(
        disposition=Disposition.FILED, case_ref=case.ref if case else None, new_case=case is None, routed_by=route.how,
        sender_role=role, state_before=case.state if case else None, state_after=b.state, language=language,
        form=form, consent=consent, condition_id=condition_id, attachments=attachments,
        findings=tuple(requirements + per_file + warning_findings(msg, attachments)), replies=tuple(b.replies), events=tuple(b.events), patch=patch,
        filed=tuple(a.sha256 for a in attachments if not a.duplicate))


def _event(state: State, case: CaseView | None, requirements: list[Finding],
           new_docs: tuple[StoredDocument, ...], nothing_new: bool = False) -> Verb:
    """Ordinary mail as a verb of the table: past the documents stage it is WRITE; before, COMPLETE
    once nothing required is missing (and what triage asked for has come), NOTE when the mail
    brings no file and no form field (a "thank you"), else INCOMPLETE. On a reported case whose
    treatment request went to the secretariat, FOLLOW_UP (passed on to them)."""
    if state == State.REPORT_SENT and case is not None and case.after_report.get("treatment", {}).get("to"):
        return Verb.FOLLOW_UP
    if state not in (State.NEW, State.AWAITING_DOCUMENTS):
        return Verb.WRITE
    waiting_for_triage_items = bool(case and case.triage.get("missing")) and not any(d.usable for d in new_docs)
    if not requirements and not waiting_for_triage_items:
        return Verb.COMPLETE
    return Verb.NOTE if nothing_new and state == State.AWAITING_DOCUMENTS else Verb.INCOMPLETE


def deletion_date(case: CaseView | None, office: Office, now: datetime | None) -> str:
    """The day an incomplete request is deleted: `incomplete_days` after it was opened."""
    opened = case.opened_at if case is not None and case.opened_at is not None else now
    if opened is None:
        return ""
    return (opened + timedelta(days=office.incomplete_days)).astimezone(office.zone).date().isoformat()


def _intake_data(msg: ParsedMessage, case: CaseView | None, form: dict[str, str], language: str, context,
                 stored: tuple[StoredDocument, ...], new_docs: tuple[StoredDocument, ...],
                 requirements: list[Finding], rulebook: Rulebook, report_due: datetime | None) -> IntakeData:
    all_docs = (*stored, *new_docs)
    return IntakeData(
        reply_to=(msg.from_addr,),   # the identity the case knows; never a different Reply-To
        language=language,
        context={**context(language), "triage_missing": list(case.triage.get("missing", [])) if case else [],
                 "unreadable_parts": list(msg.unreadable_parts)},
        triage_context=lambda lang: {**context(lang), "unreadable_parts": list(msg.unreadable_parts),
                                     "documents": [_doc_line(d, lang, rulebook) for d in all_docs if d.usable],
                                     "unusable": [{"filename": d.filename, "problem": d.problem, "language": d.language,
                                                   **_where(d.inside)}
                                                  for d in all_docs if not d.usable]},
        usable_documents=tuple(d.sent_as for d in all_docs if d.usable),
        fresh_documents=tuple(d.sent_as for d in new_docs if d.usable),
        active_files=tuple(d.filename for d in new_docs if d.usable and d.active_content),
        report_due_if_restarted=report_due, own_words=own_words(msg.text),
        **_ask(form, requirements, any(d.usable for d in all_docs) or bool(form)))


def _forms(base: CaseView | None, body_form: dict[str, str],
           attachments: tuple[AssessedAttachment, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """The request form merged from the case, the body and fillable PDFs; consent only from a signed form."""
    pdf_form: dict[str, str] = {}
    pdf_consent: dict[str, str] = {}
    for a in attachments:
        if not a.duplicate and a.problem is None:
            pdf_form = _merge(pdf_form, a.form_fields)
            pdf_consent = _merge(pdf_consent, a.consent_fields)
    form = _merge(base.form if base else {}, body_form, pdf_form)
    return form, _merge(base.consent if base else {}, pdf_consent)


def _ask(form: dict[str, str], requirements: list[Finding], usable_any: bool) -> dict[str, Any]:
    """Which reply asks for what is missing, and which blank forms go with it."""
    forms_needed = []
    if not form:
        forms_needed.append("request_form")
    if any(f.code in ("consent_missing", "consent_mismatch") for f in requirements):
        forms_needed.append("consent_form")
    purpose = "requestor/missing_documents" if usable_any else "requestor/instructions"
    if any(f.code == "condition_not_offered" for f in requirements):
        return {"forms_needed": (), "ask_purpose": "requestor/condition_not_offered"}
    if purpose == "requestor/instructions" and "consent_form" not in forms_needed:
        forms_needed.append("consent_form")   # they may need it; it costs nothing to include
    return {"forms_needed": tuple(forms_needed), "ask_purpose": purpose}


def _problem_note(a: AssessedAttachment) -> str:
    if a.problem is not None:
        return a.problem if a.problem != "not_pdf" else f"not_pdf ({a.kind})"
    return "" if a.name_ok else f"badly named ({a.name_reason})"


def _doc_line(d: StoredDocument, language: str, rulebook: Rulebook) -> dict[str, Any]:
    titles = [rulebook.title(t, language) for t in d.doc_types[:1]]
    return {"filename": d.sent_as[1], "types": titles, "title": titles[0] if titles else "",
            "active_content": list(d.active_content), **_where(d.inside)}   # named as attached for the staff


def _file_notes(per_file: list[Finding], language: str, rulebook: Rulebook, office: Office) -> list[dict[str, Any]]:
    """One entry per file with a problem: its finding, the suggested types in the case language,
    the languages accepted for a file written in another."""
    files = []
    for f in per_file:
        entry = {"filename": f.subject, "code": f.code, **f.detail}
        if f.code == "file_badly_named":
            entry["types"] = [rulebook.title(t, language) for t in f.detail.get("types", [])]
        if f.detail.get("problem") == "foreign_language":
            entry["accepted"] = list(office.accepted_languages)
        files.append(entry)
    return files


def _context(form: dict[str, str], language: str, rulebook: Rulebook, office: Office, route: Route,
             requirements: list[Finding], per_file: list[Finding], attachments: tuple[AssessedAttachment, ...],
             condition_id: str | None, delete_on: str = "") -> dict[str, Any]:
    """Everything a template may show, already in the case language; no wording lives here."""
    notes = rulebook.conditions[condition_id].notes if condition_id else {}

    def doc(doc_id: str) -> dict[str, str]:
        item = rulebook.all_document_types().get(doc_id)
        desc = item.description.get(language) if item is not None and item.description else ""
        note = notes[doc_id].get(language) if doc_id in notes else ""
        return {"id": doc_id, "title": rulebook.title(doc_id, language), "description": desc, "note": note}

    missing, any_of, form_problems, unknown_condition, not_offered = [], [], [], None, None
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
        elif f.code == "condition_not_offered":
            not_offered = {"hospital": office.name, "hospitals": offering(rulebook, f.subject)}
        elif f.code == "consent_missing":
            consent_missing = True
        elif f.code == "consent_mismatch":
            consent_mismatch = True
        elif f.code == "request_form_missing":
            request_form_missing = True
    files = _file_notes(per_file, language, rulebook, office)
    condition = rulebook.conditions.get(condition_id) if condition_id else None
    received = [{"filename": a.filename, "types": [rulebook.title(t, language) for t in a.doc_types[:1]],
                 **_where(a.inside)} for a in attachments if a.usable]
    photos = [{"filename": a.filename, "read": a.has_text, **_where(a.inside)}
              for a in attachments if a.usable and a.kind in PHOTO_KINDS]
    return {
        "office_name": office.name, "office_address": office.address,
        "requestor_name": requestor_name(form),
        "patient_name": form.get("patient_name", ""), "patient_birth_date": form.get("patient_birth_date", ""),
        "requestor_role": form.get("requestor_role", ""), "requestor_email": form.get("requestor_email", ""),
        "referring_physician_code": form.get("referring_physician_code", ""),
        "condition": condition.title.get(language) if condition else form.get("condition", ""),
        "consultation_type": form.get("consultation_type", ""), "clinical_question": form.get("clinical_question", ""),
        "delivery": form.get("delivery", "email"), "share_with_referring_physician": form.get("share_with_referring_physician", "no"),
        "missing": missing, "any_of": any_of, "form_problems": form_problems, "unknown_condition": unknown_condition,
        **({"not_offered": not_offered} if not_offered else {}),
        "consent_missing": consent_missing, "consent_mismatch": consent_mismatch,
        "request_form_missing": request_form_missing, "files": files, "received": received,
        "routed_by": route.how, "triage_days": office.triage_working_days,
        "consultation_types": list(condition.consultation_types) if condition else [],
        "specialties": list(condition.specialties) if condition else [],
        "known_conditions": [c.title.get(language) for c in rulebook.conditions.values()],
        "accepted_languages": list(office.accepted_languages), "delete_on": delete_on, "incomplete_days": office.incomplete_days,
        **({"photos": photos} if photos else {}),   # thanked for, and told a PDF is preferred next time
    }
