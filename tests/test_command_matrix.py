"""Every command, from every role, in every case state, with and without proof of its sender,
through the real pipeline on SQLite and PostgreSQL: acted on only where the product spec says; a
refused command leaves the case row, its findings, deadlines, payments and documents exactly as
they were, and is shown to the admins. Without proof (a fresh email with the ref in the subject)
an allowed command changes nothing either: the address on record for that role is asked to
confirm it, and the command acts when that request is answered with CONFIRM.

The oracle below is written from the SPEC, not read from the code under test.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from mailbot.app import build_app
from mailbot.clock import FixedClock
from mailbot.config import load_config
from mailbot.resources import default_rules_dir
from mailbot.store.models import Case, CaseCounter, Document, Event, InboundMessage, OutboxMessage, Payment, Reminder
from pdf_factory import text_pdf

NOW = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
OFFICE = "second.opinion@hospital.example.org"
RULES = default_rules_dir()

# -- the SPEC, written out -------------------------------------------------------------------------
OPEN = ("awaiting_documents", "in_triage", "awaiting_payment", "with_specialist")
STATES = (*OPEN, "report_sent", "rejected", "cancelled", "expired")
SENDERS = {"triage": "francesca.rinaldi@example.org", "admin": "laura.fontana@example.org",
           "specialist": "giulia.romano@example.org",          # the case's own specialist once assigned
           "other_specialist": "elena.ferrari@example.org",   # a specialist, but not this case's
           "requestor": "maria@example.net", "patient": "maria.patient@example.net"}
PARTIES = ("requestor", "patient")
LINES = {"APPROVE": "APPROVE", "MISSING": "MISSING: PET-CT", "REJECT": "REJECT: out of scope", "PAID": "PAID",
         "DECLINE": "DECLINE: on leave", "CONSULT": "CONSULT: histological review", "CANCEL": "CANCEL",
         "YES": "YES", "NO": "NO", "REPORT": "Please find my report attached.", "TREATMENT": "TREATMENT",
         "ADDITIONAL": "ADDITIONAL\nIs radiotherapy still needed after the surgery?",
         "EMAIL": "EMAIL patient maria.right@example.net"}
QUESTION = "Is radiotherapy still needed after the surgery?"   # ADDITIONAL's question, below its line
# The spec: who may give each command, in which state it makes sense, and where it leads
RULE = {
    ("APPROVE", "triage"): (("in_triage",), "awaiting_payment"),
    ("MISSING", "triage"): (("in_triage",), "awaiting_documents"),
    ("REJECT", "triage"): (("in_triage",), "rejected"),
    ("PAID", "admin"): (("awaiting_payment",), "with_specialist"),
    ("DECLINE", "specialist"): (("with_specialist",), "with_specialist"),
    ("CONSULT", "specialist"): (("with_specialist",), "with_specialist"),
    ("MISSING", "specialist"): (("with_specialist",), "with_specialist"),
    ("REPORT", "specialist"): (("with_specialist",), "report_sent"),
    **{("CANCEL", party): (OPEN, "cancelled") for party in PARTIES},
    **{(answer, party): (("with_specialist",), "with_specialist") for answer in ("YES", "NO") for party in PARTIES},
    # after the report: the reported case stays closed; ADDITIONAL opens a linked case in triage
    **{("TREATMENT", party): (("report_sent",), "report_sent") for party in PARTIES},
    **{("ADDITIONAL", party): (("report_sent",), "report_sent") for party in PARTIES},
    ("EMAIL", "admin"): (STATES, None),   # a corrected address, in any state; the case stays where it is
}
OPENS_LINKED_CASE = "ADDITIONAL"
STAFF_ONLY = ("APPROVE", "MISSING", "REJECT", "PAID", "DECLINE", "CONSULT", "EMAIL")


def expected(verb: str, role: str, state: str, proof: bool) -> tuple[str, str | None]:
    """("acted", next state) | ("confirm", next state once confirmed) | ("refused", None) |
    ("mail", None): a patient's "APPROVE" is just words."""
    if role in PARTIES and verb in STAFF_ONLY:
        return "mail", None
    rule = RULE.get((verb, role))
    if rule is None or state not in rule[0]:
        return "refused", None
    return ("acted" if proof else "confirm"), rule[1] or state


def combinations():
    for proof in (True, False):
        for state in STATES:
            for role in SENDERS:
                for verb in LINES:
                    if verb == "REPORT" and role not in ("specialist", "other_specialist"):
                        continue   # a report is a specialist's PDF; anyone else's PDF is just a document
                    yield verb, role, state, proof


# -- the office ----------------------------------------------------------------------------------

def make_app(tmp_path: Path, db_url: str):
    config = tmp_path / "config.toml"
    config.write_text(f"""
[office]
address = "{OFFICE}"
max_replies_per_address_per_day = 100000   # every case here has the same requestor; the cap is tested elsewhere
[maildir]
path = "{tmp_path}/mail"
[outbox]
dir = "{tmp_path}/out"
[database]
url = "{db_url}"
[storage]
dir = "{tmp_path}/docs"
[rules]
dir = "{RULES}"
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
""", encoding="utf-8")
    return build_app(load_config(config), clock=FixedClock(NOW))


SEED_DOCUMENTS = [("histology_report_2026-03-02.pdf", text_pdf("Histology report\nInvasive ductal carcinoma.")),
                  ("mammography_report_2026-02-20.pdf", text_pdf("Mammography report\nBI-RADS 5."))]


def seed_cases(app, states: list[str]) -> list[str]:
    """One case per entry, in that state, with open findings, deadlines, a payment, two documents."""
    refs = []
    with app.sessions() as s:
        digests = [(name, app.files.put(data), len(data)) for name, data in SEED_DOCUMENTS]
        for n, state in enumerate(states, start=1):
            refs.append(f"SO-2026-{n:05d}")
            seed_case(s, refs[-1], state, digests)
        s.add(CaseCounter(year=NOW.year, last=len(states)))   # a case a command opens gets the next ref
        s.commit()
    return refs


def our_mail_to(s, ref: str, address: str) -> str:
    """A message the office sent to `address` about case `ref`: a reply to it proves the sender."""
    case = s.execute(select(Case).where(Case.ref == ref)).scalar_one()
    message_id = f"<{ref}.{secrets.token_urlsafe(16)}@hospital.example.org>"
    s.add(OutboxMessage(case_id=case.id, message_id=message_id, purpose="seed/earlier_mail", sender=OFFICE,
                        recipients=[address], subject=f"[{ref}] earlier", raw=b"", status="sent",
                        next_attempt_at=NOW, created_at=NOW - timedelta(days=3)))
    return message_id


def seed_case(s, ref: str, state: str, digests) -> None:
    assigned = state in ("with_specialist", "report_sent")
    case = Case(ref=ref, state=state, language="en", requestor_email=SENDERS["requestor"],
                condition_id="breast_cancer", opened_at=NOW - timedelta(days=10), updated_at=NOW - timedelta(days=1),
                form={"patient_name": "Maria Rossi", "patient_email": SENDERS["patient"],
                      "requestor_role": "patient", "condition": "breast cancer", "delivery": "email"},
                consent={}, triage={"approved_by": SENDERS["triage"], "specialty": "breast_surgery"},
                findings=[{"code": "document_missing", "subject": "histology_report", "detail": {}},
                          {"code": "consent_missing", "subject": "", "detail": {}}],
                completed_at=NOW - timedelta(days=5), report_due_at=NOW + timedelta(days=3),
                amount_due="500.00", specialist_email=SENDERS["specialist"] if assigned else None,
                pending_extra={"what": "review", "item": "histological_review", "price": "300.00",
                               "specialist": SENDERS["specialist"]})
    s.add(case)
    s.flush()
    inbound = InboundMessage(dedup_key=f"seed:{ref}", case_id=case.id, raw_sha256="0" * 64, received_at=NOW,
                             disposition="filed")
    s.add(inbound)
    s.flush()
    for name, digest, size in digests:
        s.add(Document(case_id=case.id, inbound_id=inbound.id, filename=name, sha256=digest, size=size,
                       kind="pdf", doc_types=["histology_report"], received_at=NOW))
    s.add(Payment(case_id=case.id, amount="500.00", expected="500.00", recorded_by="cli", at=NOW))
    s.add(Reminder(case_id=case.id, key="documents:7", at=NOW))


def case_states(app) -> dict[str, dict]:
    """Everything a refused command must leave alone, for every case, by ref."""
    out = {}
    with app.sessions() as s:
        payments, reminders, alerts, mail = {}, {}, {}, {}
        for p in s.execute(select(Payment)).scalars():
            payments.setdefault(p.case_id, []).append((p.amount, p.expected))
        for r in s.execute(select(Reminder)).scalars():
            reminders.setdefault(r.case_id, []).append(r.key)
        for e in s.execute(select(Event).where(Event.kind == "admin_alert")).scalars():
            alerts.setdefault(e.case_id, []).append(e.detail)
        for m in s.execute(select(OutboxMessage)).scalars():
            mail.setdefault(m.case_id, []).append(m.purpose)
        for case in s.execute(select(Case)).scalars():
            row = {c.key: getattr(case, c.key) for c in Case.__table__.columns}
            row["documents"] = sorted((d.sha256, d.filename, d.problem) for d in case.documents)
            row["payments"] = sorted(payments.get(case.id, []))
            row["reminders"] = sorted(reminders.get(case.id, []))
            out[case.ref] = (row, alerts.get(case.id, []), mail.get(case.id, []))
    return out


def command_mail(n: int, verb: str, role: str, ref: str, in_reply_to: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = SENDERS[role]
    msg["To"] = OFFICE
    msg["Subject"] = f"Re: [{ref}] your case"
    msg["Message-ID"] = f"<matrix-{n}@example.net>"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(LINES[verb] + "\n\nRegards")
    if verb == "REPORT":
        msg.add_attachment(text_pdf(f"Second opinion report {n}\nDiagnosis confirmed."), maintype="application",
                           subtype="pdf", filename=f"second_opinion_report_{n}.pdf")
    return bytes(msg)


def linked_case(app, ref: str | None) -> tuple[str | None, str, str] | None:
    """(the case it follows, its state, its clinical question) for a case opened by a command."""
    with app.sessions() as s:
        case = s.execute(select(Case).where(Case.ref == ref)).scalar_one_or_none() if ref else None
        return (case.additional_of, case.state, case.form.get("clinical_question", "")) if case is not None else None


def confirm_mail(n: int, role: str, request: OutboxMessage) -> bytes:
    msg = EmailMessage()
    msg["From"] = SENDERS[role]
    msg["To"] = OFFICE
    msg["Subject"] = f"Re: {request.subject}"
    msg["Message-ID"] = f"<matrix-confirm-{n}@example.net>"
    msg["In-Reply-To"] = msg["References"] = request.message_id
    msg.set_content("CONFIRM\n\n> Please confirm")
    return bytes(msg)


def opened_as_expected(app, outcome, ref: str, first_state: str) -> bool:
    """ADDITIONAL acted: a new case linked to `ref`, in triage, with the question; `ref` stays reported."""
    opened = linked_case(app, outcome.case_ref)
    return outcome.case_ref != ref and first_state == "report_sent" and opened is not None \
        and opened[:2] == (ref, "in_triage") and QUESTION in opened[2]


def judge(verb, role, state, proof, outcome, ref, before, after, app) -> list[str]:
    what, next_state = expected(verb, role, state, proof)
    (old, _, _), (new, alerts, purposes) = before[ref], after[ref]
    label = f"{verb} from {role} in {state} {'with' if proof else 'without'} proof"
    changed = sorted(k for k in old if old[k] != new[k])
    if what == "acted" and verb == OPENS_LINKED_CASE:
        opened = linked_case(app, outcome.case_ref)
        return [] if opened_as_expected(app, outcome, ref, new["state"]) else \
            [f"{label}: opened {outcome.case_ref} {opened}, first case {new['state']}"]
    if outcome.disposition != "filed" or outcome.case_ref != ref:
        return [f"{label}: {outcome.disposition} on {outcome.case_ref}"]
    if what == "acted" and new["state"] != next_state:
        return [f"{label}: state {new['state']}, expected {next_state}"]
    wrong = []
    if what == "acted" and verb == "EMAIL":
        wrong += email_corrected(label, old, new)
    if what == "refused":
        if changed:
            wrong.append(f"{label}: refused, but changed {changed}")
        if not alerts or "admin/notice" not in purposes:
            wrong.append(f"{label}: refused without telling the admins")
        if any(p.startswith("requestor/") for p in purposes):
            wrong.append(f"{label}: refused, yet the requestor was written to")
    if what == "confirm":
        asked = [p for p in purposes if p.endswith("/confirm_command")]
        if changed:
            wrong.append(f"{label}: acted without proof, changed {changed}")
        if len(asked) != 1 or len(purposes) != 1:
            wrong.append(f"{label}: expected one request to confirm, sent {purposes}")
    if what == "mail" and (outcome.decision.command or alerts):
        wrong.append(f"{label}: a patient's words were taken as a command ({outcome.decision.command})")
    return wrong


def email_corrected(label: str, old: dict, new: dict) -> list[str]:
    """EMAIL patient ADDRESS: the patient's address is the new one, the requestor's is untouched."""
    if new["form"].get("patient_email") != "maria.right@example.net" or new["requestor_email"] != old["requestor_email"]:
        return [f"{label}: the patient's address was not the one corrected"]
    return []


def requests_to_confirm(app) -> dict[str, OutboxMessage]:
    with app.sessions() as s:
        rows = s.execute(select(OutboxMessage, Case.ref).join(Case, Case.id == OutboxMessage.case_id)
                         .where(OutboxMessage.purpose.like("%/confirm_command"))).all()
        for row, _ref in rows:
            s.expunge(row)
        return {ref: row for row, ref in rows}


def test_every_command_role_and_state_with_and_without_proof(tmp_path, db_url):
    app = make_app(tmp_path, db_url)
    matrix = list(combinations())
    refs = seed_cases(app, [state for _verb, _role, state, _proof in matrix])
    with app.sessions() as s:
        earlier = {ref: our_mail_to(s, ref, SENDERS[role]) for (_v, role, _s, proof), ref in zip(matrix, refs) if proof}
        s.commit()
    before = case_states(app)
    outcomes = [app.intake.process(command_mail(n, verb, role, ref, earlier.get(ref, "")))
                for n, ((verb, role, _state, _proof), ref) in enumerate(zip(matrix, refs), start=1)]
    after = case_states(app)
    wrong: list[str] = []
    seen = {"acted": 0, "confirm": 0, "refused": 0, "mail": 0}
    for (verb, role, state, proof), ref, outcome in zip(matrix, refs, outcomes):
        seen[expected(verb, role, state, proof)[0]] += 1
        wrong += judge(verb, role, state, proof, outcome, ref, before, after, app)
    # 13 verbs from 6 senders (REPORT from the two specialists only: 12 * 6 + 2 = 74 per state), 8 states,
    # with and without proof: 1184. Per proof, RULE allows 3 triage + 1 admin PAID + 4 specialist + 8 CANCEL
    # + 4 YES/NO + 2 TREATMENT + 2 ADDITIONAL + 8 EMAIL (any state) = 32; the parties' 7 staff words
    # per state are mail (2 * 7 * 8 * 2 = 224); the rest is refused
    assert seen == {"acted": 32, "confirm": 32, "refused": 1184 - 64 - 224, "mail": 224}, seen
    assert not wrong, f"{len(wrong)} wrong:\n" + "\n".join(wrong[:40])

    # the address on record answers each request with CONFIRM: the command acts then
    requests = requests_to_confirm(app)
    waiting = [(c, ref) for c, ref in zip(matrix, refs) if expected(*c)[0] == "confirm"]
    for n, ((verb, role, state, _proof), ref) in enumerate(waiting, start=1):
        request = requests[ref]
        assert request.recipients == [SENDERS[role]], (verb, role, request.recipients)
        outcome = app.intake.process(confirm_mail(n, role, request))
        if outcome.decision.command != verb:
            wrong.append(f"{verb} from {role} in {state}: confirmed, but {outcome.decision.command!r}")
        if verb == OPENS_LINKED_CASE and not opened_as_expected(app, outcome, ref, state):
            wrong.append(f"{verb} from {role} in {state}: confirmed, opened {linked_case(app, outcome.case_ref)}")
    confirmed = case_states(app)
    for (verb, role, state, _proof), ref in waiting:
        if confirmed[ref][0]["state"] != expected(verb, role, state, True)[1]:
            wrong.append(f"{verb} from {role} in {state}: confirmed, state {confirmed[ref][0]['state']}")
        if verb == "REPORT" and "requestor/report" not in confirmed[ref][2]:
            wrong.append(f"REPORT from {role} in {state}: confirmed, but no report sent")
        if verb == "TREATMENT" and not {"secretariat/treatment_request", "requestor/treatment_forwarded"} \
                <= set(confirmed[ref][2]):
            wrong.append(f"TREATMENT from {role} in {state}: confirmed, but not forwarded ({confirmed[ref][2]})")
        if verb == "EMAIL":
            wrong += email_corrected(f"EMAIL from {role} in {state}: confirmed", before[ref][0], confirmed[ref][0])
    assert not wrong, f"{len(wrong)} wrong:\n" + "\n".join(wrong[:40])
