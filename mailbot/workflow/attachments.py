"""One attachment -> AssessedAttachment: inspection, form detection, classification, naming. Pure."""

from __future__ import annotations

from mailbot.documents.classify import classify
from mailbot.documents.inspect import inspect_document
from mailbot.documents.naming import check_name
from mailbot.forms import CONSENT_FIELDS, fields_from_acroform, looks_like_consent_form, looks_like_request_form
from mailbot.parse import Attachment
from mailbot.rulebook.models import Rulebook
from mailbot.store.files import sha256
from mailbot.workflow.model import AssessedAttachment


def assess(att: Attachment, rulebook: Rulebook, *, max_bytes: int, known_hashes: frozenset[str]) -> AssessedAttachment:
    digest = sha256(att.data)
    ins = inspect_document(att.filename, att.data, max_bytes=max_bytes)
    form_fields: dict[str, str] = {}
    consent_fields: dict[str, str] = {}
    problem = ins.problem
    field_names = dict.fromkeys(ins.fields, "x")
    if ins.fields and looks_like_consent_form(field_names):
        consent_fields = fields_from_acroform(ins.fields, CONSENT_FIELDS)
        doc_types: tuple[str, ...] = ("consent_form",)
        if problem is None and not {"patient_name", "authorised_name"} <= set(consent_fields):
            problem = "form_blank"   # our blank form sent back without being filled in
    elif ins.fields and looks_like_request_form(field_names):
        form_fields = fields_from_acroform(ins.fields)
        doc_types = ("request_form",)
        if problem is None and not form_fields:
            problem = "form_blank"
    else:
        doc_types = classify(att.filename, ins.text if problem is None else "", rulebook)
    name_ok, reason, suggestion = True, None, None
    if problem is None and doc_types not in (("request_form",), ("consent_form",)):
        verdict = check_name(att.filename, doc_types, ins.text, rulebook)
        name_ok, reason, suggestion = verdict.ok, verdict.reason, verdict.suggestion
    return AssessedAttachment(
        filename=att.filename, sha256=digest, size=len(att.data), kind=ins.kind, pages=ins.pages,
        has_text=ins.has_text, problem=problem, doc_types=tuple(doc_types), name_ok=name_ok,
        name_reason=reason, suggestion=suggestion, form_fields=form_fields,
        consent_fields=consent_fields, detail=ins.detail, duplicate=digest in known_hashes,
        active_content=ins.active_content,
    )
