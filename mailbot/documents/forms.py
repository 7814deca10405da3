"""Request and consent forms: fields from a fillable PDF's AcroForm or `Key: value` body lines.

Pure. Field names are fixed (the README lists them); the label variants let a patient type
"Nome del paziente: ..." in a phone mail and still be understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mailbot.rulebook.models import fold

REQUEST_FIELDS = (
    "patient_name", "patient_birth_date", "patient_email", "requestor_name", "requestor_email",
    "requestor_role", "referring_physician_code", "condition", "consultation_type", "language",
    "delivery", "share_with_referring_physician", "clinical_question",
    "hospital",   # in a network (rules/hospitals.toml): the hospital chosen, by id or name
)
CONSENT_FIELDS = ("patient_name", "patient_birth_date", "authorised_name", "signature_date")
REQUIRED_REQUEST_FIELDS = ("patient_name", "patient_birth_date", "requestor_role", "condition")

ROLES = ("patient", "referring_physician", "family_member")

# Normalised label -> field name. Normalisation: lower case, accents stripped, non-letters -> " ".
_LABELS: dict[str, str] = {}
for _field, _variants in {
    "patient_name": ["patient name", "name of patient", "patient", "nome paziente", "nome del paziente",
                     "paziente", "nome e cognome del paziente", "nome e cognome"],
    "patient_birth_date": ["patient birth date", "birth date", "date of birth", "dob", "data di nascita",
                           "data di nascita del paziente", "nato il", "nata il"],
    "patient_email": ["patient email", "patient e mail", "email del paziente", "email paziente",
                      "e mail paziente", "e mail del paziente"],
    "requestor_name": ["requestor name", "requester name", "your name", "nome richiedente",
                       "nome del richiedente", "richiedente"],
    "requestor_email": ["requestor email", "requester email", "email richiedente", "email del richiedente"],
    "requestor_role": ["requestor role", "requester role", "role", "ruolo", "ruolo del richiedente",
                       "ruolo richiedente"],
    "referring_physician_code": ["referring physician code", "physician code", "doctor code",
                                 "codice medico", "codice del medico", "codice medico curante",
                                 "codice identificativo"],
    "condition": ["condition", "diagnosis", "disease", "patologia", "diagnosi", "malattia", "condizione"],
    "consultation_type": ["consultation type", "type of consultation", "consultation",
                          "tipo di consulto", "tipo consulto", "consulto", "tipo di consulenza"],
    "language": ["language", "lingua"],
    "delivery": ["delivery", "report delivery", "consegna", "consegna referto", "invio referto"],
    "share_with_referring_physician": ["share with referring physician", "share with my doctor",
                                       "condividi con il medico", "condivisione con il medico curante",
                                       "condividere con il medico curante"],
    "hospital": ["hospital", "ospedale", "chosen hospital", "ospedale scelto"],
    "clinical_question": ["clinical question", "question", "quesito clinico", "quesito", "domanda"],
    "authorised_name": ["authorised name", "authorized name", "authorised person", "persona autorizzata"],
    "signature_date": ["signature date", "date of signature", "data firma", "data della firma"],
}.items():
    _LABELS[_field.replace("_", " ")] = _field
    for _variant in _variants:
        _LABELS[_variant] = _field

_VALUE_ALIASES = {
    "requestor_role": {
        "patient": "patient", "paziente": "patient", "self": "patient", "myself": "patient", "io": "patient",
        "referring physician": "referring_physician", "physician": "referring_physician",
        "doctor": "referring_physician", "medico": "referring_physician",
        "medico curante": "referring_physician", "medico inviante": "referring_physician",
        "family member": "family_member", "family": "family_member", "relative": "family_member",
        "familiare": "family_member", "parente": "family_member",
    },
    "language": {"en": "en", "english": "en", "inglese": "en", "it": "it", "italian": "it",
                 "italiano": "it"},
    "delivery": {"email": "email", "e mail": "email", "courier": "courier", "corriere": "courier",
                 "post": "courier", "posta": "courier"},
    "share_with_referring_physician": {"yes": "yes", "y": "yes", "si": "yes", "true": "yes", "on": "yes",
                                       "no": "no", "n": "no", "false": "no", "off": "no"},
    "consultation_type": {
        "surgical": "surgical", "chirurgico": "surgical", "chirurgica": "surgical",
        "oncological": "oncological", "oncologico": "oncological", "oncologica": "oncological",
        "cardio oncological": "cardio_oncological", "cardio oncologico": "cardio_oncological",
        "cardiooncological": "cardio_oncological", "cardio oncologica": "cardio_oncological",
        "radiotherapy": "radiotherapy", "radioterapia": "radiotherapy", "radioterapico": "radiotherapy",
    },
}


def _clean_value(field: str, value: str) -> str:
    value = " ".join(str(value).split()) if field != "clinical_question" else str(value).strip()
    if value.startswith("/") and field in _VALUE_ALIASES:  # PDF name objects like /Yes
        value = value[1:]
    if field in _VALUE_ALIASES:
        mapped = _VALUE_ALIASES[field].get(fold(value).replace(".", " ").strip())
        return mapped if mapped else value
    if field.endswith("_email") or field == "patient_email":
        return value.strip("<>").lower()
    if field in ("patient_birth_date", "signature_date"):
        return normalise_date(value) or value
    return value


def normalise_date(value: str) -> str | None:
    """'1961-04-12', '12/04/1961', '12.04.1961', '12-04-1961' -> '1961-04-12'; None if not a date."""
    value = value.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", value)
        if not m:
            return None
        d, mo, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class FormFields:
    """Fields read from one source; `source` is 'pdf:<filename>' or 'body'."""

    values: dict[str, str]
    source: str

    def __bool__(self) -> bool:
        return bool(self.values)


def fields_from_acroform(fields: dict[str, str], wanted: tuple[str, ...] = REQUEST_FIELDS) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in fields.items():
        key = name.strip()
        if key not in wanted:
            key = _LABELS.get(fold(key), "")
            if key not in wanted:
                continue
        if value is None:
            continue
        cleaned = _clean_value(key, str(value))
        if cleaned and cleaned not in ("Off",):
            out[key] = cleaned
    return out


_LINE = re.compile(r"^\s*[*\-•]?\s*([A-Za-zÀ-ÿ_ ./'’()]{2,60}?)\s*[:=]\s*(.+?)\s*$")


def fields_from_body(text: str, wanted: tuple[str, ...] = REQUEST_FIELDS) -> dict[str, str]:
    """`Key: value` lines of the new (non-quoted) part of a body."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith(">"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        label = fold(m.group(1).replace("_", " "))
        field = _LABELS.get(label)
        if field is None or field not in wanted or field in out:
            continue
        value = _clean_value(field, m.group(2))
        if value:
            out[field] = value
    return out


def looks_like_request_form(fields: dict[str, str]) -> bool:
    return len(set(fields) & set(REQUEST_FIELDS)) >= 3 and "authorised_name" not in fields


def looks_like_consent_form(fields: dict[str, str]) -> bool:
    return "authorised_name" in fields or "signature_date" in fields


def form_problems(form: dict[str, str]) -> list[tuple[str, str]]:
    """(field, problem) pairs for a merged request form: missing or invalid values."""
    problems: list[tuple[str, str]] = []
    for field in REQUIRED_REQUEST_FIELDS:
        if not form.get(field):
            problems.append((field, "missing"))
    birth = form.get("patient_birth_date")
    if birth and normalise_date(birth) is None:
        problems.append(("patient_birth_date", "invalid_date"))
    role = form.get("requestor_role")
    if role and role not in ROLES:
        problems.append(("requestor_role", "invalid_choice"))
    if role == "referring_physician" and not form.get("referring_physician_code"):
        problems.append(("referring_physician_code", "missing"))
    for field, allowed in (("language", ("en", "it")), ("delivery", ("email", "courier")),
                           ("share_with_referring_physician", ("yes", "no"))):
        if form.get(field) and form[field] not in allowed:
            problems.append((field, "invalid_choice"))
    return problems


def requestor_name(form: dict[str, str]) -> str:
    """Whom to greet: the requestor's name, else the patient's when the patient writes, else ""."""
    if form.get("requestor_name"):
        return form["requestor_name"]
    return form.get("patient_name", "") if form.get("requestor_role") == "patient" else ""
