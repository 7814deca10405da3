"""rules/hospitals.toml: the hospitals of a network, each with its own mailbox, prices and staff.

The file is optional. Without it the office is one hospital, made from config.toml ([office] and
[payment]), exactly as before. With it, every hospital has:

    [hospitals.milan]
    name = "IEO Milano"
    addresses = ["second.opinion@milan.example.org"]   # its mailbox address(es)
    case_prefix = "MI"                                 # its case refs: MI-2026-00042
    accepted_languages = ["en", "it"]                  # languages its doctors read documents in
    conditions = ["breast_cancer"]                     # what it offers (omitted: every condition)
    staff_file = "staff_milan.toml"                    # optional: its staff, beside staff.toml
    [hospitals.milan.payment]
    beneficiary = "IEO Milano"
    iban = "IT60X0542811101000000123456"
    bic = "BPMOIT22XXX"
    [hospitals.milan.prices.breast_cancer]             # overrides pricing.toml for this condition
    base = 600.00
    update = 400.00

Its staff are the staff.toml entries with `hospital = "milan"`, the entries of its `staff_file`,
and the entries with no `hospital` (people who work for every hospital, e.g. the network's admins).
The checks here run after each file validated on its own; every problem names file, line and key.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

from pydantic import EmailStr, Field, field_validator

from mailbot.rulebook.lines import Loc
from mailbot.rulebook.payment import checked_bic, checked_iban
from mailbot.rulebook.models import ConditionPrice, Language, Staff, StaffMember, Strict, fold

DEFAULT_ACCEPTED_LANGUAGES = ("en", "it")


class HospitalPayment(Strict):
    """Where this hospital's patients pay: the IBAN's check digits and the BIC's form are checked,
    as a typo here sends a patient's money astray."""

    beneficiary: str = Field(min_length=1)
    iban: str
    bic: str

    @field_validator("iban")
    @classmethod
    def _real_iban(cls, value: str) -> str:
        return checked_iban(value)

    @field_validator("bic")
    @classmethod
    def _real_bic(cls, value: str) -> str:
        return checked_bic(value)

    def as_dict(self) -> dict[str, str]:
        return {"beneficiary": self.beneficiary, "iban": self.iban, "bic": self.bic}


class Hospital(Strict):
    id: str = ""
    name: str = Field(min_length=1)
    addresses: tuple[EmailStr, ...] = Field(min_length=1)
    case_prefix: str = Field(pattern=r"^[A-Z]{1,6}$")
    accepted_languages: tuple[Language, ...] = Field(default=DEFAULT_ACCEPTED_LANGUAGES, min_length=1)
    conditions: tuple[str, ...] | None = None     # None: every condition of conditions.toml
    prices: dict[str, ConditionPrice] = {}
    payment: HospitalPayment
    staff_file: Annotated[str, Field(pattern=r"^[\w.-]+\.toml$")] = ""

    @property
    def address(self) -> str:
        """The address its replies come from: the first one listed."""
        return str(self.addresses[0]).lower()

    def offers(self, condition_id: str) -> bool:
        return self.conditions is None or condition_id in self.conditions

    def receives(self, address: str) -> bool:
        return address.lower() in {str(a).lower() for a in self.addresses}


class HospitalsFile(Strict):
    default: str = ""     # the hospital of a request whose address and form name none (else the first)
    hospitals: dict[str, Hospital]

    @field_validator("hospitals")
    @classmethod
    def _fill_ids(cls, value: dict) -> dict:
        return {key: item.model_copy(update={"id": key}) for key, item in value.items()}


Problem = Callable[..., None]   # _File.problem(loc, what, line=None)


def check_hospitals(problem: Problem, parsed: HospitalsFile, conditions: dict | None,
                    snake_case: Callable[[str], bool]) -> None:
    """Ids, unique addresses and prefixes, known conditions, prices only for offered ones."""
    hospitals = parsed.hospitals
    if not hospitals:
        problem(("hospitals",), "no entries; add a [hospitals.<id>] table, or delete hospitals.toml "
                                "to run as one hospital made from config.toml")
    if parsed.default and parsed.default not in hospitals:
        problem(("default",), f"unknown hospital {parsed.default!r}; use one of {', '.join(hospitals)}")
    seen_address: dict[str, str] = {}
    seen_prefix: dict[str, str] = {}
    for hid, h in hospitals.items():
        base: Loc = ("hospitals", hid)
        if not snake_case(hid):
            problem(base, f"id {hid!r} is not snake_case (lower-case letters, digits and underscores); "
                          f"rename it, e.g. {fold(hid).replace(' ', '_') or 'a_name'!r}")
        for i, address in enumerate(h.addresses):
            other = seen_address.setdefault(str(address).lower(), hid)
            if other != hid:
                problem((*base, "addresses", i), f"{address} is also an address of hospital {other!r}; "
                                                 "a mailbox address must name one hospital")
        other = seen_prefix.setdefault(h.case_prefix, hid)
        if other != hid:
            problem((*base, "case_prefix"), f"{h.case_prefix!r} is also the case prefix of hospital {other!r}; "
                                            "give each hospital its own")
        _check_conditions(problem, base, h, conditions)


def _check_conditions(problem: Problem, base: Loc, h: Hospital, conditions: dict | None) -> None:
    if h.conditions is not None and not h.conditions:
        problem((*base, "conditions"), "empty; list the conditions it offers, or remove the line for all")
    if conditions is None:
        return   # conditions.toml is broken; reported there
    for i, cid in enumerate(h.conditions or ()):
        if cid not in conditions:
            problem((*base, "conditions", i), f"unknown condition {cid!r}; use an id of conditions.toml "
                                              f"({', '.join(conditions)})")
    for cid in h.prices:
        if cid not in conditions:
            problem((*base, "prices", cid), f"unknown condition {cid!r}; use an id of conditions.toml")
        elif not h.offers(cid):
            problem((*base, "prices", cid), f"a price for {cid!r}, which this hospital does not offer; "
                                            "add it to conditions or remove the price")


def check_staff_hospitals(problem: Problem, staff: Staff, hospitals: dict[str, Hospital] | None) -> None:
    """Every `hospital = "id"` in a staff file names a hospital of hospitals.toml."""
    for role in ("triage", "specialists", "admins"):
        for i, member in enumerate(getattr(staff, role)):
            if member.hospital is None:
                continue
            if hospitals is None:
                problem((role, i, "hospital"), "hospital given, but there is no hospitals.toml; add it, "
                                               "or remove this line")
            elif member.hospital not in hospitals:
                problem((role, i, "hospital"), f"unknown hospital {member.hospital!r}; use one of "
                                               f"{', '.join(hospitals)}")


def assign_staff_file(problem: Problem, staff: Staff, hospital_id: str) -> Staff:
    """A hospital's own staff file: its entries work for that hospital (saying another is an error)."""
    def own(role: str) -> tuple[StaffMember, ...]:
        out = []
        for i, member in enumerate(getattr(staff, role)):
            if member.hospital not in (None, hospital_id):
                problem((role, i, "hospital"), f"this is the staff file of hospital {hospital_id!r}; "
                                               "remove the line or move the entry to that hospital's file")
            out.append(member.model_copy(update={"hospital": hospital_id}))
        return tuple(out)

    return Staff(triage=own("triage"), specialists=own("specialists"), admins=own("admins"))


def merge_staff(*parts: Staff) -> Staff:
    return Staff(**{role: tuple(m for part in parts for m in getattr(part, role))
                    for role in ("triage", "specialists", "admins")})


def check_hospital_staff(problem: Problem, hospitals: dict[str, Hospital], staff: Staff,
                         conditions: dict[str, Any]) -> None:
    """Each hospital can work: a triage doctor, and a specialist for each specialty it needs."""
    for hid, h in hospitals.items():
        def works_here(m: StaffMember) -> bool:
            return m.hospital in (None, hid)

        if not any(works_here(m) for m in staff.triage):
            problem(("hospitals", hid), "no triage doctor works for this hospital; add one with "
                                        f"hospital = \"{hid}\" in staff.toml (or in its staff_file)")
        served = {s for m in staff.specialists if works_here(m) for s in m.specialties}
        for cid, condition in conditions.items():
            if not h.offers(cid):
                continue
            lacking = [s for s in condition.specialties if s not in served]
            if lacking:
                where = ("hospitals", hid, "conditions") if h.conditions is not None else ("hospitals", hid)
                problem(where, f"offers {cid!r}, but none of its specialists has specialty "
                               f"{', '.join(map(repr, lacking))}; add one, or stop offering it")
