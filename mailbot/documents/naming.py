"""Is a file sensibly named (rules/naming.toml)? If not, what name would be? Pure.

A name fails, in this order, for:
- "bad_extension": its extension is not in `allowed_extensions` (case-insensitive);
- "too_long": the whole name is longer than `max_length`;
- "generic": its stem says nothing — a `generic_names` regex matches the lower-case stem, or what
  is left after dropping numbers and month names is only `generic_names` words (or nothing):
  `scan0001.pdf`, `IMG_2231.pdf`, `document.pdf`, `20260302.pdf`, `Untitled (3).pdf`;
- "too_short": the stem is shorter than `min_length`;
- "no_keyword": it has no file-name keyword of any document type.
The suggestion is `<type id>_<YYYY-MM-DD>.pdf` from the first recognised type and a date found in
the name, else in the text; `<type id>.pdf` without a date; None without a recognised type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from mailbot.documents.classify import has_filename_keyword, split_name, words
from mailbot.rulebook.models import Rulebook, is_regex

MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass(frozen=True)
class NameVerdict:
    ok: bool
    reason: str | None  # "generic", "no_keyword", "too_long", "too_short", "bad_extension"
    suggestion: str | None


def check_name(filename: str, doc_types: tuple[str, ...], text: str, rulebook: Rulebook) -> NameVerdict:
    """Judge `filename` against the naming policy; `doc_types` is what `classify` found (best first)
    and `text` the text layer, both used only for the suggestion."""
    reason = _name_problem(filename, rulebook)
    if reason is None:
        return NameVerdict(ok=True, reason=None, suggestion=None)
    return NameVerdict(ok=False, reason=reason, suggestion=suggest_name(filename, doc_types, text, rulebook))


def _name_problem(filename: str, rulebook: Rulebook) -> str | None:
    policy = rulebook.naming
    stem, ext = split_name(filename)
    if ext not in policy.allowed_extensions:  # NamingPolicy keeps them lower case, without the dot
        return "bad_extension"
    if len(stem) + len(ext) + 1 > policy.max_length:
        return "too_long"
    if is_generic(stem, policy.generic_names):
        return "generic"
    if len(stem.strip()) < policy.min_length:
        return "too_short"
    if not has_filename_keyword(filename, rulebook):
        return "no_keyword"
    return None


def suggest_name(filename: str, doc_types: tuple[str, ...], text: str, rulebook: Rulebook) -> str | None:
    known = rulebook.all_document_types()
    primary = next((t for t in doc_types if t in known), None)
    if primary is None:
        return None
    allowed = rulebook.naming.allowed_extensions
    ext = "pdf" if "pdf" in allowed or not allowed else allowed[0]
    when = find_date(split_name(filename)[0]) or find_date(text)
    return f"{primary}_{when.isoformat()}.{ext}" if when else f"{primary}.{ext}"


# --- generic names --------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _compile_generic(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """Policy entries split into plain words and regexes (NamingPolicy has checked they compile)."""
    plain = frozenset(w for entry in entries if not is_regex(entry) for w in words(entry))
    return plain, tuple(re.compile(entry) for entry in entries if is_regex(entry))


def is_generic(stem: str, generic_names: tuple[str, ...]) -> bool:
    """A stem that says nothing about the content (see the module docstring)."""
    plain, patterns = _compile_generic(tuple(generic_names))
    lowered = stem.strip().lower()
    if any(p.search(lowered) for p in patterns):
        return True
    left = [w for w in words(stem, split_compounds=True) if not w.isdigit() and w not in _MONTHS]
    return all(w in plain for w in left)


# --- dates ----------------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
    "january jan gennaio gen", "february feb febbraio", "march mar marzo",
    "april apr aprile", "may maggio mag", "june jun giugno giu",
    "july jul luglio lug", "august aug agosto ago", "september sep sept settembre set",
    "october oct ottobre ott", "november nov novembre", "december dec dicembre dic",
), start=1):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")(?![^\W\d_])\.?"
_DAY = r"(?P<d>\d{1,2})(?!\d)"
_YEAR = r"(?P<y>\d{4})(?![^\W_])"  # no letter or digit right after
_SEP = r"[-_./]"

_DATE_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf"(?<!\d)(?P<y>\d{{4}})(?P<s>{_SEP})(?P<m>\d{{1,2}})(?P=s){_DAY}",          # 2026-03-02
    r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?![^\W_])",                   # 20260302
    rf"(?<!\d){_DAY}(?P<s>{_SEP})(?P<m>\d{{1,2}})(?P=s){_YEAR}",                 # 02/03/2026
    rf"(?<!\d){_DAY}(?:st|nd|rd|th|°|º)?[\s\-_./]*(?:of\s+)?(?<![^\W\d_]){_MONTH}[\s\-_.,/]*{_YEAR}",
    rf"(?<![^\W\d_]){_MONTH}[\s\-_]*{_DAY}(?:st|nd|rd|th)?,?[\s\-_]*{_YEAR}",   # March 2, 2026
))

# A date right after one of these is a birth date, not the date of the document.
_BIRTH_RE = re.compile(r"(born|birth|d\.?o\.?b|nat[oa]|nascita)\W{0,20}\w{0,3}\W{0,5}$", re.IGNORECASE)


def find_date(text: str) -> date | None:
    """The first plausible clinical date in `text` (years 1990..2100), birth dates skipped.
    Numeric dates are day-first (European): 02/03/2026 and 02.03.2026 are 2 March 2026."""
    best: tuple[int, date] | None = None
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if best is not None and match.start() >= best[0]:
                break
            found = _to_date(match)
            if found is not None and not _BIRTH_RE.search(text[max(0, match.start() - 40):match.start()]):
                best = (match.start(), found)
                break
    return best[1] if best else None


def _to_date(match: re.Match[str]) -> date | None:
    groups = match.groupdict()
    month = int(groups["m"]) if groups.get("m") else _MONTHS[groups["mon"].lower()]
    year = int(groups["y"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, int(groups["d"]))
    except ValueError:
        return None
