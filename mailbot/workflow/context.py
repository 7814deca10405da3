"""Who is who on a case, and what a template may show about it. Pure."""

from __future__ import annotations

from typing import Any

from mailbot.documents.forms import requestor_name
from mailbot.rulebook.models import Rulebook, StaffMember
from mailbot.workflow.model import CaseView, ReplySpec

FALLBACK_LANGUAGE = "en"


def find_staff(rulebook: Rulebook, address: str) -> StaffMember | None:
    for member in (*rulebook.staff.triage, *rulebook.staff.specialists, *rulebook.staff.admins):
        if str(member.email).lower() == address.lower():
            return member
    return None


def staff_language(member: StaffMember | None) -> str:
    """The first language a staff member works in (staff.toml), else English."""
    return member.languages[0] if member and member.languages else FALLBACK_LANGUAGE


def admin_notices(rulebook: Rulebook, kind: str, context: dict[str, Any]) -> list[ReplySpec]:
    return [ReplySpec("admin/notice", (str(a.email),), staff_language(a), {**context, "kind": kind},
                      auto_submitted="auto-generated") for a in rulebook.staff.admins]


def case_context(case: CaseView, rulebook: Rulebook, language: str, office_name: str) -> dict[str, Any]:
    cond = rulebook.conditions.get(case.condition_id or "")
    form = case.form
    return {"office_name": office_name, "patient_name": form.get("patient_name", ""),
            "patient_birth_date": form.get("patient_birth_date", ""),
            "requestor_name": requestor_name(form),
            "requestor_role": form.get("requestor_role", ""),
            "condition": cond.title.get(language) if cond else form.get("condition", ""),
            "consultation_type": case.triage.get("consultation_type") or form.get("consultation_type", ""),
            "clinical_question": form.get("clinical_question", ""), "delivery": form.get("delivery", "email"),
            "triage_note": case.triage.get("note", ""), "state": case.state,
            "consultation_types": list(cond.consultation_types) if cond else [],
            "specialties": list(cond.specialties) if cond else []}
