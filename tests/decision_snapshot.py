"""The decisions `mailbot replay --dry-run` prints, recorded for a fixed set of mails (the shared
corpus, the golden mails, and a scripted office workflow), so that reshaping the code can be
checked to change no decision (the reshaping's safety net; tests/test_decision_snapshot.py compares).

Each set is played in order on a fresh SQLite database at a fixed clock: every mail first with
`dry_run=True` (what is recorded), then for real, so later mails see the cases earlier ones made.

    python tests/decision_snapshot.py            # rewrite tests/decisions/*.jsonl
"""

from __future__ import annotations

import csv
import email
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from mailbot.app import build_app  # noqa: E402
from mailbot.clock import FixedClock  # noqa: E402
from mailbot.config import load_config  # noqa: E402

from corpus import CORPUS  # noqa: E402
from mailbot.resources import default_rules_dir  # noqa: E402
from servers.smtp_sink import delivery_status_notification  # noqa: E402
from pdf_factory import (HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, CT_REPORT,  # noqa: E402
                         filled_request_form, text_pdf)

SNAPSHOTS = HERE / "decisions"
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)   # a Monday
OFFICE = "second.opinion@hospital.example.org"
CONFIG = """
[office]
address = "{office}"
[maildir]
path = "mail"
[outbox]
dir = "out"
[database]
url = "sqlite:///{dir}/mailbot.db"
[storage]
dir = "{dir}/docs"
[rules]
dir = "{rules}"
[ocr]
enabled = false   # the same decisions with or without Tesseract on the machine (OCR has its own tests)
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""


def make_app(directory: Path, clock: FixedClock):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(CONFIG.format(office=OFFICE, dir=directory, rules=default_rules_dir()), encoding="utf-8")
    return build_app(load_config(path), clock=clock)


def printed(outcome) -> dict:
    """What `replay --dry-run` prints, plus each queued reply's purpose, recipients and subject."""
    decision = outcome.decision.as_dict() if outcome.decision else {}
    for a in decision.get("attachments", []):
        a.pop("form_fields", None), a.pop("consent_fields", None)
    specs = list(decision.get("replies", []))
    replies = []
    for recipients, subject, _raw in outcome.replies:
        while specs and list(specs[0]["to"]) != list(recipients):
            replies.append({"purpose": specs.pop(0)["purpose"], "suppressed": True})
        purpose = specs.pop(0)["purpose"] if specs else None
        replies.append({"purpose": purpose, "to": list(recipients), "subject": subject})
    replies += [{"purpose": s["purpose"], "suppressed": True} for s in specs]
    return {"disposition": outcome.disposition, "case": outcome.case_ref, "decision": decision,
            "replies": replies}


def line(name: str, outcome) -> str:
    """Our Message-IDs' 128 random bits differ on every run: shown as <random>."""
    text = json.dumps({"mail": name, **printed(outcome)}, sort_keys=True, default=str, ensure_ascii=False,
                      separators=(",", ":"))
    return re.sub(r"([<.])[A-Za-z0-9_-]{22}@", r"\1<random>@", text)


def play(app, mails) -> list[str]:
    """Each mail dry-run (recorded) then processed for real; `mails` yields (name, raw)."""
    out = []
    for name, raw in mails:
        out.append(line(name, app.intake.process(raw, dry_run=True)))
        app.intake.process(raw)
    return out


# -- the three sets ---------------------------------------------------------------------------

def corpus_mails():
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["kind"] == "email"]
    for row in rows:
        yield row["file"], (CORPUS / row["file"]).read_bytes()


def golden_mails():
    for path in sorted((HERE / "golden").glob("*.eml")):
        yield path.name, path.read_bytes()


def record_corpus(tmp: Path) -> list[str]:
    return play(make_app(tmp, FixedClock(START)), corpus_mails())


def record_golden(tmp: Path) -> list[str]:
    return play(make_app(tmp, FixedClock(START)), golden_mails())


class Script:
    """A scripted office: each step is one mail (or a `mailbot payment`), the clock moving on."""

    def __init__(self, tmp: Path):
        self.clock = FixedClock(START)
        self.app = make_app(tmp, self.clock)
        self.lines: list[str] = []
        self.sent: dict[str, list[EmailMessage]] = {}   # recipient -> our mails to them, in order
        self.n = 0

    def mail(self, sender: str, subject: str, body: str, files=(), *, reply_to_last: str = "",
             headers: dict[str, str] | None = None) -> None:
        self.n += 1
        self.clock.advance(hours=3)
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = OFFICE
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.clock.now())
        msg["Message-ID"] = f"<script-{self.n}@mail.example.net>"
        if reply_to_last:
            cited = self.sent[reply_to_last][-1]["Message-ID"]
            msg["In-Reply-To"] = cited
            msg["References"] = cited
        for key, value in (headers or {}).items():
            msg[key] = value
        msg.set_content(body)
        for filename, data in files:
            msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
        self._record(f"{self.n:02d} {subject}", self.app.intake.process, bytes(msg))

    def payment(self, ref: str, amount: str | None) -> None:
        self.n += 1
        self.clock.advance(hours=3)
        outcome = self.app.intake.record_payment(ref, amount)
        self.lines.append(line(f"{self.n:02d} payment {ref} {amount}", outcome))
        self._remember(outcome)

    def bounce(self, address: str, code: int, text: str) -> None:
        """A relay's RFC 3464 report that our last mail to `address` failed with `code text`."""
        self.n += 1
        self.clock.advance(hours=3)
        original = bytes(self.sent[address][-1])
        raw = delivery_status_notification(OFFICE, address, code, text, original,
                                           message_id=f"<dsn-{self.n}@relay.test.example>")
        self._record(f"{self.n:02d} bounce {address} {code}", self.app.intake.process, raw)

    def _record(self, name: str, process, raw: bytes) -> None:
        self.lines.append(line(name, process(raw, dry_run=True)))
        self._remember(process(raw))

    def _remember(self, outcome) -> None:
        for recipients, _subject, raw in outcome.replies:
            parsed = email.message_from_bytes(raw, policy=policy.default)
            for address in recipients:
                self.sent.setdefault(address, []).append(parsed)


MARIA = "Maria Rossi <maria.rossi@patient.example.net>"
MARIA_ADDR = "maria.rossi@patient.example.net"
JOHN = "John Smith <john.smith@patient.example.net>"
TRIAGE, ADMIN = "francesca.rinaldi@example.org", "laura.fontana@example.org"
ROMANO, FERRARI = "giulia.romano@example.org", "elena.ferrari@example.org"
FORM = dict(patient_name="Maria Rossi", patient_birth_date="1968-05-14", patient_email=MARIA_ADDR,
            requestor_name="Maria Rossi", requestor_email=MARIA_ADDR, requestor_role="patient",
            condition="Breast cancer", consultation_type="oncological", language="en", delivery="courier",
            share_with_referring_physician="no", clinical_question="Neoadjuvant chemotherapy or surgery?")


def record_workflow(tmp: Path) -> list[str]:
    s = Script(tmp)
    docs = [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
            ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
            ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]
    s.mail(MARIA, "Second opinion request", "Hello, my documents.", [docs[0]])
    s.mail(MARIA, "More documents", "The rest.", [("request_form.pdf", filled_request_form(**FORM)), *docs[1:]])
    ref = "SO-2026-00001"
    s.mail("Stranger <nosy@elsewhere.example.com>", f"About {ref}", "What is the state of this case?")
    s.mail("Stranger <nosy@elsewhere.example.com>", "About SO-2026-00099", "What is the state of this case?")
    s.mail(f"Laura <{ADMIN}>", f"Re: [{ref}]", "PAID")                      # wrong state
    s.mail(MARIA, f"Re: [{ref}] question", "APPROVE\nplease hurry")          # a patient's word, no command
    s.mail(f"Francesca <{TRIAGE}>", "Re: new case", "APPROVE a b c", reply_to_last=TRIAGE)   # not understood
    s.mail(f"Francesca <{TRIAGE}>", "Re: new case", "APPROVE oncological breast_surgery", reply_to_last=TRIAGE)
    s.mail(f"Francesca <{TRIAGE}>", "Re: new case", "REJECT: too late", reply_to_last=TRIAGE)  # wrong state
    s.mail(f"Giulia <{ROMANO}>", f"Re: [{ref}]", "DECLINE: not mine")        # no specialist yet: wrong state
    s.payment(ref, "400.00")                                                  # a different amount, routed
    s.mail(f"Elena <{FERRARI}>", f"Re: [{ref}]", "DECLINE: not my case")     # not the case's specialist
    s.mail(f"Giulia <{ROMANO}>", "Re: new case", "MISSING: CT report", reply_to_last=ROMANO)
    s.mail(MARIA, f"Re: [{ref}] CT", "Here it is.", [("ct_report_2026-03-05.pdf", text_pdf(CT_REPORT))])
    s.mail(f"Giulia <{ROMANO}>", f"Re: [{ref}]", "CONSULT: histological review of the slides")   # no proof
    s.mail(f"Giulia <{ROMANO}>", "Re: Please confirm", "CONFIRM", reply_to_last=ROMANO)
    s.mail(MARIA, f"Re: [{ref}] extra", "YES", reply_to_last=MARIA_ADDR)
    s.mail(MARIA, f"Re: [{ref}] extra", "NO")                                # nothing pending: filed only
    s.mail(f"Giulia <{ROMANO}>", "Re: new case", "DECLINE: on leave", reply_to_last=ROMANO)
    s.mail("Out of office <elena.ferrari@example.org>", f"Re: [{ref}] auto", "I am away.",
           headers={"Auto-Submitted": "auto-replied"})
    s.mail(f"Elena <{FERRARI}>", f"Re: [{ref}]", "Report attached.",
           [("second_opinion_report_2026-11-30.pdf", text_pdf("Second opinion report\nDiagnosis confirmed."))])
    # all declined: only the case's own specialist may send the report; Elena is told so
    s.mail(MARIA, f"Re: [{ref}] CANCEL", "CANCEL")                           # no proof: Maria is asked
    s.mail(MARIA, "Re: Please confirm", "Conferma", reply_to_last=MARIA_ADDR)   # now it is cancelled
    s.mail(MARIA, f"Re: [{ref}] new scan", "A new scan.",
           [("mammography_report_2026-11-01.pdf", text_pdf(MAMMOGRAPHY_REPORT + "\nFollow-up 2026-11-01"))])
    s.mail(JOHN, "Request", "patient_name: John Smith\npatient_birth_date: 1957-11-02\nrequestor_role: patient\n"
           "condition: lung cancer\n", [("chest_ct_report_2026-01-15.pdf", text_pdf(CT_REPORT))])
    john = "SO-2026-00003"
    s.mail(f"Francesca <{TRIAGE}>", f"Re: [{john}]", "MISSING: PET-CT")      # not in triage: wrong state
    s.payment(john, None)                                                     # wrong state
    s.mail(f"Laura <{ADMIN}>", f"Re: [{john}]", "CANCEL")                    # an admin may not cancel
    s.mail(JOHN, f"Re: [{john}]", "cancel")                                  # no proof: John is asked
    s.mail(JOHN, "Re: Please confirm", "confirm", reply_to_last="john.smith@patient.example.net")
    john_addr = "john.smith@patient.example.net"
    s.bounce(john_addr, 452, "4.2.2 mailbox full")                           # temporary: recorded only
    s.bounce(john_addr, 550, "5.1.1 <john.smith@patient.example.net>: user unknown")   # paused, admins told
    s.bounce(john_addr, 550, "5.1.1 user unknown")                           # paused already: no second notice
    s.mail(f"Laura <{ADMIN}>", f"Re: [{john}] bounced", "EMAIL requestor john.smith@right.example.net",
           reply_to_last=ADMIN)                                 # an answer to the notice: proof; resent
    s.bounce(ROMANO, 550, "5.1.1 user unknown")       # a staff address on a closed case: the admins told
    return s.lines


SETS = {"corpus": record_corpus, "golden": record_golden, "workflow": record_workflow}


def main() -> None:
    import tempfile
    SNAPSHOTS.mkdir(exist_ok=True)
    for name, record in SETS.items():
        with tempfile.TemporaryDirectory() as tmp:
            lines = record(Path(tmp))
        (SNAPSHOTS / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)} decisions")


if __name__ == "__main__":
    main()
