"""Phone photos and scans: a photo of a printed page (rendered here, then turned, blurred and
grainy as a phone takes it) becomes a one-page PDF, is read by Tesseract and assessed; one too
small or too blurred is asked for again; a scan gets a text layer. The pure parts run without
Tesseract; the OCR tests skip without it (fail with MAILBOT_REQUIRE_SERVERS=1)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from mailbot.documents.assess import assess_file
from mailbot.documents.photos import photo_to_pdf
from mailbot.ocr import Tesseract
from mailbot.parse import Attachment
from mailbot.resources import default_rules_dir
from mailbot.rulebook.load import load_rulebook
from mailbot.store.models import Document
from corpus import shared_corpus  # noqa: F401  (fixture)
from ocr_support import tesseract  # noqa: F401  (fixture)
from office import Office, attachment_names, patient_mail, plain_text
from pdf_factory import CT_REPORT, HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT
from photo_factory import heic, jpeg, photographed, png, printed_page, scanned_pdf_of

RULES = load_rulebook(default_rules_dir())
MB = 1024 * 1024
MARIA = "Maria Rossi <maria.rossi@patient.example.net>"
PAGE = printed_page(HISTOLOGY_BREAST)


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


# --- without Tesseract -----------------------------------------------------------------------------

def test_a_photo_becomes_a_one_page_pdf_with_the_jpeg_untouched():
    photo = jpeg(photographed(PAGE))
    made = photo_to_pdf(photo, None)
    assert made.problem is None and "not read" in made.detail
    reader = PdfReader(io.BytesIO(made.pdf))
    assert len(reader.pages) == 1
    assert photo in made.pdf                      # lossless: the JPEG's bytes, embedded as they came
    assert photo_to_pdf(photo, None).pdf == made.pdf   # the same photo, the same PDF (dedup works)


def test_a_png_with_transparency_and_a_heic_become_pdfs():
    for data in (png(photographed(PAGE).convert("RGBA")), heic(photographed(PAGE))):
        made = photo_to_pdf(data, None)
        assert made.problem is None and len(PdfReader(io.BytesIO(made.pdf)).pages) == 1


def test_a_too_small_photo_is_named_and_an_icon_is_no_page():
    small = photo_to_pdf(jpeg(photographed(PAGE, scale=0.4)), None)      # ~560 pixels wide
    assert small.problem == "photo_unreadable" and "too small" in small.detail
    icon = photo_to_pdf(jpeg(photographed(PAGE, scale=0.1)), None)
    assert icon.problem == "not_pdf"
    assert photo_to_pdf(b"\xff\xd8\xff\xe0 not really a jpeg", None).problem == "broken"


def test_an_image_bomb_is_not_decoded():
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 10_000, 10_000, 8, 0, 0, 0, 0)     # 100 million grey pixels
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")
    made = photo_to_pdf(bomb, None)
    assert made.problem == "broken" and "more than we decode" in made.detail


# --- with Tesseract --------------------------------------------------------------------------------

def test_a_photographed_report_is_read_classified_and_made_searchable(tesseract):
    ocr = Tesseract(tesseract)
    photo = jpeg(photographed(PAGE, angle=3, blur=0.8, noise=12))
    assessed, pdf = assess_file(Attachment("IMG_2231.jpg", "image/jpeg", photo), RULES, max_bytes=25 * MB,
                                ocr=ocr.page)
    assert assessed.usable and assessed.kind == "jpeg" and assessed.doc_types[0] == "histology_report"
    assert assessed.name_ok                          # a photo's name is not held against the sender
    assert "read by OCR" in assessed.detail and assessed.searchable_sha256
    assert "Histology report" in text_of(pdf) and photo in pdf     # the image as it came, text over it
    assert ocr.pages_read == 1


def test_a_page_past_its_time_limit_is_given_up_and_the_photo_still_becomes_a_pdf(tesseract):
    slow = Tesseract(tesseract, page_seconds=0.05)
    made = photo_to_pdf(jpeg(photographed(PAGE)), slow.page)
    assert slow.pages_read == 1 and slow.seconds < 5
    assert made.problem is None and made.pdf and "OCR did not finish" in made.detail


def test_a_message_s_ocr_time_is_bounded(tesseract):
    reader = Tesseract(tesseract, total_seconds=0.0)
    assert reader.page(jpeg(photographed(PAGE))) is None and reader.pages_read == 0


def test_a_blurred_photo_is_asked_for_again(tesseract):
    blurred = jpeg(photographed(PAGE, blur=6))
    made = photo_to_pdf(blurred, Tesseract(tesseract).page)
    assert made.problem == "photo_unreadable" and "blurred" in made.detail


def test_an_iphone_heic_photo_is_read(tesseract):
    made = photo_to_pdf(heic(photographed(printed_page(MAMMOGRAPHY_REPORT), angle=-2)), Tesseract(tesseract).page)
    assert made.problem is None and "mammograph" in made.text.lower()


def test_a_scan_gets_a_text_layer_and_its_text_classifies_it(tesseract):
    scan = scanned_pdf_of([printed_page(CT_REPORT), printed_page("Page 2\n\nNo further findings.")])
    ocr = Tesseract(tesseract)
    assessed, searchable = assess_file(Attachment("ct_report_2026-01-15.pdf", "application/pdf", scan), RULES,
                                       max_bytes=25 * MB, ocr=ocr.page)
    assert assessed.has_text and assessed.usable and "read by OCR (2 of 2 pages" in assessed.detail
    assert "ct_report" in assessed.doc_types[0] or assessed.doc_types
    assert len(PdfReader(io.BytesIO(searchable)).pages) == 2 and "CT" in text_of(searchable)


def test_the_page_budget_bounds_the_cost_of_one_message(tesseract):
    scan = scanned_pdf_of([printed_page(CT_REPORT)] * 3)
    ocr = Tesseract(tesseract, budget=2)
    assessed, searchable = assess_file(Attachment("ct_report.pdf", "application/pdf", scan), RULES,
                                       max_bytes=25 * MB, ocr=ocr.page)
    assert ocr.pages_read == 2 and searchable is None       # not all read: sent as it came
    assert "2 of 3 pages" in assessed.detail and assessed.has_text


# --- end to end ------------------------------------------------------------------------------------

@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def test_a_patient_sends_phone_photos(office, tesseract):
    body = ("patient_name: Maria Rossi\npatient_birth_date: 1968-05-14\nrequestor_role: patient\n"
            "condition: breast cancer\n")
    office.deliver(patient_mail(MARIA, "my reports", body, [
        ("IMG_2231.jpg", jpeg(photographed(PAGE))),
        ("IMG_2232.jpg", jpeg(photographed(printed_page(MAMMOGRAPHY_REPORT), blur=6)))]))
    assert office.once() == 0
    (reply,) = office.new_replies()
    text = " ".join(plain_text(reply).split())
    assert "Thank you for the photo (IMG_2231.jpg): we have turned it into PDF and could read it" in text
    assert "no need to send it again" in text and "a PDF is preferred" in text
    assert "IMG_2232.jpg: we could not read this photo" in text
    assert "IMG_2231.jpg: " not in text                   # nothing asked about the readable one
    with office.app().sessions() as s:
        docs = {d.filename: d for d in s.execute(select(Document)).scalars()}
    assert docs["IMG_2231.jpg"].searchable_sha256 and docs["IMG_2232.jpg"].problem == "photo_unreadable"
    made = office.app().files.get(docs["IMG_2231.jpg"].searchable_sha256)
    assert "Histology" in text_of(made)
    assert office.app().files.get(docs["IMG_2231.jpg"].sha256)[:3] == b"\xff\xd8\xff"   # the original kept


def test_triage_receives_the_searchable_pdf_of_a_photo(office, tesseract):
    from pdf_factory import ONCOLOGIST_LETTER, filled_request_form, text_pdf
    from test_containers import BREAST_FORM
    office.deliver(patient_mail(MARIA, "Second opinion", "Documents attached.", [
        ("request_form.pdf", filled_request_form(**BREAST_FORM)), ("IMG_0001.jpg", jpeg(photographed(PAGE))),
        ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
        ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    assert office.once() == 0
    triage = [m for m in office.new_replies() if "New case for triage" in m["Subject"]]
    assert triage
    assert "IMG_0001.pdf" in attachment_names(triage[0]) and "IMG_0001.jpg" not in attachment_names(triage[0])
    assert "- IMG_0001.pdf (Histology (pathology) report)" in plain_text(triage[0])
    pdf = next(p.get_content() for p in triage[0].iter_attachments() if p.get_filename() == "IMG_0001.pdf")
    assert "Histology" in text_of(pdf)


def test_a_long_scan_is_queued_and_read_whole_beside_the_mail(office, tesseract):
    from mailbot.schedule.jobs import _claim_ocr, run_ocr_queue
    pages = [printed_page(CT_REPORT)] + [printed_page(f"Page {n}\n\nContinuation of the CT report.") for n in (2, 3, 4)]
    pages.append(printed_page("Page 5\n\nConclusion: no distant metastases."))
    office.deliver(patient_mail(MARIA, "my CT", "patient_name: Maria Rossi\n",
                                [("ct_report_2026-01-15.pdf", scanned_pdf_of(pages))]))
    app = office.app()
    assert office.once() == 0            # the email handled (first pages read), then the queue job
    with app.sessions() as s:
        (doc,) = s.execute(select(Document)).scalars().all()
        assert "the whole scan queued for OCR" in doc.detail
        assert doc.ocr_state == "done" and doc.searchable_sha256
        assert "read by OCR (3 of 5 pages" in doc.detail and "whole scan read by OCR (5 of 5 pages" in doc.detail
    searchable = app.files.get(doc.searchable_sha256)
    assert len(PdfReader(io.BytesIO(searchable)).pages) == 5
    assert "metastases" in PdfReader(io.BytesIO(searchable)).pages[4].extract_text()
    assert _claim_ocr(app) is None and run_ocr_queue(app).sent == 0      # nothing left to do


def test_a_claim_left_by_a_crash_is_taken_again_after_an_hour(office, tesseract):
    from datetime import timedelta
    from sqlalchemy import update
    from mailbot.schedule.jobs import _claim_ocr
    office.deliver(patient_mail(MARIA, "my CT", "x", [("ct_report.pdf", scanned_pdf_of([printed_page(CT_REPORT)] * 4))]))
    assert office.once() == 0
    app = office.app()
    with app.sessions() as s:
        doc = s.execute(select(Document)).scalar_one()
        fresh = (app.clock.now() - timedelta(minutes=5)).isoformat()
        s.execute(update(Document).values(ocr_state=f"running:{fresh}"))
        s.commit()
    assert _claim_ocr(app) is None         # another worker is on it
    with app.sessions() as s:
        old = (app.clock.now() - timedelta(hours=2)).isoformat()
        s.execute(update(Document).values(ocr_state=f"running:{old}"))
        s.commit()
    assert _claim_ocr(app) == doc.id
    assert _claim_ocr(app) is None         # and only once


def test_without_tesseract_mailbot_runs_and_says_so_once(office, monkeypatch, caplog, tmp_path):
    import logging
    from mailbot import app as app_module
    monkeypatch.setenv("PATH", str(tmp_path / "no-tesseract-here"))
    monkeypatch.setattr(app_module, "_told", set())
    with caplog.at_level(logging.WARNING, logger="mailbot"):
        office.deliver(patient_mail(MARIA, "my report", "patient_name: Maria Rossi\n",
                                    [("IMG_0001.jpg", jpeg(photographed(PAGE)))]))
        assert office.once() == 0
        office.app()
    said = [r for r in caplog.records if "OCR off" in r.getMessage()]
    assert len(said) == 1 and "apt-get install tesseract-ocr" in said[0].getMessage()
    (reply,) = office.new_replies()
    assert "Thank you for the photo (IMG_0001.jpg)" in " ".join(plain_text(reply).split())
    with office.app().sessions() as s:
        doc = s.execute(select(Document)).scalar_one()
    assert doc.searchable_sha256 and "not read (no OCR)" in doc.detail


# --- the corpus: every PDF without a text layer goes through the OCR path without harm -------------

def _text_only_layer() -> bytes:
    from reportlab.pdfgen.canvas import Canvas
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(600, 800))
    canvas.setFillColorRGB(1, 1, 1)
    canvas.drawString(50, 700, "Histology report: invasive ductal carcinoma")
    canvas.save()
    return out.getvalue()


def test_every_corpus_scan_goes_through_ocr_without_an_exception(shared_corpus):
    """The page-image extraction and the text layer meet hostile PDFs here (bombs, cyclic page
    trees, fuzzed files). The OCR is a stand-in that reads every image as the same page, so this
    runs without Tesseract and checks the pure path only."""
    import time
    from mailbot.documents.photos import OcrPage
    layer = _text_only_layer()
    seen: list[int] = []

    def reader(image: bytes) -> OcrPage:
        seen.append(len(image))
        return OcrPage("Histology report: invasive ductal carcinoma, grade 2", 90.0, layer)

    scans = 0
    for path in sorted((shared_corpus / "pdfs").glob("*.pdf")):
        start = time.monotonic()
        assessed, made = assess_file(Attachment(path.name, "application/pdf", path.read_bytes()), RULES,
                                     max_bytes=25 * MB, ocr=reader)
        assert time.monotonic() - start < 60, path.name
        if assessed.kind == "pdf" and assessed.problem is None and "OCR" in assessed.detail:
            scans += 1
            if made is not None:
                assert assessed.has_text and assessed.searchable_sha256
                assert len(PdfReader(io.BytesIO(made)).pages) == assessed.pages
    assert scans >= 5 and seen
