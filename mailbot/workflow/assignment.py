"""Which specialist gets a case. Pure: the shell passes in the current loads."""

from __future__ import annotations

from mailbot.rulebook.models import Rulebook, StaffMember


def choose_specialist(rulebook: Rulebook, *, condition_id: str | None, specialty: str | None, language: str,
                      open_cases: dict[str, int], excluded: tuple[str, ...] = (),
                      previous: str | None = None) -> StaffMember | None:
    """An update goes back to the earlier specialist when still possible; otherwise a specialist
    whose specialties match the triage's specialty (or the condition's), who speaks the case
    language, with the fewest open cases below their max_open_cases. Ties: rule-file order."""
    staff = [s for s in rulebook.staff.specialists if s.email.lower() not in {e.lower() for e in excluded}]
    load = lambda s: open_cases.get(str(s.email).lower(), 0)
    has_room = lambda s: load(s) < s.max_open_cases
    if previous:
        same = [s for s in staff if str(s.email).lower() == previous.lower() and has_room(s)]
        if same:
            return same[0]
    wanted: set[str]
    if specialty:
        wanted = {specialty}
    elif condition_id and condition_id in rulebook.conditions:
        wanted = set(rulebook.conditions[condition_id].specialties)
    else:
        wanted = set()
    candidates = [s for s in staff if has_room(s) and (not wanted or wanted & set(s.specialties))]
    speaking = [s for s in candidates if language in s.languages]
    pool = speaking or []
    if not pool:
        return None
    return min(pool, key=lambda s: (load(s), staff.index(s)))
