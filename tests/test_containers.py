"""Containers: ZIP archives, winmail.dat (TNEF) and Outlook .msg items are unpacked within limits,
and each member is assessed as if attached directly. The unpacking is a function of bytes (tested
here without any server); then whole mails go through `mailbot once` against Dovecot and the SMTP
sink, with ZIPs made here and the real TNEF and .msg files of the shared corpus."""

from __future__ import annotations

import email
import io
import zipfile
from email import policy

import pytest
from sqlalchemy import select

from container_factory import bomb_zip, encrypted_zip, many_members_zip, nested_zip, zip_of
from corpus import shared_corpus  # noqa: F401  (fixture)
from mailbot.documents.containers import Limits, unpack
from mailbot.parse import Attachment, parse_message
from mailbot.resources import default_rules_dir
from mailbot.rulebook.load import load_rulebook
from mailbot.store.models import Case, Document
from mailbot.workflow.envelope import assess_all
from ocr_support import tesseract  # noqa: F401  (fixture)
from office import Office, attachment_names, patient_mail, plain_text
from pdf_factory import (CT_REPORT, HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, filled_request_form,
                         text_pdf)

MB = 1024 * 1024
RULES = load_rulebook(default_rules_dir())
HISTOLOGY = text_pdf(HISTOLOGY_BREAST)
MAMMOGRAPHY = text_pdf(MAMMOGRAPHY_REPORT)
MARIA = "Maria Rossi <maria.rossi@patient.example.net>"
BREAST_FORM = dict(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                   patient_email="maria.rossi@patient.example.net", requestor_name="Maria Rossi",
                   requestor_email="maria.rossi@patient.example.net", requestor_role="patient",
                   condition="Breast cancer", consultation_type="oncological", language="en",
                   delivery="email", share_with_referring_physician="no")


def assessed(name: str, data: bytes, max_bytes: int = 25 * MB):
    shown, members = assess_all((Attachment(name, "application/octet-stream", data),), RULES, max_bytes)
    return {(a.filename, a.inside): a for a in shown}, members


# --- unpacking: bytes in, members out -------------------------------------------------------------

def test_zip_members_are_assessed_as_if_attached_directly():
    archive = zip_of([("records/histology_report_2026-03-02.pdf", HISTOLOGY), ("records/scan0001.pdf", MAMMOGRAPHY),
                      ("__MACOSX/records/._scan0001.pdf", b"\0\5\26\7"), ("records/.DS_Store", b"\0\0\0\1Bud1")])
    shown, members = assessed("records.zip", archive)
    assert set(shown) == {("histology_report_2026-03-02.pdf", ("records.zip",)), ("scan0001.pdf", ("records.zip",))}
    histology = shown[("histology_report_2026-03-02.pdf", ("records.zip",))]
    assert histology.problem is None and histology.usable and histology.doc_types[0] == "histology_report"
    renamed = shown[("scan0001.pdf", ("records.zip",))]       # the naming rules apply to members too
    assert not renamed.name_ok and renamed.doc_types[0] == "mammography_report"
    assert {m.data for m in members} == {HISTOLOGY, MAMMOGRAPHY}   # their bytes go to the store


def test_nested_zips_are_unpacked_to_three_levels_and_refused_past_them():
    shown, _ = assessed("records.zip", nested_zip("histology_report.pdf", HISTOLOGY, 3))
    (only,) = shown.values()
    assert only.filename == "histology_report.pdf" and only.usable
    assert only.inside == ("level3.zip", "level2.zip", "records.zip")    # innermost first

    shown, members = assessed("records.zip", nested_zip("histology_report.pdf", HISTOLOGY, 4))
    (only,) = shown.values()
    assert (only.filename, only.kind, only.problem) == ("records.zip", "zip", "archive_limits")
    assert "nested" in only.detail and members == ()


def test_an_encrypted_zip_is_refused_and_what_came_with_it_still_counts():
    locked = encrypted_zip({"histology_report.pdf": HISTOLOGY})
    assert zipfile.ZipFile(io.BytesIO(locked)).open("histology_report.pdf", pwd=b"secret").read() == HISTOLOGY
    shown, _ = assessed("records.zip", locked)
    (only,) = shown.values()
    assert (only.kind, only.problem) == ("zip", "encrypted")

    shown, _ = assessed("records.zip", zip_of({"locked.zip": locked, "mammography_report.pdf": MAMMOGRAPHY}))
    assert shown[("locked.zip", ("records.zip",))].problem == "encrypted"
    assert shown[("mammography_report.pdf", ("records.zip",))].usable
    assert ("records.zip", ()) not in shown    # it yielded a usable document: the members speak


def test_a_decompression_bomb_yields_nothing():
    bomb = bomb_zip(64)
    assert len(bomb) < 200_000
    shown, members = assessed("results.zip", bomb)      # past the total: 25 MB
    (only,) = shown.values()
    assert only.problem == "archive_limits" and members == ()
    # within a generous total, the compression ratio still gives it away
    (item,) = unpack(Attachment("results.zip", "application/zip", bomb), Limits(max_total_bytes=1024 * MB))
    assert item.problem == "archive_limits" and "compressed more than 100 to 1" in item.detail


def test_too_many_members_are_refused_whole():
    shown, members = assessed("pages.zip", many_members_zip(101))
    (only,) = shown.values()
    assert only.problem == "archive_limits" and "more than 100 files" in only.detail and members == ()
    items = unpack(Attachment("pages.zip", "application/zip", many_members_zip(100)), Limits())
    assert len(items) == 101     # the container and its 100 members


def test_the_limits_count_the_whole_tree_of_one_attachment():
    inner = zip_of({f"p{i}.txt": b"x" for i in range(60)})
    shown, _ = assessed("both.zip", zip_of({"a.zip": inner, "b.zip": zip_of({f"q{i}.txt": b"y" for i in range(60)})}))
    (only,) = shown.values()
    assert only.filename == "both.zip" and only.problem == "archive_limits"
    big = zip_of({"a.pdf": b"%PDF-1.4 " + b"x" * (3 * MB), "b.pdf": b"%PDF-1.4 " + b"y" * (3 * MB)})
    shown, _ = assessed("big.zip", big, max_bytes=5 * MB)
    assert shown[("big.zip", ())].problem == "archive_limits"


def test_a_container_with_nothing_usable_is_named_as_such():
    shown, _ = assessed("notes.zip", zip_of({"notes.txt": b"see you on Monday"}))
    assert shown[("notes.zip", ())].problem == "container_unusable"
    assert shown[("notes.txt", ("notes.zip",))].problem == "not_pdf"
    shown, _ = assessed("empty.zip", zip_of({}))
    assert shown[("empty.zip", ())].problem == "container_unusable"
    shown, _ = assessed("cut.zip", zip_of({"histology_report.pdf": HISTOLOGY})[:300])
    assert shown[("cut.zip", ())].problem == "broken"


def test_the_same_file_inside_and_outside_a_zip_counts_once():
    files = (Attachment("histology_report.pdf", "application/pdf", HISTOLOGY),
             Attachment("records.zip", "application/zip", zip_of({"histology_report.pdf": HISTOLOGY,
                                                                  "copy/histology_report.pdf": HISTOLOGY})))
    shown, members = assess_all(files, RULES, 25 * MB)
    assert [(a.filename, a.inside) for a in shown] == [("histology_report.pdf", ())]
    assert members == ()


def test_office_files_stay_documents_not_containers():
    from pdf_factory import docx_bytes
    shown, _ = assessed("referto.docx", docx_bytes())
    (only,) = shown.values()
    assert (only.kind, only.problem, only.inside) == ("docx", "not_pdf", ())


def test_the_corpus_winmail_dat_is_unpacked(shared_corpus):
    message = parse_message((shared_corpus / "emails" / "mimekit__tnef__rich-text.eml").read_bytes())
    shown, _ = assess_all(message.attachments, RULES, 25 * MB)
    by_name = {(a.filename, a.inside): a for a in shown}
    photo = by_name[("kitten-playing-with-a-christmas-tree.jpg", ("winmail.dat",))]
    assert photo.kind == "jpeg" and photo.usable     # without OCR a photo is taken as a PDF made of it
    assert ("winmail.dat", ()) not in by_name        # so the container yielded something usable
    # a winmail.dat that only carries the text of a rich-text email is not an attachment at all
    message = parse_message((shared_corpus / "emails" / "mimekit__tnef__ukr.eml").read_bytes())
    assert assess_all(message.attachments, RULES, 25 * MB)[0] == ()


def test_the_corpus_outlook_item_is_unpacked(shared_corpus):
    item = (shared_corpus / "emails" / "mailparser__mail_outlook_1__CFB-msg-not-mime.eml").read_bytes()
    shown, members = assessed("forwarded.msg", item)
    inside = {a.filename for a in shown.values() if a.inside == ("forwarded.msg",)}
    assert {"newsletter.png", "image004.jpg"} <= inside
    assert shown[("forwarded.msg", ())].kind == "msg"
    assert len(members) == len(inside)


# --- end to end: mailbot once, Dovecot, the SMTP sink ---------------------------------------------

@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def documents(office) -> list[Document]:
    with office.app().sessions() as s:
        return list(s.execute(select(Document).order_by(Document.id)).scalars())


def test_a_zipped_folder_of_records_completes_the_case(office, capsys):
    records = zip_of([("Referti/histology_report_2026-03-02.pdf", HISTOLOGY),
                      ("Referti/mammography_report_2026-02-20.pdf", MAMMOGRAPHY),
                      ("Referti/oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))])
    office.deliver(patient_mail(MARIA, "Second opinion request", "All my records are in the zip.",
                                [("request_form.pdf", filled_request_form(**BREAST_FORM)), ("records.zip", records)],
                                ctype="application/zip"))
    assert office.once() == 0
    replies = office.new_replies()
    with office.app().sessions() as s:
        (case,) = s.execute(select(Case)).scalars().all()
        assert case.state == "in_triage"
    triage = [m for m in replies if "New case for triage" in m["Subject"]]
    assert triage
    body = " ".join(plain_text(triage[0]).split())
    assert "histology_report_2026-03-02.pdf, inside records.zip (Histology (pathology) report)" in body
    assert sorted(attachment_names(triage[0])) == sorted([
        "request_form.pdf", "histology_report_2026-03-02.pdf", "mammography_report_2026-02-20.pdf",
        "oncologist_report_2026-03-10.pdf"])
    docs = {d.filename: d for d in documents(office)}
    assert docs["histology_report_2026-03-02.pdf"].inside == ["records.zip"] and docs["request_form.pdf"].inside == []
    assert "records.zip" not in docs
    stored = {p.name for p in office.storage.rglob("*") if p.is_file()}
    assert not any(name.endswith((".pdf", ".zip")) for name in stored)    # content-addressed, never by name
    with office.app().sessions() as s:
        assert all(office.app().files.get(d.sha256) for d in documents(office))
    capsys.readouterr()
    assert office.cli("case", case.ref) == 0
    assert "histology_report_2026-03-02.pdf, inside records.zip  [pdf" in capsys.readouterr().out


def test_containers_that_cannot_be_used_are_each_explained(office):
    locked = encrypted_zip({"ct_report_2026-01-15.pdf": text_pdf(CT_REPORT)})
    office.deliver(patient_mail(
        MARIA, "my files", "patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
        "condition: breast cancer\n",
        [("locked.zip", locked), ("bomb.zip", bomb_zip(64)), ("deep.zip", nested_zip("a.pdf", HISTOLOGY, 5)),
         ("notes.zip", zip_of({"notes.txt": b"call me"})),
         ("records.zip", zip_of({"old/scan0001.pdf": MAMMOGRAPHY, "histology_report_2026-03-02.pdf": HISTOLOGY}))],
        ctype="application/zip"))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    assert "locked.zip: this archive is protected by a password" in text
    assert "bomb.zip: we could not unpack this archive safely" in text
    assert "deep.zip: we could not unpack this archive safely" in text
    assert "notes.zip: we opened it, but found no document in it that we could use" in text
    assert "notes.txt, inside notes.zip: this is not a PDF file" in text
    assert "histology_report_2026-03-02.pdf, inside records.zip (Histology (pathology) report)" in text     # received
    assert "scan0001.pdf, inside records.zip: its name does not say what the document is" in text
    problems = {d.filename: d.problem for d in documents(office)}
    assert problems["locked.zip"] == "encrypted" and problems["bomb.zip"] == "archive_limits"


def test_an_italian_reply_says_where_a_file_came_from(office):
    body = ("patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
            "condition: tumore della mammella\nlanguage: it\n")
    office.deliver(patient_mail(MARIA, "Richiesta di secondo parere", body,
                                [("referti.zip", zip_of({"scan0001.pdf": MAMMOGRAPHY,
                                                         "istologico.zip": encrypted_zip({"a.pdf": HISTOLOGY})}))],
                                ctype="application/zip"))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    assert "scan0001.pdf, all'interno di referti.zip:" in text
    assert "istologico.zip, all'interno di referti.zip: questo archivio è protetto da password" in text


def test_the_corpus_winmail_dat_mail_is_answered_about_its_members(office, shared_corpus, tesseract):
    raw = (shared_corpus / "emails" / "mimekit__tnef__rich-text.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=policy.compat32)
    del message["From"]
    message["From"] = MARIA        # a patient of ours sent it
    office.deliver(message.as_bytes())
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    # a photo of a kitten, not of a page: OCR reads nothing in it
    assert "kitten-playing-with-a-christmas-tree.jpg, inside winmail.dat: we could not read this photo" in text
    assert "winmail.dat: we opened it, but found no document in it that we could use" in text
    assert "winmail.dat: the file is unknown" not in text


def test_a_forwarded_outlook_item_is_opened(office, shared_corpus):
    item = (shared_corpus / "emails" / "mailparser__mail_outlook_1__CFB-msg-not-mime.eml").read_bytes()
    office.deliver(patient_mail(MARIA, "forwarding the hospital's mail", "See the attached item.",
                                [("hospital.msg", item)], ctype="application/vnd.ms-outlook"))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    assert "newsletter.png, inside hospital.msg:" in text
    assert "hospital.msg: we opened it, but found no document in it that we could use" in text


# --- with the confirmations and the flood rule ---------------------------------------------------

def test_a_zip_sent_again_joins_its_case_even_zipped_anew(office):
    members = [("Referti/histology_report_2026-03-02.pdf", HISTOLOGY),
               ("Referti/mammography_report_2026-02-20.pdf", MAMMOGRAPHY),
               ("Referti/oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]
    form = ("request_form.pdf", filled_request_form(**BREAST_FORM))
    again = [zip_of(members), zip_of(members), zip_of(list(reversed(members)))]   # the last: other bytes
    assert again[2] != again[0]
    sent = []
    for records in again:
        office.deliver(patient_mail(MARIA, "Second opinion request", "All my records are in the zip.",
                                    [form, ("records.zip", records)], ctype="application/zip"))
        assert office.once() == 0
        sent.append(office.new_replies())
    with office.app().sessions() as s:
        (case,) = s.execute(select(Case)).scalars().all()
        kinds = [e.kind for e in case.events]
    assert case.state == "in_triage"
    assert kinds.count("resend_acknowledged") == 1 and kinds.count("resend_filed") == 1
    assert [m["To"] for m in sent[1]] == ["maria.rossi@patient.example.net"] and sent[2] == []   # no triage again


def test_a_report_inside_a_zip_is_sent_once_confirmed(office):
    from test_staff_workflow import ROMANO, case_with_specialist, exchange, only, reply_to
    case_with_specialist(office)
    with office.app().sessions() as s:
        ref = s.execute(select(Case)).scalar_one().ref
    report = zip_of([("second_opinion_report.pdf", text_pdf("Second opinion report\nDiagnosis confirmed."))])
    request = only(exchange(office, patient_mail(ROMANO, f"[{ref}] report", "Attached.", [("report.zip", report)],
                                                 ctype="application/zip")), ROMANO)
    assert "second_opinion_report.pdf" in plain_text(request)
    mails = exchange(office, reply_to(request, ROMANO, "CONFIRM"))
    with office.app().sessions() as s:
        assert s.execute(select(Case)).scalar_one().state == "report_sent"
    assert attachment_names(only(mails, "maria.rossi@patient.example.net")) == ["second_opinion_report.pdf"]
