"""Typed shape of the admin-edited rule files.

The loader (`rulebook.load`) validates each TOML file against these models and reports every
problem with file, line and key; the rest of the code only ever sees a valid `Rulebook`.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)

def _language_code(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}", value):
        raise ValueError(f"{value!r} is not a language; write a two-letter code such as en or it")
    return value


# a language is data: any two-letter code; the start-up check wants its templates to exist
Language = Annotated[str, AfterValidator(_language_code)]
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


class Title(RootModel[dict[Language, Annotated[str, Field(min_length=1)]]]):
    """A text in each language, `{en = "...", it = "..."}`: a language is a key, not a field, so
    a third one is data. The loader checks every title names the same languages."""

    model_config = ConfigDict(frozen=True)

    def __init__(self, root: dict[str, str] | None = None, **texts: str):
        super().__init__(root if root is not None else texts)

    @model_validator(mode="after")
    def _some_text(self) -> "Title":
        if not self.root:
            raise ValueError("no text; write it as {en = \"...\", it = \"...\"}")
        return self

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.root)

    def texts(self) -> tuple[str, ...]:
        return tuple(self.root.values())

    def get(self, language: str) -> str:
        """The text in `language`, else in English, else the first one written."""
        return self.root.get(language) or self.root.get("en") or next(iter(self.root.values()))


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
    # the file name of the blank fillable form we send, per language (request and consent forms)
    blank_form: dict[str, Annotated[str, Field(pattern=r"^[\w.-]+\.pdf$")]] = {}
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
    # words that pick this extra in a specialist's CONSULT line (besides its id, "_" as a space)
    keywords: tuple[str, ...] = ()


class ConditionPrice(Strict):
    """The price of a second opinion for one condition (`update` omitted: the general one)."""

    base: Amount
    update: Amount | None = None


class Pricing(Strict):
    """Amounts are Decimals with exactly two places (500.00); TOML floats or strings are fine."""

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    base: Amount
    update: Amount
    update_months: int = Field(default=12, ge=1)
    courier: Amount = Decimal("0.00")
    additional_opinion: Amount | None = None   # a question after the report; None: the base price
    extras: dict[str, PriceItem] = {}
    conditions: dict[str, ConditionPrice] = {}   # per condition id, replacing base / update

    def for_condition(self, condition_id: str | None) -> tuple[Decimal, Decimal]:
        """(base, update) for a case of this condition."""
        own = self.conditions.get(condition_id or "")
        if own is None:
            return self.base, self.update
        return own.base, own.update if own.update is not None else self.update


class StaffMember(Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    specialties: tuple[str, ...] = ()
    languages: tuple[Language, ...] = ("en",)
    max_open_cases: int = Field(default=10, ge=0)
    secretariat: EmailStr | None = None   # a specialist's secretariat: where treatment-path requests go
    hospital: str | None = None    # the hospital (hospitals.toml id) this person works for; None: all


class Staff(Strict):
    triage: tuple[StaffMember, ...] = ()
    specialists: tuple[StaffMember, ...] = ()
    admins: tuple[StaffMember, ...] = ()


# --- the office calendar (rules/calendar.toml) --------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index == date.weekday()
_WEEKDAY_NAMES = {
    **{name: name for name in WEEKDAYS},
    **{full: full[:3] for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                   "sunday")},
}
MAX_CLOSURE_DAYS = 366


def _weekday(value: Any) -> Any:
    """'Sat', 'saturday' -> 'sat'; anything else is reported with the accepted spellings."""
    if not isinstance(value, str):
        return value
    name = _WEEKDAY_NAMES.get(value.strip().casefold())
    if name is None:
        raise ValueError(f"unknown weekday {value!r}; write one of {', '.join(WEEKDAYS)}")
    return name


def _month_day(value: str) -> str:
    """A recurring day written "MM-DD" ("12-07"); "02-29" is allowed and applies in leap years."""
    match = re.fullmatch(r"(\d{2})-(\d{2})", value.strip())
    if match:
        try:
            _dt.date(2000, int(match[1]), int(match[2]))  # 2000 is a leap year
        except ValueError:
            match = None
    if not match:
        raise ValueError(f"{value!r} is not a month-day; write it as \"MM-DD\" in quotes, e.g. \"12-07\"")
    return value.strip()


@functools.lru_cache(maxsize=None)
def _country(code: str) -> tuple[str, tuple[str, ...]] | None:
    """(ISO alpha-2 code, subdivision codes and aliases) of a country the `holidays` package knows
    by `code` (alpha-2 or alpha-3), or None."""
    import holidays  # imported here: only calendars need it

    try:
        cls = type(holidays.country_holidays(code))
    except (NotImplementedError, KeyError, AttributeError):
        return None
    subdivisions = (*getattr(cls, "subdivisions", ()), *getattr(cls, "subdivisions_aliases", {}))
    return getattr(cls, "country", code), subdivisions


Weekend = tuple[Annotated[Weekday, BeforeValidator(_weekday)], ...]


class Closure(Strict):
    """An office closure: one day (`date = 2026-12-24`) or a range (`from = ...`, `to = ...`,
    both included), with the reason shown to staff."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    date: _dt.date | None = None
    from_: _dt.date | None = Field(default=None, alias="from")
    to: _dt.date | None = None
    reason: str = Field(min_length=1)

    @field_validator("date", "from_", "to", mode="before")
    @classmethod
    def _plain_date(cls, value: Any) -> Any:
        if isinstance(value, _dt.datetime) or isinstance(value, _dt.time):
            raise ValueError("write a date without a time, e.g. 2026-12-24")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> "Closure":
        if self.date is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("give either date = ... (one day) or from = ... and to = ... (a range), not both")
        if self.date is None and (self.from_ is None or self.to is None):
            if self.from_ is None and self.to is None:
                raise ValueError("no day given; add date = YYYY-MM-DD, or from = ... and to = ...")
            raise ValueError("a range needs both from = ... and to = ...; add the missing one")
        return self

    @field_validator("to")
    @classmethod
    def _after_from(cls, value: _dt.date | None, info: ValidationInfo) -> _dt.date | None:
        start = info.data.get("from_")
        if value is None or not isinstance(start, _dt.date):
            return value
        if start > value:
            raise ValueError(f"to ({value}) is before from ({start}); swap them")
        if (value - start).days + 1 > MAX_CLOSURE_DAYS:
            raise ValueError(f"the closure from {start} to {value} is {(value - start).days + 1} days, longer "
                             "than a year; check the years")
        return value

    @property
    def first(self) -> _dt.date:
        return self.date if self.date is not None else self.from_  # type: ignore[return-value]

    @property
    def last(self) -> _dt.date:
        return self.date if self.date is not None else self.to  # type: ignore[return-value]

    def covers(self, day: _dt.date) -> bool:
        return self.first <= day <= self.last


class Calendar(Strict):
    """The office's working days (`rules/calendar.toml`, `[calendar]`); see `mailbot.schedule.workdays`.

    A day is a working day unless it is a weekend day, a public holiday of `country` (and
    `subdivision`, e.g. a province's patron saint) per the `holidays` package, a `local_holidays`
    month-day, or inside a `closures` entry; `extra_working_days` win over all of these.
    """

    country: str = "IT"
    subdivision: str | None = None
    weekend: Weekend = ("sat", "sun")
    closures: tuple[Closure, ...] = ()
    extra_working_days: tuple[_dt.date, ...] = ()
    local_holidays: dict[Annotated[str, AfterValidator(_month_day)], Annotated[str, Field(min_length=1)]] = {}

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        code = value.strip().upper()
        found = _country(code) if re.fullmatch(r"[A-Z]{2,3}", code) else None
        if found is None:
            import holidays

            alpha2 = sorted(c for c in holidays.list_supported_countries() if len(c) == 2)
            close = difflib.get_close_matches(code, alpha2, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown country code {value!r} for the holidays calendar{hint}; use a two-letter "
                             "ISO code such as \"IT\"")
        return found[0]

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:
            return value
        known = (_country(country) or ("", ()))[1]
        by_fold = {name.casefold(): name for name in known}
        name = by_fold.get(value.strip().casefold())
        if name is None:
            codes = [k for k in known if k.isupper()]
            close = difflib.get_close_matches(value.strip().upper(), codes, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            listed = f"; known: {', '.join(codes[:12])}{', ...' if len(codes) > 12 else ''}" if codes else ""
            raise ValueError(f"unknown subdivision {value!r} for country {country}{hint}{listed}; "
                             "or remove the line for national holidays only")
        return name

    @field_validator("weekend")
    @classmethod
    def _sane_weekend(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice; list each once")
        if len(set(value)) == 7:
            raise ValueError("every day is a weekend day, so there would be no working day; remove some")
        return value

    @field_validator("extra_working_days", mode="before")
    @classmethod
    def _plain_dates(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and any(isinstance(v, (_dt.datetime, _dt.time)) for v in value):
            raise ValueError("write dates without a time, e.g. 2026-12-24")
        return value


class Rulebook(Strict):
    """All rule files, cross-checked: every id a condition names exists in documents."""

    documents: dict[str, DocumentType]
    conditions: dict[str, Condition]
    administrative: dict[str, AdministrativeDocument]
    naming: NamingPolicy
    pricing: Pricing
    staff: Staff
    calendar: Calendar = Calendar()  # rules/calendar.toml; optional, Italian defaults
    hospitals: dict[str, Any] = {}   # rules/hospitals.toml (rulebook.hospitals.Hospital by id); optional
    default_hospital: str = ""       # the hospital of a request that names none
    hospital: str = ""               # set by `for_hospital`: the hospital this view of the rules is for

    @field_validator("documents", "conditions", "administrative")
    @classmethod
    def _fill_ids(cls, value: dict) -> dict:
        return {key: item.model_copy(update={"id": key}) for key, item in value.items()}

    def title(self, doc_id: str, language: str) -> str:
        item = self.documents.get(doc_id) or self.administrative.get(doc_id)
        return item.title.get(language) if item else doc_id

    def blank_form_filename(self, form: str, language: str) -> str:
        item = self.administrative.get(form)
        return (item.blank_form.get(language) if item else None) or f"{form}.pdf"

    def all_document_types(self) -> dict[str, DocumentType | AdministrativeDocument]:
        return {**self.documents, **self.administrative}

    def for_hospital(self, hospital_id: str) -> "Rulebook":
        """The rules as one hospital applies them: its staff (and the staff of every hospital,
        those without `hospital`), its prices per condition. Unchanged without hospitals."""
        hospital = self.hospitals.get(hospital_id)
        if hospital is None:
            return self

        def mine(members: tuple[StaffMember, ...]) -> tuple[StaffMember, ...]:
            return tuple(m for m in members if m.hospital in (None, hospital_id))

        staff = Staff(triage=mine(self.staff.triage), specialists=mine(self.staff.specialists),
                      admins=mine(self.staff.admins))
        pricing = self.pricing.model_copy(update={"conditions": {**self.pricing.conditions, **hospital.prices}})
        return self.model_copy(update={"staff": staff, "pricing": pricing, "hospital": hospital_id})

    @property
    def accepted_languages(self) -> tuple[str, ...]:
        """Languages clinical documents may be written in: this view's hospital's
        (hospitals.toml `accepted_languages`), else English and Italian."""
        hospital = self.hospitals.get(self.hospital)
        return tuple(hospital.accepted_languages) if hospital is not None else ("en", "it")

    def offers(self, condition_id: str) -> bool:
        """Whether this view's hospital offers the condition (always, without hospitals)."""
        hospital = self.hospitals.get(self.hospital)
        return hospital is None or hospital.offers(condition_id)

    def hospitals_offering(self, condition_id: str) -> tuple[Any, ...]:
        return tuple(h for h in self.hospitals.values() if h.offers(condition_id))
