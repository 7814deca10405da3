"""Reminder and alert keys -> messages (ReplySpecs). Pure; the wording lives in templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailbot.rulebook.models import Rulebook
from mailbot.workflow.model import CaseView, ReplySpec
from mailbot.workflow.context import admin_notices, case_context, find_staff, staff_language


def missing_titles(findings: list[dict[str, Any]], rulebook: Rulebook, language: str) -> list[str]:
    titles = []
    for f in findings:
        if f["code"] == "document_missing":
            titles.append(rulebook.title(f["subject"], language))
        elif f["code"] == "document_any_of_missing":
            titles.append(" / ".join(rulebook.title(i, language) for i in f["detail"]["options"]))
        elif f["code"] in ("consent_missing", "consent_mismatch"):
            titles.append(rulebook.title("consent_form", language))
        elif f["code"] in ("request_form_missing", "form_field_missing", "form_field_invalid", "condition_unknown"):
            title = rulebook.title("request_form", language)
            if title not in titles:
                titles.append(title)
    return titles


def reminder_specs(key: str, case: CaseView, findings: list[dict[str, Any]], rulebook: Rulebook, office,
                   *, due: datetime | None, delete_on: str = "", amount: str = "") -> list[ReplySpec]:
    lang = case.language
    ctx = {**case_context(case, rulebook, lang, office.name), "due_date": due.date().isoformat() if due else ""}
    requestor = (case.requestor_email,)
    key = key.split("@", 1)[0]      # deadline keys carry their due date
    series, _, days = key.partition(":")
    if series == "documents" and any(f["code"] == "condition_not_offered" for f in findings):
        return []   # told which hospitals offer it; nothing to remind of
    if series == "documents":
        return [ReplySpec("requestor/reminder_documents", requestor, lang,
                          {**ctx, "days": days, "delete_on": delete_on,
                           "missing": missing_titles(findings, rulebook, lang)})]
    if key == "deletion_warning":
        return [ReplySpec("requestor/deletion_warning", requestor, lang,
                          {**ctx, "delete_on": delete_on, "missing": missing_titles(findings, rulebook, lang)})]
    if series == "payment":
        p = office.payment
        return [ReplySpec("requestor/reminder_payment", requestor, lang,
                          {**ctx, "amount": amount, "currency": rulebook.pricing.currency, "days": days,
                           "beneficiary": p["beneficiary"], "iban": p["iban"], "bic": p["bic"]})]
    if key == "triage_reminder":
        return [ReplySpec("triage/reminder", (str(d.email),), staff_language(d),
                          {**case_context(case, rulebook, staff_language(d), office.name), "doctor_name": d.name,
                           "due_date": ctx["due_date"]}, auto_submitted="auto-generated")
                for d in rulebook.staff.triage]
    if key == "report_reminder":
        member = find_staff(rulebook, case.specialist_email or "")
        if member is None:
            return []
        lang = staff_language(member)
        return [ReplySpec("specialist/reminder", (str(member.email),), lang,
                          {**case_context(case, rulebook, lang, office.name), "doctor_name": member.name,
                           "due_date": ctx["due_date"]}, auto_submitted="auto-generated")]
    if key in ("triage_overdue", "report_overdue"):
        specs = admin_notices(rulebook, key, {})
        return [ReplySpec(s.purpose, s.to, s.language,
                          {**case_context(case, rulebook, s.language, office.name), "kind": key,
                           "due_date": ctx["due_date"], "specialist": case.specialist_email or ""},
                          auto_submitted=s.auto_submitted) for s in specs]
    raise ValueError(f"unknown reminder key {key}")
