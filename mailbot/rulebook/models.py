"""Typed shape of the admin-edited rule files (SPEC §5).

The loader (`rulebook.load`) validates each TOML file against these models and reports every
problem with file, line and key; the rest of the code only ever sees a valid `Rulebook`.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

Language = Literal["en", "it"]
ConsultationType = Literal["surgical", "oncological", "cardio_oncological", "radiotherapy"]
CONSULTATION_TYPES: tuple[str, ...] = ("surgical", "oncological", "cardio_oncological", "radiotherapy")

_PLAIN_ENTRY = re.compile(r"[\w\s-]+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name: 'Tumore della Mammella' == 'tumore  della-mammella'.

    Lower case, accents stripped, every run of non-alphanumerics becomes one space.
    Used to compare condition aliases with the form's `condition` field.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def is_regex(entry: str) -> bool:
    """A naming.toml `generic_names` entry is a regular expression unless it is only words
    (letters, digits, spaces, '-', '_'); the naming check (`documents/naming.py`) reads it so."""
    return not _PLAIN_ENTRY.fullmatch(entry)


def _compilable(entry: str) -> str:
    if is_regex(entry):
        try:
            re.compile(entry)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc}); fix it or write a plain word") from None
    elif not fold(entry):
        raise ValueError("empty name; remove it")
    return entry


def _extension(value: str) -> str:
    value = value.strip().lstrip(".").lower()
    if not re.fullmatch(r"[a-z0-9]{1,10}", value):
        raise ValueError("an extension is letters/digits without the dot, e.g. \"pdf\"")
    return value


def _cents(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("use at most two decimal places, e.g. 500.00")
    return value.quantize(Decimal("0.01"))


Amount = Annotated[Decimal, Field(ge=0), AfterValidator(_cents)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(Strict):
    en: str = Field(min_length=1)
    it: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return self.it if language == "it" else self.en


class DocumentType(Strict):
    id: str = ""
    title: Title
    description: Title | None = None  # what the document is, shown in missing-document replies
    filename_keywords: tuple[str, ...] = ()
    content_keywords: tuple[str, ...] = ()


class Condition(Strict):
    id: str = ""
    title: Title
    aliases: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    optional: tuple[str, ...] = ()
    consultation_types: tuple[ConsultationType, ...] = ()
    specialties: tuple[str, ...] = ()
    # what a document must show for this condition, e.g. histology_report: "ER, PR, HER2, Ki-67"
    notes: dict[str, Title] = {}

    def document_ids(self) -> tuple[str, ...]:
        """Every document id this condition names (required, any_of, optional), in order, once."""
        ids = [*self.required, *(i for group in self.any_of for i in group), *self.optional]
        return tuple(dict.fromkeys(ids))


class AdministrativeDocument(Strict):
    id: str = ""
    title: Title
    description: Title | None = None
    filename_keywords: tuple[str, ...] = ()
    content_keywords: tuple[str, ...] = ()
    # always: every case; requestor_not_patient: family member / referring physician
    required_when: Literal["always", "requestor_not_patient", "never"] = "always"


class NamingPolicy(Strict):
    allowed_extensions: tuple[Annotated[str, AfterValidator(_extension)], ...] = ("pdf",)
    # words, or regexes searched in the lower-case stem, for names that say nothing
    generic_names: tuple[Annotated[str, AfterValidator(_compilable)], ...] = ()
    max_length: int = Field(default=80, ge=8, le=255)
    min_length: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _lengths_in_order(self) -> "NamingPolicy":
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        return self


class PriceItem(Strict):
    title: Title
    amount: Amount
    needs_patient_approval: bool = True


class Pricing(Strict):
    """Amounts are Decimals with exactly two places (500.00); TOML floats or strings are fine."""

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    base: Amount
    update: Amount
    update_months: int = Field(default=12, ge=1)
    courier: Amount = Decimal("0.00")
    extras: dict[str, PriceItem] = {}


class StaffMember(Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    specialties: tuple[str, ...] = ()
    languages: tuple[Language, ...] = ("en",)
    max_open_cases: int = Field(default=10, ge=0)


class Staff(Strict):
    triage: tuple[StaffMember, ...] = ()
    specialists: tuple[StaffMember, ...] = ()
    admins: tuple[StaffMember, ...] = ()


class Rulebook(Strict):
    """All rule files, cross-checked: every id a condition names exists in documents."""

    documents: dict[str, DocumentType]
    conditions: dict[str, Condition]
    administrative: dict[str, AdministrativeDocument]
    naming: NamingPolicy
    pricing: Pricing
    staff: Staff

    @field_validator("documents", "conditions", "administrative")
    @classmethod
    def _fill_ids(cls, value: dict) -> dict:
        return {key: item.model_copy(update={"id": key}) for key, item in value.items()}

    def title(self, doc_id: str, language: str) -> str:
        item = self.documents.get(doc_id) or self.administrative.get(doc_id)
        return item.title.get(language) if item else doc_id

    def all_document_types(self) -> dict[str, DocumentType | AdministrativeDocument]:
        return {**self.documents, **self.administrative}
