"""inspect_document: file type by content, PDF readability, text layer, form fields, hostile input."""

from __future__ import annotations

import gzip
import io
import random
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from mailbot.documents import inspect as inspect_module
from mailbot.documents.inspect import KINDS, MAX_TEXT_PAGES, Inspection, inspect_document, sniff_kind
from pdf_factory import (
    HISTOLOGY_BREAST,
    doc_bytes,
    docx_bytes,
    embedded_file_pdf,
    encrypted_pdf,
    filled_consent_form,
    filled_request_form,
    flate_bomb_pdf,
    javascript_pdf,
    jpeg_bytes,
    launch_pdf,
    scanned_pdf,
    text_pdf,
    truncated_pdf,
    xfa_pdf,
    zip_bytes,
)


def _zip(members: dict[str, bytes], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, content) in enumerate(members.items()):
            kind = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return out.getvalue()


def _pil_image(fmt: str) -> bytes:
    image = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image.new("RGB", (4, 4), (10, 20, 30)).save(out, fmt)
    return out.getvalue()


SAMPLES = {
    "pdf": lambda: text_pdf(["Hello"]),
    "jpeg": jpeg_bytes,
    "png": lambda: _pil_image("PNG"),
    "gif": lambda: _pil_image("GIF"),
    "tiff": lambda: _pil_image("TIFF"),
    "bmp": lambda: _pil_image("BMP"),
    "webp": lambda: b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24,
    "heic": lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32,
    "docx": docx_bytes,
    "xlsx": lambda: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
    "pptx": lambda: _zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}),
    "odt": lambda: _zip({"mimetype": b"application/vnd.oasis.opendocument.text",
                         "content.xml": b"<office:document-content/>"}, stored_first=True),
    "ods": lambda: _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                         "content.xml": b"<x/>"}, stored_first=True),
    "zip": zip_bytes,
    "doc": doc_bytes,
    "xls": lambda: doc_bytes("Workbook"),
    "msg": lambda: doc_bytes("__substg1.0_0037001F"),
    "rtf": lambda: b"{\\rtf1\\ansi Histology report}",
    "rar": lambda: b"Rar!\x1a\x07\x01\x00" + b"\x00" * 20,
    "7z": lambda: b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24,
    "gzip": lambda: gzip.compress(b"hello", mtime=0),
    "html": lambda: b"\xef\xbb\xbf<!DOCTYPE html><html><body>Referto</body></html>",
    "text": lambda: "Referto istologico del 2 marzo 2026: carcinoma duttale.\n".encode(),
    "unknown": lambda: bytes(range(256)) * 4,
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_kind_is_judged_by_content(kind: str) -> None:
    data = SAMPLES[kind]()
    assert kind in KINDS
    assert sniff_kind(data) == kind
    # The name never matters: every sample is named .pdf here.
    found = inspect_document("histology_report_2026-03-02.pdf", data)
    assert found.kind == kind
    assert found.size == len(data)
    if kind == "pdf":
        assert found.problem is None and found.is_pdf
    else:
        assert found.problem == "not_pdf" and not found.is_pdf and not found.opens
        assert kind in found.detail


def test_a_pdf_with_a_wrong_extension_is_still_a_pdf() -> None:
    found = inspect_document("photo.jpg", text_pdf(HISTOLOGY_BREAST))
    assert found.kind == "pdf" and found.problem is None and found.has_text


def test_text_pdf_is_readable_with_its_text() -> None:
    found = inspect_document("histology.pdf", text_pdf(HISTOLOGY_BREAST, pages=3))
    assert (found.kind, found.is_pdf, found.opens, found.pages) == ("pdf", True, True, 3)
    assert found.problem is None and not found.encrypted and not found.broken
    assert found.has_text
    assert "invasive ductal carcinoma" in found.text
    assert "Ki-67 25%" in found.text
    assert found.fields == {}


def test_pdf_header_after_junk_and_headerless_pdf_are_pdfs() -> None:
    data = text_pdf(["Header test line with enough letters to count as a text layer here."])
    assert inspect_document("a.pdf", b"\r\n\r\n" + data).problem is None
    headerless = data[data.index(b"\n") + 1:]  # drop the "%PDF-1.x" line
    assert sniff_kind(headerless) == "pdf"
    assert inspect_document("b.pdf", headerless).kind == "pdf"


def test_scan_is_usable_without_text_layer() -> None:
    found = inspect_document("scan.pdf", scanned_pdf(pages=2))
    assert found.opens and found.pages == 2
    assert found.problem is None
    assert not found.has_text
    assert "no text layer" in found.detail


def test_few_letters_do_not_make_a_text_layer() -> None:
    found = inspect_document("x.pdf", text_pdf(["Page 1", "12/03/2026", "ID 4471"]))
    assert found.opens and found.problem is None
    assert not found.has_text  # "Page 1 of 1" and numbers only: not a real text layer


def test_password_protected_pdf_is_encrypted() -> None:
    found = inspect_document("report.pdf", encrypted_pdf(HISTOLOGY_BREAST, password="s3cret"))
    assert found.kind == "pdf" and found.is_pdf
    assert found.encrypted and found.problem == "encrypted"
    assert not found.opens and not found.has_text and found.text == ""


def test_pdf_encrypted_with_an_empty_user_password_is_readable() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(HISTOLOGY_BREAST))))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    found = inspect_document("report.pdf", out.getvalue())
    assert found.problem is None and found.opens and not found.encrypted
    assert found.has_text and "carcinoma" in found.text
    assert "encrypted" in found.detail


def test_truncated_pdf_is_broken() -> None:
    found = inspect_document("letter.pdf", truncated_pdf())
    assert found.kind == "pdf" and found.broken and found.problem == "broken"
    assert not found.opens and found.detail


@pytest.mark.parametrize("percent", [10, 50, 75, 90, 99])
def test_pdf_cut_anywhere_is_broken(percent: int) -> None:
    data = scanned_pdf()
    found = inspect_document("x.pdf", data[: len(data) * percent // 100])
    assert found.kind == "pdf" and found.problem == "broken" and not found.opens
    assert found.detail.startswith("cannot be opened")


def test_garbage_after_header_is_broken() -> None:
    found = inspect_document("x.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8)
    assert found.kind == "pdf" and found.problem == "broken"


def test_empty_and_too_large() -> None:
    empty = inspect_document("empty.pdf", b"")
    assert (empty.kind, empty.problem, empty.size) == ("empty", "empty", 0)
    data = text_pdf(HISTOLOGY_BREAST)
    big = inspect_document("big.pdf", data, max_bytes=len(data) - 1)
    assert big.kind == "pdf" and big.is_pdf and big.problem == "too_large"
    assert not big.opens and big.text == ""
    assert inspect_document("ok.pdf", data, max_bytes=len(data)).problem is None


def test_form_fields_are_read_back() -> None:
    data = filled_request_form(patient_name="Maria Rossi", patient_birth_date="1968-05-14",
                               requestor_role="family_member", language="it",
                               clinical_question="Is surgery needed first?\nOr chemotherapy?")
    found = inspect_document("request.pdf", data)
    assert found.problem is None
    assert found.fields["patient_name"] == "Maria Rossi"
    assert found.fields["patient_birth_date"] == "1968-05-14"
    assert found.fields["requestor_role"] == "family_member"
    assert found.fields["language"] == "it"
    assert found.fields["clinical_question"] == "Is surgery needed first?\nOr chemotherapy?"
    assert found.fields["delivery"] == ""           # untouched drop-down
    assert found.fields["patient_email"] == ""      # untouched text field


def test_check_boxes_read_as_their_state_name() -> None:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, invariant=1)
    canvas.acroForm.checkbox(name="agree", checked=True, x=100, y=100)
    canvas.acroForm.checkbox(name="decline", checked=False, x=100, y=200)
    canvas.showPage()
    canvas.save()
    assert inspect_document("c.pdf", out.getvalue()).fields == {"agree": "Yes", "decline": ""}


def test_text_is_read_from_the_first_pages_only() -> None:
    pages = MAX_TEXT_PAGES + 5
    found = inspect_document("long.pdf", text_pdf(["Discharge letter page body text."], pages=pages))
    assert found.pages == pages
    assert f"Page {MAX_TEXT_PAGES} of {pages}" in found.text
    assert f"Page {MAX_TEXT_PAGES + 1} of {pages}" not in found.text
    assert f"first {MAX_TEXT_PAGES} of {pages}" in found.detail


def test_text_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inspect_module, "MAX_TEXT_CHARS", 100)
    found = inspect_document("x.pdf", text_pdf(HISTOLOGY_BREAST, pages=2))
    assert found.has_text and len(found.text) <= 100 + 2


def test_text_work_is_bounded_by_page_content_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = text_pdf(HISTOLOGY_BREAST, pages=3)
    one_page = len(PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data())
    monkeypatch.setattr(inspect_module, "MAX_TEXT_CONTENT_BYTES", one_page * 2)
    found = inspect_document("x.pdf", data)
    assert found.pages == 3 and found.problem is None and found.has_text
    assert "Page 2 of 3" in found.text and "Page 3 of 3" not in found.text
    assert "text read from the first 2 of 3 pages" in found.detail


@pytest.mark.parametrize("error", [RuntimeError("boom"), RecursionError(), ValueError("Invalid key size"),
                                   MemoryError()])
def test_any_library_failure_becomes_a_finding(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def explode(*args, **kwargs):
        raise error

    monkeypatch.setattr(inspect_module, "PdfReader", explode)
    found = inspect_document("x.pdf", text_pdf(HISTOLOGY_BREAST))
    assert found.problem == "broken" and found.broken
    assert type(error).__name__ in found.detail
    assert "boom" not in found.detail  # exception messages may quote the file: never copied


def test_text_extraction_failure_keeps_the_pdf_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PageObject
    from pypdf.errors import DependencyError

    def fail(self, *args, **kwargs):
        raise DependencyError("jbig2dec binary is not available")

    monkeypatch.setattr(PageObject, "extract_text", fail)
    found = inspect_document("x.pdf", text_pdf(HISTOLOGY_BREAST, pages=2))
    assert found.opens and found.pages == 2 and found.problem is None
    assert not found.has_text
    assert "DependencyError" in found.detail


def test_fuzzed_pdfs_never_raise() -> None:
    original = text_pdf(HISTOLOGY_BREAST, pages=2)
    rng = random.Random(20260302)
    verdicts = set()
    for _ in range(60):
        data = bytearray(original)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        found = inspect_document("fuzz.pdf", bytes(data))
        assert isinstance(found, Inspection)
        assert found.kind == "pdf"
        assert found.problem in (None, "broken")
        verdicts.add(found.problem)
    assert verdicts  # at least ran


def test_truncated_zip_and_ole_are_still_recognised() -> None:
    docx = docx_bytes()
    assert sniff_kind(docx[:-40]) == "docx"   # central directory gone: local headers are read
    assert sniff_kind(doc_bytes()[:1200]) == "doc"  # the directory sector survives the cut
    assert sniff_kind(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600) == "unknown"


# --- active content: named, never a reason to refuse ----------------------------------

@pytest.mark.parametrize("make, expected", [
    (javascript_pdf, ("JavaScript", "OpenAction")),
    (launch_pdf, ("AA", "Launch")),
    (embedded_file_pdf, ("EmbeddedFiles",)),
    (xfa_pdf, ("XFA",)),
])
def test_active_content_is_named_and_the_pdf_stays_usable(make, expected) -> None:
    found = inspect_document("histology_report.pdf", make())
    assert found.problem is None and found.opens and found.has_text
    assert found.active_content == expected
    assert found.detail.startswith("active content: " + ", ".join(expected))
    assert inspect_module.active_content_of(found.detail) == expected   # what the case record keeps


def test_plain_pdfs_and_our_own_forms_carry_no_active_content() -> None:
    for data in (text_pdf(HISTOLOGY_BREAST), scanned_pdf(), filled_request_form(patient_name="Maria Rossi"),
                 filled_consent_form(patient_name="Maria Rossi", authorised_name="Giulia Rossi")):
        found = inspect_document("x.pdf", data)
        assert found.problem is None and found.active_content == ()
        assert inspect_module.active_content_of(found.detail) == ()


def test_opening_at_a_page_or_following_a_link_is_not_active_content() -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(HISTOLOGY_BREAST))))
    page = writer.pages[0].indirect_reference
    writer._root_object[NameObject("/OpenAction")] = ArrayObject([page, NameObject("/Fit")])
    writer.add_uri(0, "https://www.example.org/", [72, 72, 200, 90])
    out = io.BytesIO()
    writer.write(out)
    assert inspect_document("x.pdf", out.getvalue()).active_content == ()

    go_to = DictionaryObject({NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): ArrayObject([page])})
    link_then_script = DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                         NameObject("/URI"): TextStringObject("https://example.org"),
                                         NameObject("/Next"): DictionaryObject({
                                             NameObject("/S"): NameObject("/JavaScript"),
                                             NameObject("/JS"): TextStringObject("app.alert(1)")})})
    writer._root_object[NameObject("/OpenAction")] = go_to
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): link_then_script})
    out = io.BytesIO()
    writer.write(out)
    assert inspect_document("x.pdf", out.getvalue()).active_content == ("JavaScript", "AA")   # via /Next


def test_flate_bomb_could_not_be_read_within_bounded_memory() -> None:
    import tracemalloc

    data = flate_bomb_pdf(inflated_mb=1024)       # 1 GB of page content in about 1 MB
    assert len(data) < 1_200_000
    tracemalloc.start()
    try:
        found = inspect_document("ct_report.pdf", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.problem == "broken" and found.broken and not found.opens
    assert "LimitReachedError" in found.detail
    assert peak < 300_000_000, peak          # pypdf's 75 MB limit, not the gigabyte


def test_reading_stops_at_the_page_whose_content_passes_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page content big but under pypdf's limit, in many streams: text reading ends there."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(HISTOLOGY_BREAST, pages=3))))
    streams = []
    for _ in range(10):
        stream = DecodedStreamObject()
        stream.set_data(b" " * 400_000)
        streams.append(writer._add_object(stream.flate_encode()))
    writer.pages[1][NameObject("/Contents")] = ArrayObject(streams)
    out = io.BytesIO()
    writer.write(out)
    monkeypatch.setattr(inspect_module, "MAX_TEXT_CONTENT_BYTES", 1_000_000)
    found = inspect_document("x.pdf", out.getvalue())
    assert found.problem is None and found.pages == 3
    assert "text read from the first 1 of 3 pages" in found.detail
