"""Blank fillable PDF forms the robot sends to whoever needs one. Pure: bytes out.

Field names are those forms.py reads (listed in the README); labels and instructions are in English or Italian.
The output is byte-identical for the same language (reportlab `invariant=1`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

REQUEST_FORM_FIELDS = (
    "patient_name", "patient_birth_date", "patient_email", "requestor_name", "requestor_email",
    "requestor_role", "referring_physician_code", "condition", "consultation_type", "language",
    "delivery", "share_with_referring_physician", "clinical_question",
)
CONSENT_FORM_FIELDS = ("patient_name", "patient_birth_date", "authorised_name", "signature_date")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 56
LABEL_WIDTH = 200
FIELD_X = MARGIN + LABEL_WIDTH
FIELD_WIDTH = PAGE_WIDTH - MARGIN - FIELD_X
ROW_HEIGHT = 34
FIELD_HEIGHT = 18
BLUE = colors.HexColor("#1f4e79")
GREY = colors.HexColor("#555555")
BLANK_CHOICE = " "


@dataclass(frozen=True)
class _Field:
    name: str
    label: dict[str, str]
    hint: dict[str, str] | None = None
    options: tuple[str, ...] = ()      # a drop-down list (first entry blank)
    lines: int = 1                     # > 1: a multi-line text box


def _t(en: str, it: str) -> dict[str, str]:
    return {"en": en, "it": it}


_REQUEST_SECTIONS: tuple[tuple[dict[str, str], tuple[_Field, ...]], ...] = (
    (_t("1. Patient", "1. Paziente"), (
        _Field("patient_name", _t("Patient's full name", "Nome e cognome del paziente")),
        _Field("patient_birth_date", _t("Patient's date of birth", "Data di nascita del paziente"),
               _t("YYYY-MM-DD", "AAAA-MM-GG")),
        _Field("patient_email", _t("Patient's email", "Email del paziente")),
    )),
    (_t("2. Person making the request", "2. Chi presenta la richiesta"), (
        _Field("requestor_name", _t("Your full name", "Il suo nome e cognome")),
        _Field("requestor_email", _t("Your email", "La sua email")),
        _Field("requestor_role", _t("You are", "Lei è"),
               _t("patient, referring physician or family member",
                  "paziente, medico curante o familiare"),
               options=("patient", "referring_physician", "family_member")),
        _Field("referring_physician_code", _t("Referring physician's code", "Codice del medico curante"),
               _t("only if you are the referring physician", "solo se lei è il medico curante")),
    )),
    (_t("3. Request", "3. Richiesta"), (
        _Field("condition", _t("Condition / diagnosis", "Patologia / diagnosi"),
               _t("e.g. breast cancer", "es. tumore della mammella")),
        _Field("consultation_type", _t("Consultation type", "Tipo di consulto"),
               _t("surgical, oncological, cardio-oncological or radiotherapy",
                  "chirurgico, oncologico, cardio-oncologico o radioterapico")),
        _Field("language", _t("Language of the written opinion", "Lingua del parere scritto"),
               _t("en = English, it = Italian", "en = inglese, it = italiano"), options=("en", "it")),
        _Field("delivery", _t("Delivery of the written opinion", "Consegna del parere scritto"),
               _t("email, or courier (extra charge)", "email, o corriere (con supplemento)"),
               options=("email", "courier")),
        _Field("share_with_referring_physician",
               _t("Send the opinion to the referring physician?", "Inviare il parere al medico curante?"),
               _t("only with the patient's consent", "solo con il consenso del paziente"),
               options=("yes", "no")),
    )),
    (_t("4. Clinical question", "4. Quesito clinico"), (
        _Field("clinical_question", _t("Why do you want a second opinion?",
                                       "Perché desidera un secondo parere?"),
               _t("optional; shown to the doctors", "facoltativo; lo leggeranno i medici"), lines=5),
    )),
)

_CONSENT_FIELDS = (
    _Field("patient_name", _t("Patient's full name", "Nome e cognome del paziente")),
    _Field("patient_birth_date", _t("Patient's date of birth", "Data di nascita del paziente"),
           _t("YYYY-MM-DD", "AAAA-MM-GG")),
    _Field("authorised_name", _t("Name of the person authorised", "Nome della persona autorizzata"),
           _t("family member or referring physician", "familiare o medico curante")),
    _Field("signature_date", _t("Date", "Data"), _t("YYYY-MM-DD", "AAAA-MM-GG")),
)

_TEXTS = {
    "request_title": _t("Second opinion request form", "Modulo di richiesta di secondo parere"),
    "request_intro": _t(
        "Please fill in this form on your computer or phone, save it and send it back as a PDF "
        "attachment together with your clinical documents, each one a PDF named after its content "
        "and date. Please do not print and scan the form.",
        "Compili questo modulo al computer o sul telefono, lo salvi e lo rinvii come allegato PDF "
        "insieme alla documentazione clinica, ogni documento in PDF con un nome che ne descriva "
        "contenuto e data. Per favore non stampi e non scansioni il modulo."),
    "request_footer": _t(
        # No other form's title here: the text layer must classify as this form only.
        "If you are not the patient, please also send the patient's signed consent (ask us for it).",
        "Se lei non è il paziente, invii anche il consenso firmato dal paziente (lo chieda a noi)."),
    "consent_title": _t("Consent form", "Modulo di consenso"),
    "consent_subtitle": _t("Patient consent - second opinion requested on the patient's behalf",
                           "Consenso del paziente - secondo parere richiesto per conto del paziente"),
    "consent_body": _t(
        "I authorise the person named below to request a second opinion on my behalf, to send my "
        "clinical documents and to correspond with the office about my case. I consent to the "
        "processing of my health data for this purpose under EU Regulation 2016/679 (GDPR). I may "
        "withdraw this consent at any time by writing to the office.",
        "Io sottoscritto/a paziente autorizzo la persona indicata qui sotto a richiedere un secondo "
        "parere per mio conto, a inviare la mia documentazione clinica e a corrispondere con "
        "l'ufficio sul mio caso. Acconsento al trattamento dei miei dati sanitari "
        "per questo scopo ai sensi del Regolamento UE 2016/679 (GDPR). Posso revocare questo "
        "consenso in qualsiasi momento scrivendo all'ufficio."),
    "signature": _t("Patient's signature", "Firma del paziente"),
    "consent_footer": _t(
        "Fill in the fields, sign (by hand or digitally) and send the form back as a PDF attachment.",
        "Compili i campi, firmi (a mano o digitalmente) e rinvii il modulo come allegato PDF."),
}


def request_form_pdf(language: str = "en") -> bytes:
    """The blank second-opinion request form (the fields forms.py reads) in English or Italian."""
    lang = _language(language)
    canvas, buffer = _canvas(_TEXTS["request_title"][lang])
    y = _heading(canvas, _TEXTS["request_title"][lang], _TEXTS["request_intro"][lang], lang)
    for title, fields in _REQUEST_SECTIONS:
        y -= 8
        canvas.setFont("Helvetica-Bold", 11)
        canvas.setFillColor(BLUE)
        canvas.drawString(MARGIN, y, title[lang])
        canvas.setStrokeColor(BLUE)
        canvas.line(MARGIN, y - 4, PAGE_WIDTH - MARGIN, y - 4)
        y -= 14
        for spec in fields:
            y = _field_row(canvas, spec, y, lang)
    _paragraph(canvas, _TEXTS["request_footer"][lang], y - 10, size=9, color=GREY)
    return _finish(canvas, buffer)


def consent_form_pdf(language: str = "en") -> bytes:
    """The blank consent form (patient authorises a family member or referring physician)."""
    lang = _language(language)
    canvas, buffer = _canvas(_TEXTS["consent_title"][lang])
    y = _heading(canvas, _TEXTS["consent_title"][lang], _TEXTS["consent_subtitle"][lang], lang)
    y = _paragraph(canvas, _TEXTS["consent_body"][lang], y - 6, size=10.5) - 10
    for spec in _CONSENT_FIELDS:
        y = _field_row(canvas, spec, y, lang)
    y -= 40
    canvas.setStrokeColor(colors.black)
    canvas.line(FIELD_X, y, FIELD_X + FIELD_WIDTH, y)
    canvas.setFont("Helvetica", 10)
    canvas.setFillColor(colors.black)
    canvas.drawString(MARGIN, y + 2, _TEXTS["signature"][lang])
    _paragraph(canvas, _TEXTS["consent_footer"][lang], y - 30, size=9, color=GREY)
    return _finish(canvas, buffer)


def _language(language: str) -> str:
    return "it" if (language or "").lower().startswith("it") else "en"


def _canvas(title: str) -> tuple[Canvas, io.BytesIO]:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Second Opinion Office")
    canvas.setCreator("mailbot")
    return canvas, buffer


def _finish(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _heading(canvas: Canvas, title: str, intro: str, lang: str) -> float:
    y = PAGE_HEIGHT - MARGIN
    canvas.setFillColor(BLUE)
    canvas.rect(MARGIN, y - 4, 6, 26, stroke=0, fill=1)
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(MARGIN + 14, y + 2, title)
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(GREY)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, y + 26, "Second Opinion Office" if lang == "en"
                           else "Ufficio Secondo Parere")
    return _paragraph(canvas, intro, y - 24, size=9.5, color=GREY) - 6


def _paragraph(canvas: Canvas, text: str, y: float, *, size: float, color=colors.black) -> float:
    """Draw wrapped text from baseline `y` down; returns the y below it."""
    canvas.setFont("Helvetica", size)
    canvas.setFillColor(color)
    for line in simpleSplit(text, "Helvetica", size, PAGE_WIDTH - 2 * MARGIN):
        canvas.drawString(MARGIN, y, line)
        y -= size * 1.35
    return y


def _field_row(canvas: Canvas, spec: _Field, y: float, lang: str) -> float:
    """Label (and hint) on the left, the fillable field on the right; returns the next row's y."""
    height = FIELD_HEIGHT if spec.lines == 1 else 14 * spec.lines + 4
    bottom = y - height
    canvas.setFont("Helvetica", 10)
    canvas.setFillColor(colors.black)
    canvas.drawString(MARGIN, y - 12, spec.label[lang])
    if spec.hint:
        canvas.setFont("Helvetica-Oblique", 7.5)
        canvas.setFillColor(GREY)
        for i, line in enumerate(simpleSplit(spec.hint[lang], "Helvetica-Oblique", 7.5, LABEL_WIDTH - 10)):
            canvas.drawString(MARGIN, y - 22 - 9 * i, line)
    common = dict(name=spec.name, tooltip=spec.label[lang], x=FIELD_X, y=bottom, width=FIELD_WIDTH,
                  height=height, borderStyle="inset", borderColor=BLUE, fillColor=colors.white,
                  textColor=colors.black, forceBorder=True, fontName="Helvetica", fontSize=10)
    if spec.options:
        # reportlab cannot write a choice without a value: the blank entry is a single space
        # (readers strip field values).
        canvas.acroForm.choice(value=BLANK_CHOICE, options=[BLANK_CHOICE, *spec.options], **common)
    elif spec.lines > 1:
        canvas.acroForm.textfield(value="", fieldFlags="multiline", **common)
    else:
        canvas.acroForm.textfield(value="", **common)
    return bottom - (ROW_HEIGHT - FIELD_HEIGHT)
