"""Golden messages: the text of every message mailbot can send, rendered for one fixed case in
every language that has templates, kept in tests/golden/messages/ so that a wording change is a
visible diff (tests/test_golden_messages.py compares).

    python tests/golden.py --record      # rewrite tests/golden/messages/ after a wording change

The messages are found from the packaged templates (`<audience>/<purpose>.<lang>.txt.j2`), so a
new template needs no change here unless it uses a name the fixed case does not have yet: then
add that name to `fixed_case` (the value a real case would give it) and record. A template whose
wording depends on one value (the admin notice's `kind`) has one golden file per `VARIANTS` entry.
"""

from __future__ import annotations

import email
import re
import sys
from datetime import datetime, timezone
from email import policy
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from jinja2 import UndefinedError

from mailbot.replies.check import SUFFIX, sendable_messages
from mailbot.replies.render import Renderer
from mailbot.resources import default_rules_dir, templates_dir
from mailbot.rulebook.load import load_rulebook
from mailbot.workflow.model import ReplySpec

GOLDEN = Path(__file__).resolve().parent / "golden" / "messages"
REF = "SO-2026-00042"
OFFICE_NAME, OFFICE_ADDRESS = "IEO Second Opinion", "second.opinion@hospital.example.org"
DATE = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

def admin_kinds() -> tuple[str, ...]:
    """Every kind of admin notice the packaged template words: those it tests (`kind == "..."`) and
    those its subject names, so a kind added to the template gets its golden file without a list."""
    source = "".join(p.read_text(encoding="utf-8") for p in (templates_dir() / "admin").glob("notice.*" + SUFFIX))
    subject_keys = re.findall(r'"(\w+)": "', source.split("\n", 1)[0])
    return tuple(sorted(set(re.findall(r'kind == "(\w+)"', source)) | set(subject_keys)))


ADMIN_KINDS = admin_kinds()

# purpose -> (variant name, what it changes in the fixed case); one golden file per variant
VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "admin/notice": [(k, {"kind": k}) for k in ADMIN_KINDS]
    + [("payment_mismatch_cli", {"kind": "payment_mismatch", "sender": "", "role": "admin"})],
    "requestor/more_documents_requested": [("triage", {"asked_by": "triage"}),
                                           ("specialist", {"asked_by": "specialist"})],
    "staff/command_not_understood": [("approve", {"verb": "APPROVE", "line": "APPROVE a b c"}),
                                     ("decline", {"verb": "DECLINE", "line": "DECLINE not mine",
                                                  "usage": "DECLINE: <reason>"})],
    "specialist/extra_answer": [("yes", {"accepted": True}), ("no", {"accepted": False})],
    "requestor/extra_answer_noted": [("yes", {"accepted": True}), ("no", {"accepted": False})],
    "staff/confirm_command": [("approve", {"verb": "APPROVE"}),
                              ("report", {"verb": "REPORT", "line": "", "files": ["report_so-2026-00042.pdf"]})],
    "requestor/condition_not_offered": [
        ("elsewhere", {"not_offered": {"hospital": "IEO Milano", "hospitals": [
            {"id": "roma", "name": "IEO Roma", "address": "second.opinion.roma@hospital.example.org"}]}}),
        ("nowhere", {"not_offered": {"hospital": "IEO Milano", "hospitals": []}})],
    # what the secretariat receives: the names of the files attached (not the per-file notes)
    "secretariat/treatment_request": [("", {"files": ["report_so-2026-00042.pdf"]})],
    "secretariat/follow_up": [("", {"files": ["ct_report_2026-11-25.pdf"]})],
    "requestor/additional_offer": [("", {}), ("treatment_forwarded", {"treatment_forwarded": True}),
                                   ("question_missing", {"question_missing": True})],
    "requestor/treatment_reply": [("", {}), ("held", {"held": ["scan.jpg"]})],
    "staff/not_assigned": [("command", {"report": False}), ("report", {"report": True})],
}


@lru_cache(maxsize=None)
def _rulebook():
    return load_rulebook(default_rules_dir())


def fixed_case(language: str) -> dict[str, Any]:
    """One breast-cancer case, SO-2026-00042, as the workflow gives it to a template in `language`
    (titles from the default rule files)."""
    rules = _rulebook()
    title = lambda doc_id: rules.title(doc_id, language)  # noqa: E731
    condition = rules.conditions["breast_cancer"]
    docs = [("histology_report", "histology_report_2026-03-02.pdf"),
            ("mammography_report", "mammography_report_2026-02-20.pdf"),
            ("oncologist_report", "oncologist_report_2026-03-10.pdf")]
    return {
        "office_name": OFFICE_NAME, "office_address": OFFICE_ADDRESS,
        "patient_name": "Maria Rossi", "patient_birth_date": "1968-05-14", "requestor_name": "Maria Rossi",
        "requestor_role": "patient", "requestor_email": "maria.rossi@patient.example.net",
        "referring_physician_code": "", "condition": condition.title.get(language),
        "consultation_type": "oncological", "clinical_question": "Neoadjuvant chemotherapy or surgery first?",
        "delivery": "courier", "share_with_referring_physician": "no", "triage_note": "",
        "state": "with_specialist", "previous_state": "awaiting_payment",
        "consultation_types": list(condition.consultation_types), "specialties": list(condition.specialties),
        "triage_days": 2, "report_days": 5, "due_date": "2026-11-30", "delete_on": "2027-02-21",
        "doctor_name": "Dr Giulia Romano",
        "documents": [{"filename": f, "types": [title(d)], "title": title(d), "active_content": []}
                      for d, f in docs]
        + [{"filename": "pet_ct_2026-03-01.pdf", "types": [title("pet_ct_report")], "title": title("pet_ct_report"),
            "active_content": ["JavaScript"]}],
        "case_documents": [{"filename": f, "title": title(d)} for d, f in docs],
        "documents_list": [f for _, f in docs],
        "unusable": [{"filename": "scan0001.jpg", "problem": "not_pdf (jpeg)"}],
        "unreadable_parts": [],
        "update_of": "",
        "received": [{"filename": docs[0][1], "types": [title(docs[0][0])]}],
        "missing": [{"id": "oncologist_report", "title": title("oncologist_report"), "description": "",
                     "note": ""}],
        "any_of": [{"options": [{"id": i, "title": title(i)} for i in condition.any_of[0]],
                    "note": condition.notes["mammography_report"].get(language)}],
        "form_problems": [{"field": "patient_birth_date", "problem": "invalid"}],
        "unknown_condition": None, "consent_missing": False, "consent_mismatch": False,
        "request_form_missing": False, "triage_missing": [],
        "files": [{"filename": "scan0001.pdf", "code": "file_badly_named", "suggestion": "ct_report_2026-01-15.pdf",
                   "types": [title("ct_report")]},
                  {"filename": "photo.jpg", "code": "file_problem", "problem": "not_pdf", "kind": "jpeg"}],
        "routed_by": "reference",
        "known_conditions": [c.title.get(language) for c in rules.conditions.values()],
        "amount": "518.00", "currency": rules.pricing.currency, "expected": "518.00",
        "lines": [{"item": "base", "amount": "500.00"}, {"item": "courier", "amount": "18.00"}],
        "beneficiary": "Example Hospital", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX",
        "payment_differs": False,
        "extras": [e.title.get(language) for e in rules.pricing.extras.values()],
        "what": "Histological review of the slides: the grade is borderline.",
        "item_title": rules.pricing.extras["histological_review"].title.get(language),
        "price": "300.00", "accepted": True,
        "reason": "The question concerns a condition our specialists do not treat.",
        "items": ["PET-CT report", "Genetic test (BRCA1/2)"], "asked_by": "triage",
        "asked": ["PET-CT report"], "active_files": [],
        "line": "APPROVE oncological breast_surgery", "usage": "APPROVE [consultation type] [specialty]",
        "verb": "APPROVE",
        "sender": "francesca.rinaldi@example.org", "role": "triage",
        # admin notices
        "kind": "payment_mismatch", "specialist": "giulia.romano@example.org", "declined_by": "",
        "mailbox": OFFICE_ADDRESS, "services": "IMAP + SMTP", "provider": "microsoft",
        "outbox_id": 17, "purpose": "requestor/payment_request", "error": "550 5.1.1 mailbox unavailable",
        "count": 2, "minutes": 180, "more": 0,
        "messages": [{"outbox_id": 17, "case_ref": REF, "purpose": "requestor/payment_request",
                      "created": "2026-11-23 09:00"},
                     {"outbox_id": 18, "case_ref": REF, "purpose": "specialist/new_case",
                      "created": "2026-11-23 09:05"}],
        # a command waiting for its confirmation, and a report from a specialist not on the case
        "asked_by": "maria.rossi@patient.example.net", "expires": "2026-11-30 09:00",
        "report": False,
        # the admins' daily digest and the rules reload notice
        "date": "2026-11-23", "since": "2026-11-22 08:00", "new_cases": [REF, "SO-2026-00043"],
        "by_state": [{"state": "awaiting_documents", "count": 3}, {"state": "with_specialist", "count": 1}],
        "open_total": 4,
        "overdue": [{"case": "SO-2026-00031", "kind": "triage", "due": "2026-11-20"}],
        "due_today": [{"case": REF, "kind": "report", "due": "2026-11-23"}],
        "failed": [{"outbox_id": 17, "case": REF, "purpose": "requestor/payment_request"}],
        "queued": 1, "quarantine": 1, "quarantined_new": 0, "undelivered": 1,
        "rules_dir": "/etc/mailbot/rules", "version": "3f2a9c1e",
        "problems": ["conditions.toml:12: breast_cancer.required: unknown document type 'histology_reprot'"],
        # after the report: the treatment path through the specialist's secretariat, an additional opinion
        "treatment_forwarded": False, "question_missing": False, "first_ref": "SO-2026-00017",
        "question": "Is radiotherapy still needed after the surgery?", "specialist_name": "Dr Giulia Romano",
        "report_date": "2026-11-20", "held": [], "incomplete_days": 90, "accepted_languages": ["en", "it"],
        "message": "We would like to start the treatment at your hospital. Whom should we contact?",
    }


# what some kinds of admin notice really carry (the rest of the fixed case as it is)
_KIND_VALUES: dict[str, dict[str, Any]] = {
    "payment_mismatch": {"amount": "480.00", "expected": "518.00", "sender": "laura.fontana@example.org",
                         "role": "admin", "state": "with_specialist"},
    "no_specialist": {"declined_by": "giulia.romano@example.org", "sender": "giulia.romano@example.org",
                      "role": "specialist"},
    "courier_delivery": {"sender": "elena.ferrari@example.org", "role": "specialist", "state": "report_sent"},
    "report_no_recipient": {"sender": "elena.ferrari@example.org", "role": "specialist", "state": "report_sent"},
    "command_wrong_state": {"sender": "laura.fontana@example.org", "role": "admin", "line": "PAID",
                            "state": "in_triage"},
    "command_not_allowed": {"sender": "maria.rossi@patient.example.net", "role": "requestor", "line": "PAID 500"},
    "triage_overdue": {"state": "in_triage"},
    # after the report: the reported case stays closed
    "treatment_no_secretariat": {"sender": "maria.rossi@patient.example.net", "role": "requestor",
                                 "state": "report_sent", "specialist": "giulia.romano@example.org"},
    "treatment_reply_files_held": {"sender": "segreteria.romano@example.org", "role": "secretariat",
                                   "state": "report_sent", "files": "scan.jpg"},
    # our mail came back: the address, its role on the case, what the receiving server said
    "address_bounced": {"address": "maria.rossi@patient.example.net", "address_role": "requestor",
                        "purpose": "requestor/payment_request", "status": "5.1.1",
                        "diagnostic": "550 5.1.1 user unknown", "policy": False},
    "staff_address_bounced": {"address": "giulia.romano@example.org", "address_role": "specialist",
                              "purpose": "specialist/new_case", "status": "5.1.1",
                              "diagnostic": "550 5.1.1 user unknown", "policy": False},
    "address_corrected": {"address_role": "requestor", "old": "maria.rossi@patient.example.net",
                          "new": "maria.rossi@patient.example.com", "resent": "requestor/payment_request"},
    # about the mailbox or the outbox, not a case: sent without a case ref
    **dict.fromkeys(("login_revoked", "login_client_refused", "delivery_failed", "delivery_delayed"),
                    {"case_ref": ""}),
}


# messages about the office, sent without a case ref
NOT_ABOUT_A_CASE = ("admin/digest", "admin/rules_invalid")


def languages(folder: Path | None = None) -> list[str]:
    """Every language some template is written in (the packaged ones by default)."""
    names = (p.name[: -len(SUFFIX)] for p in (folder or templates_dir()).rglob("*" + SUFFIX))
    return sorted({n.rsplit(".", 1)[1] for n in names if "." in n})


def messages(folder: Path | None = None) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(purpose, variant, language, context) for every message and language, variants expanded."""
    folder = folder or templates_dir()
    for purpose in sendable_messages(folder):
        for language in languages(folder):
            if not (folder / f"{purpose}.{language}{SUFFIX}").is_file():
                continue
            for variant, change in VARIANTS.get(purpose, [("", {})]):
                context = {**fixed_case(language), **change}
                if purpose in NOT_ABOUT_A_CASE:
                    context["case_ref"] = ""
                if purpose == "admin/notice":
                    context.update(_KIND_VALUES.get(context["kind"], {}))
                    context.update({k: v for k, v in change.items() if k != "kind"})
                yield purpose, variant, language, context


def golden_path(purpose: str, variant: str, language: str) -> Path:
    return GOLDEN / f"{purpose}{'.' + variant if variant else ''}.{language}.txt"


def renderer() -> Renderer:
    return Renderer(templates_dir(), office_name=OFFICE_NAME, office_address=OFFICE_ADDRESS)


@lru_cache(maxsize=None)
def _shared() -> Renderer:
    return renderer()


def raw_message(purpose: str, language: str, context: dict[str, Any], renderer: Renderer | None = None) -> bytes:
    """The bytes mailbot would send, for one purpose, language and context."""
    spec = ReplySpec(purpose, ("someone@example.net",), language, context)
    return (renderer or _shared()).render(spec, case_ref=context.get("case_ref", REF), message_id="<golden@example.org>",
                                                        date=DATE).raw


def rendered(purpose: str, language: str, context: dict[str, Any], renderer: Renderer | None = None):
    """The message as a mail client reads it (parsed back from its bytes)."""
    return email.message_from_bytes(raw_message(purpose, language, context, renderer), policy=policy.default)


def text_of(purpose: str, language: str, context: dict[str, Any], renderer: Renderer | None = None) -> str:
    """What the golden file holds: the subject as a reader sees it, a blank line, the text part."""
    try:
        parsed = rendered(purpose, language, context, renderer)
    except UndefinedError as exc:
        raise AssertionError(f"{purpose}.{language}: {exc.message}: give it a value in fixed_case() in "
                             "tests/golden.py (what a real case would carry), then record") from None
    body = parsed.get_body(("plain",)).get_content()
    return f"Subject: {parsed['Subject']}\n\n{body}"


def record() -> list[Path]:
    """Rewrite every golden file; remove those of messages that no longer exist."""
    shared = renderer()
    written = []
    for purpose, variant, language, context in messages():
        path = golden_path(purpose, variant, language)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text_of(purpose, language, context, shared), encoding="utf-8")
        written.append(path)
    for stale in set(GOLDEN.rglob("*.txt")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/golden.py --record   (rewrites tests/golden/messages/)")
    print(f"{len(record())} golden messages written to {GOLDEN}")
