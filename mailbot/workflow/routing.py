"""Which case an inbound message belongs to, and who its sender is on that case. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mailbot.rulebook.models import Rulebook, fold
from mailbot.workflow.model import CaseView
from mailbot.workflow.transitions import Role


def ref_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-(\d{{4}})-(\d{{5}})(?![0-9])", re.I)


def find_refs(text: str, prefix: str) -> list[str]:
    """Case refs in order of appearance, upper-cased, without repeats."""
    seen: list[str] = []
    for m in ref_pattern(prefix).finditer(text or ""):
        ref = f"{prefix}-{m.group(1)}-{m.group(2)}"
        if ref not in seen:
            seen.append(ref)
    return seen


@dataclass(frozen=True)
class Candidates:
    """What the shell looked up for one message."""

    by_thread: CaseView | None          # a case whose outgoing Message-ID this message cites
    by_reference: CaseView | None       # the case named by the first ref in subject/body
    sender_open: tuple[CaseView, ...]   # open cases awaiting documents whose requestor is the sender
    resent: CaseView | None = None      # the sender's open case that already has every attached file


@dataclass(frozen=True)
class Route:
    case: CaseView | None
    how: str    # thread | reference | resend | sender | new | update


def choose_case(c: Candidates, *, carries_form_for_other_patient: bool) -> Route:
    if c.by_thread is not None:
        return Route(c.by_thread, "thread")
    if c.by_reference is not None:
        return Route(c.by_reference, "reference")
    if c.resent is not None:
        return Route(c.resent, "resend")
    if len(c.sender_open) == 1 and not carries_form_for_other_patient:
        return Route(c.sender_open[0], "sender")
    return Route(None, "new")


def resent_to(cases: tuple[CaseView, ...], digests: frozenset[str]) -> CaseView | None:
    """The newest of the sender's open cases on which every one of these files is filed already:
    the same request sent again joins it instead of opening another case."""
    if not digests:
        return None
    for case in reversed(cases):
        if digests <= {d.sha256 for d in case.documents}:
            return case
    return None


def sender_role(address: str, case: CaseView | None, rulebook: Rulebook) -> Role:
    """The sender's role on the case: staff roles first (by rules), then the case's parties."""
    address = address.lower()
    staff = rulebook.staff
    if any(m.email.lower() == address for m in staff.admins):
        return Role.ADMIN
    if any(m.email.lower() == address for m in staff.triage):
        return Role.TRIAGE
    if any(m.email.lower() == address for m in staff.specialists):
        return Role.SPECIALIST
    if case is None or address == case.requestor_email.lower():
        return Role.REQUESTOR
    if case.patient_email and address == case.patient_email:
        return Role.PATIENT
    return Role.STRANGER


def form_names_other_patient(form: dict[str, str], case: CaseView) -> bool:
    new, old = fold(form.get("patient_name", "")), fold(case.form.get("patient_name", ""))
    return bool(new and old and new != old)


def months_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).days / 30.4375


def route_closed_case(route: Route, *, now: datetime, update_months: int, brings_documents: bool) -> Route:
    """New documents on a case whose report went out less than `update_months` ago open an
    update case linked to it; later (or on a case closed otherwise), a fresh new case."""
    case = route.case
    if case is None or case.is_open or not brings_documents or route.how not in ("thread", "reference"):
        return route
    if case.state == "report_sent" and case.report_sent_at is not None and \
            months_between(case.report_sent_at, now) < update_months:
        return Route(case, "update")
    return Route(None, "new")
