"""Real attachment bytes for tests: PDFs with a text layer, filled forms, encrypted, truncated and
scanned PDFs, hostile PDFs (JavaScript, Launch, embedded files, XFA, a Flate bomb), JPEG, Word
(.docx and legacy .doc), zip; realistic clinical texts; a small rulebook.

Everything is generated on the fly with reportlab / pypdf (PIL when present) and is deterministic
except `encrypted_pdf` (AES salts are random).
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib
from decimal import Decimal

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject,
                           TextStringObject)
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas

from mailbot.documents.blank_forms import (
    CONSENT_FORM_FIELDS,
    REQUEST_FORM_FIELDS,
    consent_form_pdf,
    request_form_pdf,
)
from mailbot.rulebook.models import (
    AdministrativeDocument,
    DocumentType,
    NamingPolicy,
    Pricing,
    Rulebook,
    Staff,
    Title,
)

# --- realistic clinical texts (fictional patients) ------------------------------------------------

HISTOLOGY_BREAST = """\
Department of Pathology - Histology report
Report date: 2026-03-02    Sample no. B26-04417
Patient: Maria Rossi    Date of birth: 14/05/1968
Specimen: left breast, upper outer quadrant, ultrasound-guided core needle biopsy (14G, 3 cores).
Clinical information: 18 mm mass, BI-RADS 5 at mammography.
Macroscopy: three whitish cores, 12 to 15 mm.
Microscopy: invasive ductal carcinoma (invasive carcinoma of no special type), grade 2
(Nottingham score 3+2+2 = 7). Associated ductal carcinoma in situ, intermediate grade.
No lymphovascular invasion seen in the sampled material.
Immunohistochemistry: ER 90% (strong), PR 70%, HER2 1+ (negative), Ki-67 25%.
Diagnosis: invasive ductal carcinoma of the left breast, G2, luminal B-like, HER2-negative.
Pathologist: Dr. Luca Bianchi
"""

HISTOLOGY_BREAST_IT = """\
Anatomia Patologica - Referto istologico
Milano, 2 marzo 2026    Esame n. B26-04417
Paziente: Maria Rossi    Nata il 14/05/1968
Materiale: mammella sinistra, quadrante supero-esterno, biopsia con ago tranciante (14G, 3 frustoli).
Esame istologico: carcinoma duttale infiltrante (carcinoma invasivo di tipo non speciale), grado 2
(score di Nottingham 3+2+2 = 7). Associato carcinoma duttale in situ di grado intermedio.
Immunoistochimica: ER 90%, PR 70%, HER2 1+ (negativo), Ki-67 25%.
Diagnosi: carcinoma duttale infiltrante della mammella sinistra, G2, luminal B-like.
Il medico patologo: Dott. Luca Bianchi
"""

MAMMOGRAPHY_REPORT = """\
Breast Imaging Unit - Bilateral mammography report
Examination date: 14 February 2026
Patient: Maria Rossi
Clinical indication: palpable lump in the left breast.
Technique: bilateral digital mammography, craniocaudal and mediolateral oblique views.
Breast density: ACR category B (scattered fibroglandular density).
Findings: in the upper outer quadrant of the left breast an irregular spiculated mass of 18 mm with
associated pleomorphic microcalcifications. No suspicious findings in the right breast.
Conclusion: BI-RADS 5 left breast, BI-RADS 1 right breast.
Recommendation: ultrasound-guided core needle biopsy.
Radiologist: Dr. Anna Verdi
"""

CT_REPORT = """\
Department of Radiology - CT report
Date: 05/03/2026
Patient: Maria Rossi
Examination: CT scan of chest, abdomen and pelvis with intravenous contrast (computed tomography).
Findings: no pulmonary nodules. No enlarged mediastinal or axillary lymph nodes on the right; a
9 mm left axillary lymph node. Liver of normal size without focal lesions. Adrenal glands normal.
No osteolytic or osteoblastic bone lesions.
Conclusion: no evidence of distant metastases.
Radiologist: Dr. Paolo Neri
"""

ONCOLOGIST_LETTER = """\
Medical Oncology - Outpatient visit
Date of visit: 2026-03-10
Dear colleague,
I saw Mrs Maria Rossi, 57 years old, for a newly diagnosed invasive ductal carcinoma of the left
breast (cT2 cN1 M0, G2, ER 90%, PR 70%, HER2 1+, Ki-67 25%), staging CT negative for distant
disease.
Proposed plan: neoadjuvant chemotherapy (dose-dense AC followed by weekly paclitaxel), then
surgery and adjuvant endocrine therapy. The case was discussed at the multidisciplinary tumour board.
Kind regards,
Dr. Giulia Ferri, medical oncologist
"""

DISCHARGE_LETTER_IT = """\
Ospedale San Carlo - Chirurgia Senologica
Lettera di dimissione
Data di ricovero: 20.04.2026    Data di dimissione: 23.04.2026
Paziente: Maria Rossi
Diagnosi di dimissione: carcinoma duttale infiltrante della mammella sinistra.
Intervento eseguito il 21.04.2026: quadrantectomia supero-esterna sinistra e biopsia del linfonodo
sentinella. Decorso post-operatorio regolare.
Terapia alla dimissione: paracetamolo 1 g al bisogno. Controllo ambulatoriale tra 10 giorni.
Il medico: Dott.ssa Elena Costa
"""

BLOOD_TESTS = """\
Laboratory Medicine - Blood test results
Collection date: 01/03/2026
Haemoglobin 12.9 g/dL (12.0-15.5)   White cells 6.4 x10^9/L (4.0-10.0)   Platelets 245 x10^9/L
Creatinine 0.8 mg/dL   ALT 22 U/L   AST 19 U/L   CA 15-3 28 U/mL (< 30)
"""

# --- PDFs ---------------------------------------------------------------------------------------


def text_pdf(lines: list[str] | str, pages: int = 1) -> bytes:
    """A real A4 PDF with a text layer: `lines` (a list, or a text split into lines) on each of
    `pages` pages, long lines wrapped, "Page i of n" at the foot."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    width, height = A4
    for number in range(1, pages + 1):
        y = height - 72
        canvas.setFont("Helvetica", 10.5)
        for line in lines:
            for part in simpleSplit(line, "Helvetica", 10.5, width - 144) or [""]:
                if y < 72:
                    break
                canvas.drawString(72, y, part)
                y -= 15
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(width / 2, 40, f"Page {number} of {pages}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fill(blank: bytes, allowed: tuple[str, ...], fields: dict[str, object]) -> bytes:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValueError(f"unknown form fields: {sorted(unknown)}")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    writer.update_page_form_field_values(None, {k: str(v) for k, v in fields.items()}, auto_regenerate=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def filled_request_form(*, form_language: str = "en", **fields: object) -> bytes:
    """The blank request form (in `form_language`) with `fields` filled in (the form's field names;
    `language=` is the form field, not the form's own language)."""
    return _fill(request_form_pdf(form_language), REQUEST_FORM_FIELDS, fields)


def filled_consent_form(*, form_language: str = "en", **fields: object) -> bytes:
    return _fill(consent_form_pdf(form_language), CONSENT_FORM_FIELDS, fields)


def encrypted_pdf(text_lines: list[str] | str, password: str = "secret") -> bytes:
    """A text PDF encrypted with AES-256 and a user password (does not open without it)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text_lines))))
    writer.encrypt(user_password=password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    """The first 40% of a real three-page PDF (a download cut short)."""
    data = text_pdf(ONCOLOGIST_LETTER, pages=3)
    return data[: len(data) * 4 // 10]


def scanned_pdf(pages: int = 1) -> bytes:
    """An image-only PDF (what a scanner or phone app makes): no text layer at all."""
    image = ImageReader(io.BytesIO(jpeg_bytes(595, 842)))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    for _ in range(pages):
        canvas.drawImage(image, 0, 0, width=A4[0], height=A4[1])
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- hostile PDFs -------------------------------------------------------------------------------

def _with_root(text: str, **entries: object) -> bytes:
    """A real text PDF (`text`) whose document catalog gets `entries` (pypdf objects)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text))))
    for key, value in entries.items():
        writer._root_object[NameObject(f"/{key}")] = writer._add_object(value) if key != "AcroForm" else value
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(kind: str, **entries: object) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(f"/{kind}")})
    action.update({NameObject(f"/{k}"): v for k, v in entries.items()})
    return action


def javascript_pdf(text: str = HISTOLOGY_BREAST) -> bytes:
    """A genuine report PDF that runs JavaScript as soon as it is opened (/OpenAction)."""
    return _with_root(text, OpenAction=_action("JavaScript", JS=TextStringObject("app.alert('hello');")))


def launch_pdf(text: str = HISTOLOGY_BREAST) -> bytes:
    """A report PDF whose page, when opened, launches a program (/AA /O with /Launch)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text))))
    launch = _action("Launch", F=TextStringObject("cmd.exe"))
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(launch)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def embedded_file_pdf(text: str = HISTOLOGY_BREAST) -> bytes:
    """A report PDF carrying another file (/Names /EmbeddedFiles)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text))))
    writer.add_attachment("invoice.exe", b"MZ\x90\x00 not really a program")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def xfa_pdf(text: str = HISTOLOGY_BREAST) -> bytes:
    """A report PDF with an XFA form in its AcroForm."""
    xfa = DecodedStreamObject()
    xfa.set_data(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text))))
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject(), NameObject("/XFA"): writer._add_object(xfa)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flate_bomb_pdf(inflated_mb: int = 1024) -> bytes:
    """A one-page PDF whose page content is `inflated_mb` MB of spaces, Flate-compressed to about
    1/1000 of that (1 GB -> ~1 MB): past pypdf's decompression limit (75 MB). Built from one
    compressed megabyte repeated (full flushes make the segments identical), so it is quick."""
    compressor = zlib.compressobj(9)
    megabyte = b" " * (1 << 20)
    first = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    content = first + again * (inflated_mb - 1) + compressor.flush()   # (the checksum is wrong: never reached)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- other file types ---------------------------------------------------------------------------

_TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwc"
    "KDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy"
    "MjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI"
    "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRol"
    "JicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip"
    "qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAA"
    "AAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLR"
    "ChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaX"
    "mJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEA"
    "PwD0iiiigD//2Q=="
)


def jpeg_bytes(width: int = 8, height: int = 8) -> bytes:
    """A real JPEG (a grey page with dark bars, like a photographed letter); 8x8 grey without PIL."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return _TINY_JPEG
    image = Image.new("RGB", (width, height), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    for y in range(height // 10, height - height // 10, max(height // 40, 2) * 2):
        draw.rectangle((width // 10, y, width - width // 6, y + max(height // 80, 1)), fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 2, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


def docx_bytes(text: str = "Histology report 2026-03-02: invasive ductal carcinoma.") -> bytes:
    """A minimal real Word .docx (opens in Word/LibreOffice) with one paragraph."""
    from xml.sax.saxutils import escape

    return _zip({
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>').encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>').encode(),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:body><w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p></w:body></w:document>').encode(),
    })


def zip_bytes(members: dict[str, bytes] | None = None) -> bytes:
    """A zip archive; by default one histology report PDF inside (what patients send to save time)."""
    return _zip(members or {"histology_report_2026-03-02.pdf": text_pdf(HISTOLOGY_BREAST)})


def doc_bytes(stream_name: str = "WordDocument") -> bytes:
    """A structurally valid OLE2 compound file (version 3, 512-byte sectors) holding one 4 KiB
    stream: with "WordDocument" it is taken for a legacy Word .doc (content is not real Word)."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    stream_sectors = 8                                   # sectors 2..9
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x00" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6,
        0, 1, 1, 0, 4096, end, 0, end, 0,
    ) + struct.pack("<109I", 0, *([free] * 108))
    fat = [fat_sector, end] + [3 + i for i in range(stream_sectors - 1)] + [end]
    fat_bytes = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return struct.pack(
            "<64sHBBIII16sIQQIII", encoded, len(encoded), kind, 1, no_stream, no_stream, child,
            b"\x00" * 16, 0, 0, 0, start, size, 0,
        )

    directory = (entry("Root Entry", 5, 1, end, 0) + entry(stream_name, 2, no_stream, 2, 512 * stream_sectors)
                 + entry("", 0, no_stream, 0, 0) * 2)
    return header + fat_bytes + directory + b"\x00" * (512 * stream_sectors)


# --- a small rulebook for unit tests (independent of the shipped rules/) ------------------------

def _title(en: str, it: str) -> Title:
    return Title(en=en, it=it)


def sample_rulebook(**naming: object) -> Rulebook:
    """Keyword-rich document types (five clinical, two administrative) and the usual naming
    policy, for classification and naming tests; `naming` overrides NamingPolicy fields.
    (Workflow tests use tests/small_rules.py, which carries conditions and staff.)"""
    documents = {
        "histology_report": DocumentType(
            title=_title("Histology report", "Referto istologico"),
            filename_keywords=("histology", "histological", "istologico", "istologia", "biopsy", "biopsia",
                               "pathology"),
            content_keywords=("histology report", "referto istologico", "esame istologico", "carcinoma",
                              "immunohistochemistry", "immunoistochimica", "ki-67", "biopsy", "biopsia",
                              "pathologist"),
        ),
        "ct_report": DocumentType(
            title=_title("CT report", "Referto TC"),
            filename_keywords=("ct", "tc", "tac", "ct scan", "tomography", "tomografia"),
            content_keywords=("computed tomography", "tomografia computerizzata", "ct scan", "ct report",
                              "contrast", "mezzo di contrasto", "metastases"),
        ),
        "mammography_report": DocumentType(
            title=_title("Mammography report", "Referto mammografico"),
            filename_keywords=("mammography", "mammogram", "mammografia", "mammografico"),
            content_keywords=("mammography", "mammografia", "bi-rads", "breast density", "microcalcifications"),
        ),
        "oncologist_report": DocumentType(
            title=_title("Oncologist's report", "Relazione dell'oncologo"),
            filename_keywords=("oncology", "oncologist", "oncologia", "oncologo", "visita oncologica"),
            content_keywords=("medical oncology", "oncologia medica", "chemotherapy", "chemioterapia",
                              "tumour board", "oncologist"),
        ),
        "discharge_letter": DocumentType(
            title=_title("Discharge letter", "Lettera di dimissione"),
            filename_keywords=("discharge", "dimissione", "dimissioni"),
            content_keywords=("discharge letter", "lettera di dimissione", "diagnosi di dimissione",
                              "discharge diagnosis"),
        ),
    }
    administrative = {
        "request_form": AdministrativeDocument(
            title=_title("Second opinion request form", "Modulo di richiesta di secondo parere"),
            filename_keywords=("request", "richiesta", "request form"),
            content_keywords=("second opinion request form", "modulo di richiesta di secondo parere"),
            required_when="always",
        ),
        "consent_form": AdministrativeDocument(
            title=_title("Consent form", "Modulo di consenso"),
            filename_keywords=("consent", "consenso"),
            content_keywords=("consent form", "modulo di consenso"),
            required_when="requestor_not_patient",
        ),
    }
    policy = dict(
        allowed_extensions=("pdf",),
        generic_names=("scan", "img", "image", "document", "untitled", "file", "doc",
                       r"^\d+$", r"^img[_-]?\d+$", r"^scan\d*$"),
        max_length=80,
        min_length=5,
    )
    policy.update(naming)
    return Rulebook(
        documents=documents,
        conditions={},
        administrative=administrative,
        naming=NamingPolicy(**policy),
        pricing=Pricing(base=Decimal("500.00"), update=Decimal("350.00"), courier=Decimal("18.00")),
        staff=Staff(),
    )
