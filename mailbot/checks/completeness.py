"""Is the case complete? Requirements of the condition and of the administrative rules. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.checks.conditions import match_condition
from mailbot.checks.findings import Finding
from mailbot.documents.forms import form_problems
from mailbot.rulebook.models import fold
from mailbot.rulebook.models import Rulebook


@dataclass(frozen=True)
class DocumentFacts:
    """What completeness needs to know of one stored document."""

    filename: str
    doc_types: tuple[str, ...]
    usable: bool            # opens, is a PDF, and is acceptably named
    fields: tuple[tuple[str, str], ...] = ()


def provided_types(documents: list[DocumentFacts]) -> set[str]:
    """Each usable document counts as its best type only: a histology report that mentions the
    mammography must not also satisfy "a breast imaging report". Better to ask than to assume."""
    return {d.doc_types[0] for d in documents if d.usable and d.doc_types}


def check_completeness(
    *, form: dict[str, str], consent: dict[str, str], documents: list[DocumentFacts], rulebook: Rulebook
) -> tuple[str | None, list[Finding]]:
    """(condition id or None, requirement findings). No findings means complete."""
    findings: list[Finding] = []
    if not form:
        findings.append(Finding("request_form_missing", "request_form"))
    else:
        for field, problem in form_problems(form):
            code = "form_field_missing" if problem == "missing" else "form_field_invalid"
            findings.append(Finding(code, field, {"problem": problem}))

    condition_id = match_condition(form.get("condition", ""), rulebook) if form.get("condition") else None
    if form.get("condition") and condition_id is None:
        findings.append(Finding("condition_unknown", "condition", {
            "given": form["condition"], "known": sorted(rulebook.conditions)}))

    have = provided_types(documents)
    if condition_id is not None:
        cond = rulebook.conditions[condition_id]
        for doc_id in cond.required:
            if doc_id not in have:
                findings.append(Finding("document_missing", doc_id))
        for group in cond.any_of:
            if not have.intersection(group):
                findings.append(Finding("document_any_of_missing", "|".join(group), {"options": list(group)}))

    not_patient = form.get("requestor_role") in ("referring_physician", "family_member")
    for admin_id, admin in rulebook.administrative.items():
        if admin_id == "request_form" or admin.required_when == "never":
            continue
        if admin.required_when == "requestor_not_patient" and not not_patient:
            continue
        if admin_id == "consent_form":
            if not consent and "consent_form" not in have:
                findings.append(Finding("consent_missing", "consent_form"))
            elif consent and form.get("patient_name") and consent.get("patient_name") and \
                    fold(consent["patient_name"]) != fold(form["patient_name"]):
                findings.append(Finding("consent_mismatch", "consent_form"))
        elif admin_id not in have:
            findings.append(Finding("document_missing", admin_id))
    return condition_id, findings
