"""`mailbot demo`: the whole pipeline on a local Maildir and a directory outbox, no servers.

Seeds realistic patient emails with real (generated) PDFs, runs one cycle, and prints what
happened to each case and where the replies are.
"""

from __future__ import annotations

import io
import shutil
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from mailbot.private_files import private_dirs, tighten_tree, write_private
from mailbot.resources import default_rules_dir

CONFIG = """\
[office]
name = "Demo Second Opinion Office"
address = "second.opinion@demo.example.org"
case_prefix = "SO"
timezone = "Europe/Rome"
languages = ["en", "it"]

[maildir]
path = "mailbox"

[outbox]
dir = "outbox"

[database]
url = "sqlite:///mailbot.db"

[storage]
dir = "documents"

[rules]
dir = "{rules}"

[payment]
beneficiary = "Demo Hospital Foundation"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""


def report_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page clinical report with a real text layer."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(60, 780, title)
    c.setFont("Helvetica", 11)
    y = 750
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


HISTOLOGY = report_pdf("Histology report - 2026-03-02", [
    "Specimen: left breast, core needle biopsy.", "Diagnosis: invasive ductal carcinoma, grade 2.",
    "Immunohistochemistry: ER 90%, PR 70%, HER2 1+ (negative), Ki-67 25%.", "Pathologist: Dr. A. Bianchi"])
MAMMOGRAPHY = report_pdf("Bilateral mammography report - 2026-02-20", [
    "Mammography: 18 mm spiculated mass, upper outer quadrant, left breast.", "BI-RADS 5.",
    "Breast ultrasound correlation recommended."])
ONCOLOGIST = report_pdf("Oncology consultation letter - 2026-03-10", [
    "Diagnosis: left breast cancer, cT2 N0 M0, stage IIA.", "Treatment so far: none. Oncologist: Dr. L. Verdi.",
    "Clinical question: neoadjuvant chemotherapy or primary surgery?"])
CHEST_CT = report_pdf("Chest CT report - 2026-01-15", [
    "CT of the chest with contrast: 32 mm mass in the right upper lobe.", "Mediastinal lymph nodes not enlarged.",
    "Impression: suspicious for primary lung carcinoma."])
TAC_IT = report_pdf("Referto TAC torace - 15/01/2026", [
    "TAC del torace con mezzo di contrasto: lesione di 25 mm al lobo superiore destro.", "Linfonodi mediastinici nella norma."])


def _mail(sender: str, subject: str, body: str, files: list[tuple[str, bytes, str]]) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "second.opinion@demo.example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="patient.example.net")
    msg.set_content(body)
    for name, data, ctype in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(64) + bytes.fromhex("ffd9")

SCENARIOS = [
    ("A complete breast-cancer request from the patient",
     _mail("Maria Rossi <maria.rossi@patient.example.net>", "Second opinion request",
           "Hello,\nI would like a second opinion. My details:\n\npatient_name: Maria Rossi\n"
           "patient_birth_date: 1968-05-14\nrequestor_role: patient\ncondition: breast cancer\n"
           "consultation_type: oncological\nlanguage: en\n"
           "clinical_question: Neoadjuvant chemotherapy or primary surgery?\n\nThank you,\nMaria",
           [("histology_report_2026-03-02.pdf", HISTOLOGY, "application/pdf"),
            ("mammography_report_2026-02-20.pdf", MAMMOGRAPHY, "application/pdf"),
            ("oncologist_report_2026-03-10.pdf", ONCOLOGIST, "application/pdf")])),
    ("An incomplete lung-cancer request (only a CT report)",
     _mail("John Smith <john.smith@patient.example.net>", "Request for second opinion",
           "Dear office,\nplease find attached my CT report.\n\npatient_name: John Smith\n"
           "patient_birth_date: 1957-11-02\nrequestor_role: patient\ncondition: lung cancer\n\nRegards",
           [("chest_ct_report_2026-01-15.pdf", CHEST_CT, "application/pdf")])),
    ("A daughter writing in Italian, without the patient's consent form",
     _mail("Giulia Neri <giulia.neri@family.example.net>", "Richiesta secondo parere per mia madre",
           "Buongiorno,\nvorrei un secondo parere per mia madre.\n\nNome del paziente: Anna Neri\n"
           "Data di nascita: 03/09/1950\nRuolo: familiare\nPatologia: tumore del polmone\nLingua: italiano\n\n"
           "Cordiali saluti,\nGiulia", [("referto_tac_torace_2026-01-15.pdf", TAC_IT, "application/pdf")])),
    ("Badly named scan and a phone photo",
     _mail("Paolo Verdi <paolo.verdi@patient.example.net>", "documents",
           "Hi, here are my documents.\n\npatient_name: Paolo Verdi\npatient_birth_date: 1970-01-30\n"
           "requestor_role: patient\ncondition: breast cancer\n",
           [("scan0001.pdf", HISTOLOGY, "application/pdf"), ("IMG_2231.jpg", JPEG, "image/jpeg")])),
    ("A first email with nothing attached",
     _mail("Luca Gialli <luca.gialli@patient.example.net>", "Information",
           "Good morning, how can I ask for a second opinion for my father? Thanks", [])),
]


def run_demo(directory: Path) -> int:
    from mailbot.app import build_app
    from mailbot.cli.views import cases_table
    from mailbot.config import load_config
    from mailbot.daemon import Worker

    directory = directory.resolve()
    private_dirs(directory)
    for leftover in ("mailbox", "outbox", "documents"):   # each demo starts from nothing
        shutil.rmtree(directory / leftover, ignore_errors=True)
    for leftover in ("mailbot.db", "mailbot.db-wal", "mailbot.db-shm", "mailbot.db-journal"):
        (directory / leftover).unlink(missing_ok=True)
    config_path = directory / "config.toml"
    write_private(config_path, CONFIG.format(rules=default_rules_dir().as_posix()).encode("utf-8"))
    box = mailbox.Maildir(directory / "mailbox", create=True)
    for _, raw in SCENARIOS:
        box.add(raw)
    tighten_tree(directory / "mailbox")   # the standard library's Maildir writes with the umask
    app = build_app(load_config(config_path))
    worker = Worker(app)
    try:
        report = worker.cycle()
    finally:
        worker.close()
    print(f"mailbot demo in {directory}\n")
    for (title, _), outcome in zip(SCENARIOS, report.outcomes):
        print(f"* {title}\n  -> case {outcome.case_ref}: {outcome.decision.state_after if outcome.decision else '-'}")
        for recipients, subject, _raw in outcome.replies:
            print(f"     reply to {', '.join(recipients)}: {subject}")
    print("\n" + cases_table(app))
    print(f"\nReplies (.eml files): {directory / 'outbox'}")
    print(f"Database: {directory / 'mailbot.db'}; see one case with:\n"
          f"  mailbot --config {config_path} case <REF>")
    return 0
