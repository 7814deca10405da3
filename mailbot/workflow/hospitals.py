"""Which hospital a message is for, and the rules and office as that hospital applies them. Pure.

A case keeps the hospital it was opened for. A new request's hospital is the one its request form
names (`hospital`: the id or the name), else the one whose mailbox address it was sent to
(Delivered-To, To, Cc), else the one whose mailbox it was read from ([[mailboxes]] `hospital`),
else the network's default. Without rules/hospitals.toml there is none,
and the rules and office are used as they are.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mailbot.rulebook.models import Rulebook, fold
from mailbot.workflow.envelope import Envelope
from mailbot.workflow.model import CaseView, Office


def hospital_of(rulebook: Rulebook, case: CaseView | None, form: dict[str, str],
                recipients: tuple[str, ...], received_for: str = "") -> str:
    """The hospital id for a message on `case` (or a new request), "" without hospitals."""
    if not rulebook.hospitals:
        return ""
    if case is not None and case.hospital in rulebook.hospitals:
        return case.hospital
    named = named_hospital(rulebook, form.get("hospital", ""))
    if named:
        return named
    for address in recipients:
        for hid, hospital in rulebook.hospitals.items():
            if hospital.receives(address):
                return hid
    return received_for if received_for in rulebook.hospitals else rulebook.default_hospital


def written_to(envelope: Envelope, rulebook: Rulebook) -> str:
    """The hospital a message is written to, whatever case it names: by its form, its recipients,
    its mailbox, else the default ("" without hospitals)."""
    msg = envelope.message
    return hospital_of(rulebook, None, form_in(envelope), (*msg.delivered_to, *msg.to, *msg.cc),
                       envelope.received_for)


def form_in(envelope: Envelope) -> dict[str, str]:
    """The request-form fields this message carries (body, then fillable PDFs)."""
    form_here: dict[str, str] = dict(envelope.body_form)
    for a in envelope.attachments:
        form_here.update(a.form_fields)
    return form_here


def named_hospital(rulebook: Rulebook, text: str) -> str:
    """The hospital a form's `hospital` field names, by id or by name (case and accents ignored)."""
    wanted = fold(text)
    if not wanted:
        return ""
    for hid, hospital in rulebook.hospitals.items():
        if wanted in (fold(hid), fold(hospital.name)):
            return hid
    return ""


def office_for(office: Office, rulebook: Rulebook, hospital_id: str) -> Office:
    """The office as this hospital: its name, address, case prefix, payment details, languages."""
    hospital = rulebook.hospitals.get(hospital_id)
    if hospital is None:
        return office
    return dataclasses.replace(office, name=hospital.name, address=hospital.address, case_prefix=hospital.case_prefix,
                               payment=hospital.payment.as_dict(), hospital=hospital_id,
                               accepted_languages=tuple(hospital.accepted_languages))


def scoped(rulebook: Rulebook, office: Office, hospital_id: str | None) -> tuple[Rulebook, Office]:
    """(rules, office) of one hospital; the case's own, or the default for a case without one."""
    hid = hospital_id if hospital_id in rulebook.hospitals else rulebook.default_hospital
    return rulebook.for_hospital(hid), office_for(office, rulebook, hid)


def offering(rulebook: Rulebook, condition_id: str) -> list[dict[str, Any]]:
    """The hospitals that offer a condition, as a reply shows them."""
    return [{"id": h.id, "name": h.name, "address": h.address} for h in rulebook.hospitals_offering(condition_id)]
