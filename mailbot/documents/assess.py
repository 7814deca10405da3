"""One attachment -> AssessedAttachment: inspection, form detection, classification, naming. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.documents.classify import classify
from mailbot.documents.inspect import inspect_document
from mailbot.documents.naming import check_name
from mailbot.documents.forms import CONSENT_FIELDS, fields_from_acroform, looks_like_consent_form, looks_like_request_form
from mailbot.parse import Attachment
from mailbot.rulebook.models import Rulebook


@dataclass(frozen=True)
class AssessedAttachment:
    """One attachment after inspection, classification and the naming check."""

    filename: str
    sha256: str
    size: int
    kind: str
    pages: int
    has_text: bool
    problem: str | None          # inspection problem (not_pdf, encrypted, broken, empty, too_large)
    doc_types: tuple[str, ...]
    name_ok: bool
    name_reason: str | None
    suggestion: str | None
    form_fields: dict[str, str]  # request-form fields read from its AcroForm
    consent_fields: dict[str, str]
    detail: str = ""
    duplicate: bool = False      # the case already has this exact file
    active_content: tuple[str, ...] = ()  # a warning for the staff, not a problem: still usable
    inside: tuple[str, ...] = ()  # the containers it came out of, innermost first ("records.zip",)

    @property
    def usable(self) -> bool:
        return self.problem is None and self.name_ok and not self.duplicate


def assess(att: Attachment, rulebook: Rulebook, *, max_bytes: int, known_hashes: frozenset[str]) -> AssessedAttachment:
    digest = att.sha256
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
        active_content=ins.active_content, inside=att.inside,
    )


def assess_container(att: Attachment, kind: str, problem: str, detail: str) -> AssessedAttachment:
    """A container (ZIP, TNEF, .msg) shown as itself: it could not be unpacked (`problem` says
    why), or nothing inside it could be used ("container_unusable")."""
    return AssessedAttachment(
        filename=att.filename, sha256=att.sha256, size=len(att.data), kind=kind, pages=0, has_text=False,
        problem=problem, doc_types=(), name_ok=True, name_reason=None, suggestion=None, form_fields={},
        consent_fields={}, detail=detail, inside=att.inside)
