"""One attachment -> AssessedAttachment: inspection, form detection, classification, naming. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mailbot.documents.classify import classify
from mailbot.documents.inspect import inspect_document
from mailbot.documents.language import foreign_language
from mailbot.documents.inspect import inspect_document, sniff_kind
from mailbot.documents.photos import INLINE_OCR_PAGES, PHOTO_KINDS, Ocr, ocr_scan, photo_to_pdf
from mailbot.documents.naming import check_name
from mailbot.documents.forms import CONSENT_FIELDS, fields_from_acroform, looks_like_consent_form, looks_like_request_form
from mailbot.parse import Attachment, sha256
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
    language: str = ""           # the language its text is confidently written in, when not accepted
    inside: tuple[str, ...] = ()  # the containers it came out of, innermost first ("records.zip",)
    searchable_sha256: str | None = None  # a photo made into a PDF, or a scan with an OCR text layer:
                                          # what the staff receive (the original, `sha256`, is kept)
    ocr_queued: bool = False  # a scan too long to read now: the rest is read later (schedule/jobs.run_ocr_queue)

    @property
    def usable(self) -> bool:
        return self.problem is None and self.name_ok and not self.duplicate


def assess(att: Attachment, rulebook: Rulebook, *, max_bytes: int, known_hashes: frozenset[str],
           accepted_languages: tuple[str, ...] = ()) -> AssessedAttachment:
    """`accepted_languages`: a document confidently written in none of them is not usable
    (problem "foreign_language"); empty: the language is not judged."""
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
    language, detail = "", ins.detail
    if problem is None and accepted_languages and doc_types not in (("request_form",), ("consent_form",)):
        language = foreign_language(ins.text, accepted_languages) or ""
        if language:
            problem, detail = "foreign_language", "; ".join(filter(None, (detail, f"written in {language}")))
    name_ok, reason, suggestion = True, None, None
    if problem is None and doc_types not in (("request_form",), ("consent_form",)):
        verdict = check_name(att.filename, doc_types, ins.text, rulebook)
        name_ok, reason, suggestion = verdict.ok, verdict.reason, verdict.suggestion
    return AssessedAttachment(
        filename=att.filename, sha256=digest, size=len(att.data), kind=ins.kind, pages=ins.pages,
        has_text=ins.has_text, problem=problem, doc_types=tuple(doc_types), name_ok=name_ok,
        name_reason=reason, suggestion=suggestion, form_fields=form_fields,
        consent_fields=consent_fields, detail=detail, duplicate=digest in known_hashes,
        active_content=ins.active_content, language=language, inside=att.inside,
    )


def assess_container(att: Attachment, kind: str, problem: str, detail: str) -> AssessedAttachment:
    """A container (ZIP, TNEF, .msg) shown as itself: it could not be unpacked (`problem` says
    why), or nothing inside it could be used ("container_unusable")."""
    return AssessedAttachment(
        filename=att.filename, sha256=att.sha256, size=len(att.data), kind=kind, pages=0, has_text=False,
        problem=problem, doc_types=(), name_ok=True, name_reason=None, suggestion=None, form_fields={},
        consent_fields={}, detail=detail, inside=att.inside)


def assess_file(att: Attachment, rulebook: Rulebook, *, max_bytes: int, ocr: Ocr | None,
                accepted_languages: tuple[str, ...] = ()) -> tuple[AssessedAttachment, bytes | None]:
    """`assess`, and for a phone photo or a scan the PDF made of it (with its OCR text layer),
    whose text then counts for classification. Returns the assessment and that PDF (or None)."""
    kind = sniff_kind(att.data)
    if kind in PHOTO_KINDS and 0 < len(att.data) <= max_bytes:
        return _assess_photo(att, kind, rulebook, ocr)
    assessed = assess(att, rulebook, max_bytes=max_bytes, known_hashes=frozenset(),
                      accepted_languages=accepted_languages)
    if ocr is None or assessed.kind != "pdf" or assessed.problem is not None or assessed.has_text \
            or assessed.doc_types in (("request_form",), ("consent_form",)):
        return assessed, None
    scan = ocr_scan(att.data, assessed.pages, ocr)
    queued = assessed.pages > INLINE_OCR_PAGES   # the rest is read by the background job
    detail = "; ".join(d for d in (assessed.detail, scan.detail, "the whole scan queued for OCR" if queued else "") if d)
    if not scan.text:
        return replace(assessed, detail=detail, ocr_queued=queued), None
    doc_types = classify(att.filename, scan.text, rulebook)
    verdict = check_name(att.filename, doc_types, scan.text, rulebook)
    return replace(assessed, doc_types=tuple(doc_types), has_text=True, name_ok=verdict.ok, name_reason=verdict.reason,
                   suggestion=verdict.suggestion, detail=detail, ocr_queued=queued,
                   searchable_sha256=sha256(scan.pdf) if scan.pdf else None), scan.pdf


def _assess_photo(att: Attachment, kind: str, rulebook: Rulebook,
                  ocr: Ocr | None) -> tuple[AssessedAttachment, bytes | None]:
    """A photo of a document: made into a PDF and read. Its name is not held against it (the
    sender is thanked, not asked to resend): the staff get the PDF under the photo's name."""
    made = photo_to_pdf(att.data, ocr)
    if made.problem is not None or made.pdf is None:
        return assess_container(att, kind, made.problem or "broken", made.detail), None
    doc_types = classify(att.filename, made.text, rulebook)
    return AssessedAttachment(
        filename=att.filename, sha256=att.sha256, size=len(att.data), kind=kind, pages=1, has_text=bool(made.text),
        problem=None, doc_types=tuple(doc_types), name_ok=True, name_reason=None, suggestion=None, form_fields={},
        consent_fields={}, detail=made.detail, inside=att.inside, searchable_sha256=sha256(made.pdf)), made.pdf


def pdf_name(filename: str) -> str:
    """The name the staff see for a photo made into a PDF: the photo's, ending in .pdf."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return f"{stem or 'photo'}.pdf"
