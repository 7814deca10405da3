"""rules/*.toml -> one validated `Rulebook`, or every problem with its file, line and key.

Each file is parsed with tomllib, validated with the pydantic models (unknown keys are errors),
then the files are checked against each other (document ids, aliases, specialties, staff). The
rulebook is returned only when there is no problem at all: a bad file never half-loads.

Every problem reads ``<file>:<line>: <dotted.key>: <what is wrong and how to fix it>``.
tomllib gives no line numbers for keys, so `key_lines` scans the text for them.
"""

from __future__ import annotations

import datetime
import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from mailbot.errors import RulesError
from mailbot.resources import default_rules_dir  # noqa: F401  (re-exported by mailbot.rulebook)
from mailbot.rulebook.hospitals import (HospitalsFile, assign_staff_file, check_hospital_staff, check_hospitals,
                                        check_staff_hospitals, merge_staff)
from mailbot.rulebook.lines import Loc, dotted, key_lines, line_of
from mailbot.rulebook.models import (
    AdministrativeDocument,
    Calendar,
    Condition,
    DocumentType,
    NamingPolicy,
    Pricing,
    Rulebook,
    Staff,
    Strict,
    Title,
    fold,
)

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class DocumentsFile(Strict):
    documents: dict[str, DocumentType]


class ConditionsFile(Strict):
    conditions: dict[str, Condition]


class AdministrativeFile(Strict):
    administrative: dict[str, AdministrativeDocument]


class NamingFile(Strict):
    naming: NamingPolicy


class PricingFile(Strict):
    pricing: Pricing


class CalendarFile(Strict):
    calendar: Calendar


# file name -> (model of the whole file, its top-level key in the Rulebook or None for staff)
RULE_FILES: dict[str, tuple[type[BaseModel], str | None]] = {
    "documents.toml": (DocumentsFile, "documents"),
    "conditions.toml": (ConditionsFile, "conditions"),
    "administrative.toml": (AdministrativeFile, "administrative"),
    "naming.toml": (NamingFile, "naming"),
    "pricing.toml": (PricingFile, "pricing"),
    "staff.toml": (Staff, None),
}
# files that may be absent: a missing one means the model's defaults (Italian holidays, sat/sun)
OPTIONAL_FILES: dict[str, tuple[type[BaseModel], str]] = {
    "calendar.toml": (CalendarFile, "calendar"),
    "hospitals.toml": (HospitalsFile, "hospitals"),   # a network of hospitals (rulebook/hospitals.py)
}


def load_rulebook(directory: Path) -> Rulebook:
    """Load and check every rule file in `directory`; raise `RulesError` listing all problems."""
    rulebook, problems = _compile(Path(directory))
    if problems or rulebook is None:
        raise RulesError(problems or [f"{directory}:1: rules: could not be loaded"])
    return rulebook


def check_rules(directory: Path) -> list[str]:
    """The problems `load_rulebook` would raise, as strings; empty when the rules are valid."""
    return _compile(Path(directory))[1]


# --- the compiler -------------------------------------------------------------------------------


class _File:
    """One rule file being read: its path, text, key lines and problems."""

    def __init__(self, directory: Path, name: str):
        self.path = directory / name
        self.name = name
        self.text = ""
        self.lines: dict[Loc, int] = {}
        self.problems: list[str] = []

    def problem(self, loc: Loc, what: str, line: int | None = None) -> None:
        where = line if line is not None else line_of(self.lines, loc)
        self.problems.append(f"{self.path}:{where}: {dotted(loc)}: {what}")


def _compile(directory: Path) -> tuple[Rulebook | None, list[str]]:
    if not directory.is_dir():
        return None, [f"{directory}:1: rules: rules directory not found; give the folder holding "
                      f"{', '.join(RULE_FILES)} (`mailbot rules init {directory}` writes the defaults there)"]
    files = {name: _File(directory, name) for name in RULE_FILES}
    parts: dict[str, Any] = {}
    for name, (model, _key) in RULE_FILES.items():
        value = _read(files[name], model)
        if value is not None:
            parts[name] = value
    for name, (model, _key) in OPTIONAL_FILES.items():
        files[name] = _File(directory, name)
        if files[name].path.exists():
            value = _read(files[name], model)
            if value is not None:
                parts[name] = value
    # Cross-file checks run on whatever parsed, so one broken file does not hide the rest.
    docs = getattr(parts.get("documents.toml"), "documents", None)
    admin = getattr(parts.get("administrative.toml"), "administrative", None)
    conditions = getattr(parts.get("conditions.toml"), "conditions", None)
    pricing = getattr(parts.get("pricing.toml"), "pricing", None)
    if docs is not None:
        _check_ids(files["documents.toml"], "documents", docs)
    if admin is not None:
        _check_ids(files["administrative.toml"], "administrative", admin)
        _check_administrative(files["administrative.toml"], admin, docs or {})
    if pricing is not None:
        _check_ids(files["pricing.toml"], "pricing.extras", pricing.extras)
        if conditions is not None:
            _check_condition_prices(files["pricing.toml"], pricing, conditions)
    if conditions is not None:
        _check_ids(files["conditions.toml"], "conditions", conditions)
        _check_aliases(files["conditions.toml"], conditions)
        if docs is not None and admin is not None:
            _check_conditions(files["conditions.toml"], conditions, docs, admin)
    _check_title_languages(files, parts)
    calendar = getattr(parts.get("calendar.toml"), "calendar", None)
    if calendar is not None:
        _check_calendar(files["calendar.toml"], calendar)
    _check_staff_and_hospitals(directory, files, parts, conditions)
    problems = [p for f in files.values() for p in f.problems]
    if problems:
        return None, problems
    network = parts.get("hospitals.toml")
    rulebook = Rulebook(
        documents=parts["documents.toml"].documents,
        conditions=parts["conditions.toml"].conditions,
        administrative=parts["administrative.toml"].administrative,
        naming=parts["naming.toml"].naming,
        pricing=parts["pricing.toml"].pricing,
        staff=parts["staff.toml"],
        calendar=calendar if calendar is not None else Calendar(),
        hospitals=network.hospitals if network is not None else {},
        default_hospital=(network.default or next(iter(network.hospitals))) if network is not None else "",
    )
    return rulebook, []


def _check_staff_and_hospitals(directory: Path, files: dict[str, "_File"], parts: dict[str, Any],
                               conditions: dict | None) -> None:
    """staff.toml, hospitals.toml and the hospitals' staff files; parts["staff.toml"] becomes
    everyone's staff (each entry knowing its hospital)."""
    network, staff = parts.get("hospitals.toml"), parts.get("staff.toml")
    if network is not None:
        check_hospitals(files["hospitals.toml"].problem, network, conditions, lambda k: bool(SNAKE_CASE.match(k)))
    if staff is None:
        return
    _check_staff(files["staff.toml"], staff, complete=network is None)
    staff = parts["staff.toml"] = _hospital_staff(directory, files, network, staff)
    if conditions is not None:
        _check_specialties(files["conditions.toml"], conditions, staff)
        if network is not None:
            check_hospital_staff(files["hospitals.toml"].problem, network.hospitals, staff, conditions)


def _hospital_staff(directory: Path, files: dict[str, "_File"], network: HospitalsFile | None,
                    staff: Staff) -> Staff:
    """staff.toml plus each hospital's own staff file; every `hospital` named must exist."""
    check_staff_hospitals(files["staff.toml"].problem, staff, network.hospitals if network else None)
    if network is None:
        return staff
    parts = [staff]
    for hid, hospital in network.hospitals.items():
        if not hospital.staff_file:
            continue
        if hospital.staff_file in files:
            files["hospitals.toml"].problem(("hospitals", hid, "staff_file"), f"{hospital.staff_file} is "
                                            "another rule file or another hospital's; name the hospital's own file")
            continue
        file = files[hospital.staff_file] = _File(directory, hospital.staff_file)
        if not file.path.is_file():
            files["hospitals.toml"].problem(("hospitals", hid, "staff_file"), f"{file.path} not found; "
                                            "create it (shaped like staff.toml) or remove the line")
            continue
        own = _read(file, Staff)
        if own is not None:
            own = assign_staff_file(file.problem, own, hid)
            _check_staff(file, own, complete=False)
            parts.append(own)
    return merge_staff(*parts)


def _check_condition_prices(file: "_File", pricing: Pricing, conditions: dict) -> None:
    for cid in pricing.conditions:
        if cid not in conditions:
            file.problem(("pricing", "conditions", cid), f"unknown condition {cid!r}; use an id of "
                                                         f"conditions.toml{_closest(cid, conditions)}")


def _titles(value: Any, loc: Loc = ()):
    """(loc, Title) of every title, description and note in a parsed rule file."""
    if isinstance(value, Title):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from _titles(getattr(value, name), (*loc, field.alias or name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _titles(item, (*loc, key))
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _titles(item, (*loc, i))


def _check_title_languages(files: dict[str, "_File"], parts: dict[str, Any]) -> None:
    """Every text of the rules is written in the same languages (those any of them uses)."""
    found = {name: list(_titles(value)) for name, value in parts.items()}
    languages = sorted({lang for titles in found.values() for _loc, t in titles for lang in t.languages})
    for name, titles in found.items():
        for loc, title in titles:
            for lang in languages:
                if lang not in title.root:
                    files[name].problem((*loc, lang), f"missing: the rules are written in {', '.join(languages)}; "
                                                      f"add the {lang} text")


def _read(file: _File, model: type[BaseModel]) -> BaseModel | None:
    key = {**RULE_FILES, **OPTIONAL_FILES}.get(file.name, (None, None))[1] or file.path.stem
    try:
        file.text = file.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        file.problem((key,), f"file not found; create {file.name} in {file.path.parent} "
                            "(`mailbot rules init DIR` writes the default files to start from)", line=1)
        return None
    except UnicodeDecodeError as exc:
        line = file.path.read_bytes()[: exc.start].count(b"\n") + 1
        file.problem((key,), "not UTF-8 text; save the file as UTF-8", line=line)
        return None
    except OSError as exc:
        file.problem((key,), f"cannot be read ({exc.strerror}); check its permissions", line=1)
        return None
    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError as exc:
        line, what = _syntax_error(str(exc))
        file.problems.append(f"{file.path}:{line}: {_table_at(file.text, line)}: "
                             f"TOML syntax error: {what}; fix the syntax on that line")
        return None
    file.lines = key_lines(file.text)
    for loc in _id_keys(data):
        file.problem(loc, "unknown key; the id is the table name, remove this line")
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(part for part in error["loc"] if part != "[key]")  # a bad table key: its line
            file.problem(loc, _explain(error, model))
        return None
    return None if file.problems else value


def _id_keys(data: dict) -> list[Loc]:
    """`id = ...` inside a documents/conditions/administrative entry (the model would accept it)."""
    found = []
    for section in ("documents", "conditions", "administrative", "hospitals"):
        table = data.get(section)
        if isinstance(table, dict):
            found += [(section, k, "id") for k, v in table.items() if isinstance(v, dict) and "id" in v]
    return found


def _syntax_error(message: str) -> tuple[int, str]:
    match = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
    if match:
        return int(match.group(1)), message[: match.start()]
    match = re.search(r"\s*\(at end of document\)$", message)
    return 1, message[: match.start()] if match else message


def _table_at(text: str, line: int) -> str:
    """The table a line belongs to ('conditions.breast_cancer'), for syntax-error messages."""
    header = re.compile(r"^\s*\[\[?\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$")
    table = ""
    for raw in text.splitlines()[: max(line - 1, 0)]:
        match = header.match(raw)
        if match:
            table = ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))
    return table or "(top level)"


# --- cross-file checks --------------------------------------------------------------------------


def _check_ids(file: _File, section: str, table: dict) -> None:
    root = tuple(section.split("."))
    if not table and section != "pricing.extras":
        file.problem(root, f"no entries; add at least one [{section}.<id>] table")
    for key in table:
        if not SNAKE_CASE.match(key):
            suggestion = fold(key).replace(" ", "_") or "a_name"
            file.problem((*root, key), f"id {key!r} is not snake_case (lower-case letters, digits "
                                       f"and underscores, starting with a letter); rename it, e.g. "
                                       f"{suggestion!r}")


def _check_administrative(file: _File, admin: dict, docs: dict) -> None:
    if "request_form" not in admin:
        file.problem(("administrative",), "no [administrative.request_form]; every case needs the "
                                          "request form, add it with required_when = \"always\"")
    elif admin["request_form"].required_when != "always":
        file.problem(("administrative", "request_form", "required_when"),
                     "the request form is needed on every case; set required_when = \"always\"")
    for key in admin:
        if key in docs:
            file.problem(("administrative", key), f"id {key!r} is also a document type in "
                                                  "documents.toml; give one of them another id")


def _check_conditions(file: _File, conditions: dict, docs: dict, admin: dict) -> None:
    known = docs.keys() | admin.keys()
    for cid, condition in conditions.items():
        base = ("conditions", cid)
        places: list[tuple[Loc, str]] = [((*base, "required", i), d) for i, d in enumerate(condition.required)]
        for g, group in enumerate(condition.any_of):
            if not group:
                file.problem((*base, "any_of", g), "empty group; list at least one document id or remove it")
            places += [((*base, "any_of", g, i), d) for i, d in enumerate(group)]
        places += [((*base, "optional", i), d) for i, d in enumerate(condition.optional)]
        for loc, doc_id in places:
            if doc_id not in known:
                file.problem(loc, f"unknown document id {doc_id!r}; define [documents.{doc_id}] in "
                                  f"documents.toml or use one of its ids{_closest(doc_id, known)}")
        unknown = [doc_id for _loc, doc_id in places if doc_id not in known]
        seen: dict[str, Loc] = {}
        for loc, doc_id in places:
            if doc_id in seen and doc_id in known:
                file.problem(loc, f"{doc_id!r} is already listed at {dotted(seen[doc_id])}; "
                                  "list each document once per condition")
            seen.setdefault(doc_id, loc)
        for doc_id in condition.notes:
            if doc_id not in seen and not unknown:  # a misspelt id above explains it already
                file.problem((*base, "notes", doc_id), f"note for {doc_id!r}, which this condition "
                                                       "does not list; add the document or drop the note")
        if not condition.consultation_types:
            file.problem((*base, "consultation_types"), "empty; list at least one of surgical, "
                                                        "oncological, cardio_oncological, radiotherapy")
        if not condition.specialties:
            file.problem((*base, "specialties"), "empty; list the specialties that can give this "
                                                 "second opinion (as in staff.toml)")
        for i, specialty in enumerate(condition.specialties):
            if not SNAKE_CASE.match(specialty):
                file.problem((*base, "specialties", i), f"specialty {specialty!r} is not snake_case; "
                                                        "write it like medical_oncology")


def _check_aliases(file: _File, conditions: dict) -> None:
    """A folded alias must name one condition only (also not another condition's title)."""
    owners: dict[str, tuple[str, Loc]] = {}
    for cid, condition in conditions.items():
        for lang, text in condition.title.root.items():
            name = fold(text)
            owners.setdefault(name, (cid, ("conditions", cid, "title", lang)))
    for cid, condition in conditions.items():
        mine: dict[str, Loc] = {}
        for i, alias in enumerate(condition.aliases):
            loc: Loc = ("conditions", cid, "aliases", i)
            name = fold(alias)
            if not name:
                file.problem(loc, "empty alias; remove it")
            elif name in mine:
                file.problem(loc, f"alias {alias!r} repeats {dotted(mine[name])} (case, accents "
                                  "and punctuation are ignored); remove one")
            elif name in owners and owners[name][0] != cid:
                other, where = owners[name]
                file.problem(loc, f"alias {alias!r} also names condition {other!r} ({dotted(where)}, "
                                  f"line {line_of(file.lines, where)}); an alias must identify one "
                                  "condition, remove it from one of them")
            else:
                mine[name] = loc
                owners.setdefault(name, (cid, loc))


def _check_calendar(file: _File, calendar: Calendar) -> None:
    """An extra working day listed twice, or inside a closure, is a contradiction to resolve."""
    seen: set = set()
    for i, day in enumerate(calendar.extra_working_days):
        loc = ("calendar", "extra_working_days", i)
        if day in seen:
            file.problem(loc, f"{day} is listed twice; list each day once")
            continue
        seen.add(day)
        for c, closure in enumerate(calendar.closures):
            if closure.covers(day):
                file.problem(loc, f"{day} is also inside closure {c + 1} ({closure.reason!r}, line "
                                  f"{line_of(file.lines, ('calendar', 'closures', c))}); remove it here or "
                                  "shorten the closure")


def _check_staff(file: _File, staff: Staff, *, complete: bool = True) -> None:
    """`complete`: this file alone staffs the office (with hospitals, each hospital is checked)."""
    if complete and not staff.triage:
        file.problem(("triage",), "no triage doctor; add a [[triage]] entry, complete cases go to triage")
    if complete and not staff.specialists:
        file.problem(("specialists",), "no specialist; add [[specialists]] entries")
    for role in ("triage", "specialists", "admins"):
        seen: dict[str, int] = {}
        for i, member in enumerate(getattr(staff, role)):
            address = member.email.casefold() + "\0" + (member.hospital or "")
            if address in seen:
                file.problem((role, i, "email"), f"{member.email} is already listed in [[{role}]] "
                                                 f"number {seen[address] + 1}; list each person once per role")
            seen.setdefault(address, i)
            for s, specialty in enumerate(member.specialties):
                if not SNAKE_CASE.match(specialty):
                    file.problem((role, i, "specialties", s), f"specialty {specialty!r} is not "
                                                             "snake_case; write it like medical_oncology")
            if member.secretariat is not None and role != "specialists":
                file.problem((role, i, "secretariat"), "only a specialist has a secretariat (where treatment "
                                                       "requests after their reports go); remove it here")
        if role == "specialists":
            for i, member in enumerate(staff.specialists):
                if not member.specialties:
                    file.problem((role, i, "specialties"), "empty; list the specialties this "
                                                           "specialist covers, or cases never reach them")


def _check_specialties(file: _File, conditions: dict, staff: Staff) -> None:
    """A condition's specialty must be held by at least one specialist (an error, since a case
    needing it could never be routed); uneven coverage across languages is not checked."""
    served = {s for member in staff.specialists for s in member.specialties}
    if not staff.specialists:
        return  # reported once in staff.toml
    for cid, condition in conditions.items():
        for i, specialty in enumerate(condition.specialties):
            if specialty not in served:
                file.problem(("conditions", cid, "specialties", i),
                             f"no specialist in staff.toml has specialty {specialty!r}; add it to a "
                             "[[specialists]] entry's specialties, or remove it here")


def _closest(word: str, choices: typing.Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


# --- pydantic errors in words -------------------------------------------------------------------


def _explain(error: dict, model: type[BaseModel]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown key; remove it or correct its spelling{hint}"
    if kind == "missing" and len(loc) == 1:
        return f"this file has no [{loc[0]}] table; add it (compare with the defaults: mailbot rules init DIR)"
    if kind == "missing":
        return "required key is missing; add it"
    found = error.get("input")
    shown = found.isoformat() if isinstance(found, (datetime.date, datetime.time)) else repr(found)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    message = error["msg"]
    ours = kind == "value_error" and message.startswith("Value error, ")
    if ours:  # our validators already say how to fix it
        message = message[len("Value error, "):]
    advice = "" if ours else "; fix this value"
    if isinstance(found, (dict, list)) and kind not in ("dict_type", "tuple_type", "list_type"):
        return f"{message}{advice}"
    if ours and found is not None:
        if isinstance(found, (str, datetime.date)) and str(found) in message:
            return message  # our message already quotes the value
        return f"{message} (found {shown})"
    return f"{message} (found {shown}){advice}"


def _allowed_keys(model: Any, loc: Loc) -> list[str]:
    """The keys a table at `loc` may hold, walking the model's annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or name: f for name, f in current.model_fields.items()}
            field = fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            origin, args = typing.get_origin(current), typing.get_args(current)
            if origin is dict and len(args) == 2:
                current = args[1]
            elif origin is tuple and args:
                current = args[0]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items() if name != "id"]
    return []


def _unwrap(annotation: Any) -> Any:
    """`Title | None` -> Title; `Annotated[X, ...]` -> X."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation
