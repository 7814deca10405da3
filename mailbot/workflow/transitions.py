"""The case state machine as one table. Pure data plus one lookup.

A row says: in this state, this verb from this role moves the case to `next_state` (None: it
stays), stamps these time columns, runs these effects (named functions in workflow/effects.py)
and may send these templates. Anything not in the table is refused: for the role when no row
lets that role use the verb, else for the state. Adding a command is a row, an effect if it
does something new, and its templates (checked to exist for every language at start-up).

Verbs are the staff and requestor commands, plus four events of ordinary mail from the case's
parties: COMPLETE (the documents are now complete), INCOMPLETE (still missing some), NOTE (a
message awaiting documents that brings no file and no form field: a "thank you") and WRITE
(any other message), and one of a bounce: UNDELIVERABLE (mail to a staff member bounced for good).
NEW is the state of a case that does not exist yet; it is never stored.

After the report: TREATMENT forwards the request to the reporting specialist's secretariat,
whose reply (RELAY, from the SECRETARIAT role, threaded to that forward) goes to the requestor;
ADDITIONAL opens a new case linked to the reported one, straight to triage; any other message
(WRITE) is answered with how to ask for an additional opinion and what it costs, except once
the treatment request is with the secretariat: then it is passed on to them (FOLLOW_UP).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    AWAITING_DOCUMENTS = "awaiting_documents"
    IN_TRIAGE = "in_triage"
    AWAITING_PAYMENT = "awaiting_payment"
    WITH_SPECIALIST = "with_specialist"
    REPORT_SENT = "report_sent"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Role(StrEnum):
    REQUESTOR = "requestor"
    PATIENT = "patient"
    TRIAGE = "triage"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    SECRETARIAT = "secretariat"  # the reporting specialist's secretariat, answering our treatment forward
    STRANGER = "stranger"


class Disposition(StrEnum):
    """What became of one inbound message (stored on its InboundMessage row)."""

    FILED = "filed"              # on a case (acted on, or refused and shown to the admins)
    AUTOMATIC = "automatic"      # machine-sent mail on a case: filed, never answered
    STRANGER = "stranger"        # a case ref from someone not party to it: told nothing
    QUARANTINED = "quarantined"  # belongs to no case and may not open one
    DUPLICATE = "duplicate"      # seen before (same dedup key): nothing to do


class Verb(StrEnum):
    APPROVE = "APPROVE"
    MISSING = "MISSING"
    REJECT = "REJECT"
    PAID = "PAID"
    DECLINE = "DECLINE"
    CONSULT = "CONSULT"
    REPORT = "REPORT"        # a specialist's reply carrying the report PDF
    CANCEL = "CANCEL"
    YES = "YES"
    NO = "NO"
    TREATMENT = "TREATMENT"  # after the report: to be inserted into the treatment path
    ADDITIONAL = "ADDITIONAL"  # after the report: a question, as a new paid opinion linked to the first
    RELAY = "RELAY"          # the secretariat's reply to a treatment forward, for the requestor
    FOLLOW_UP = "FOLLOW_UP"  # ordinary mail on a reported case whose treatment request is with the secretariat
    COMPLETE = "COMPLETE"    # ordinary mail after which nothing required is missing
    INCOMPLETE = "INCOMPLETE"
    WRITE = "WRITE"          # ordinary mail on a case past the documents stage
    NOTE = "NOTE"            # ordinary mail awaiting documents that brings nothing new (no file, no field)
    EMAIL = "EMAIL"          # an admin records a corrected address for the requestor or the patient
    UNDELIVERABLE = "UNDELIVERABLE"   # mail to this staff member bounced for good


OPEN_STATES = (State.AWAITING_DOCUMENTS, State.IN_TRIAGE, State.AWAITING_PAYMENT, State.WITH_SPECIALIST)
CLOSED_STATES = (State.REPORT_SENT, State.REJECTED, State.CANCELLED, State.EXPIRED)
STAFF_ROLES = (Role.TRIAGE, Role.SPECIALIST, Role.ADMIN)
PARTIES = (Role.REQUESTOR, Role.PATIENT)


@dataclass(frozen=True)
class Transition:
    next_state: State | None        # None: the case stays where it is
    effects: tuple[str, ...] = ()   # names in workflow.effects.EFFECTS, run in order
    templates: tuple[str, ...] = ()  # what the effects may send (templates/<name>.<lang>.txt.j2)
    stamps: tuple[str, ...] = ()    # case time columns set to the decision's time


def _rows() -> dict[tuple[State, Verb, Role], Transition]:
    S, V, R = State, Verb, Role
    admins = "admin/notice"
    complete = Transition(S.IN_TRIAGE, ("acknowledge_complete", "send_to_triage"),
                          ("requestor/case_complete", "triage/new_case"), ("completed_at",))
    ask = (("ask_for_documents",), ("requestor/missing_documents", "requestor/instructions"))
    asked = Transition(None, *ask)
    rows = {
        (S.NEW, V.COMPLETE, R.REQUESTOR): complete,
        (S.NEW, V.INCOMPLETE, R.REQUESTOR): Transition(S.AWAITING_DOCUMENTS, *ask),
        (S.IN_TRIAGE, V.APPROVE, R.TRIAGE): Transition(S.AWAITING_PAYMENT, ("approve",), ("requestor/payment_request",)),
        (S.IN_TRIAGE, V.MISSING, R.TRIAGE): Transition(S.AWAITING_DOCUMENTS, ("triage_missing",),
                                                       ("requestor/more_documents_requested",)),
        (S.IN_TRIAGE, V.REJECT, R.TRIAGE): Transition(S.REJECTED, ("reject",), ("requestor/rejected",), ("closed_at",)),
        (S.AWAITING_PAYMENT, V.PAID, R.ADMIN): Transition(S.WITH_SPECIALIST, ("record_payment", "route_to_specialist"),
                                                          ("specialist/new_case", admins), ("paid_at",)),
        (S.WITH_SPECIALIST, V.DECLINE, R.SPECIALIST): Transition(None, ("decline", "route_to_specialist"),
                                                                 ("specialist/new_case", admins)),
        (S.WITH_SPECIALIST, V.CONSULT, R.SPECIALIST): Transition(None, ("propose_extra",), ("requestor/extra_proposal",)),
        (S.WITH_SPECIALIST, V.MISSING, R.SPECIALIST): Transition(None, ("specialist_missing",),
                                                                 ("requestor/more_documents_requested",)),
        (S.WITH_SPECIALIST, V.REPORT, R.SPECIALIST): Transition(S.REPORT_SENT, ("deliver_report",),
                                                                ("requestor/report", admins),
                                                                ("report_sent_at", "closed_at")),
        (S.WITH_SPECIALIST, V.UNDELIVERABLE, R.SPECIALIST): Transition(
            None, ("specialist_unreachable", "route_to_specialist"), ("specialist/new_case", admins)),
    }
    for state in (*OPEN_STATES, *CLOSED_STATES):
        rows[(state, V.EMAIL, R.ADMIN)] = Transition(None, ("set_email",), (admins,))
    for role in PARTIES:
        rows[(S.AWAITING_DOCUMENTS, V.COMPLETE, role)] = complete
        rows[(S.AWAITING_DOCUMENTS, V.INCOMPLETE, role)] = asked
        rows[(S.AWAITING_DOCUMENTS, V.NOTE, role)] = Transition(None, ("note_briefly",), ("requestor/noted",))
        for state in (S.IN_TRIAGE, S.AWAITING_PAYMENT):
            rows[(state, V.WRITE, role)] = Transition(None, ("acknowledge",), ("requestor/received",))
        rows[(S.WITH_SPECIALIST, V.WRITE, role)] = Transition(None, ("acknowledge", "forward_to_specialist"),
                                                              ("requestor/received", "specialist/more_documents"))
        for state in CLOSED_STATES:
            rows[(state, V.WRITE, role)] = Transition(None, ("say_closed",), ("requestor/case_closed",))
        rows[(S.REPORT_SENT, V.WRITE, role)] = Transition(None, ("offer_additional",), ("requestor/additional_offer",))
        rows[(S.REPORT_SENT, V.FOLLOW_UP, role)] = Transition(
            None, ("forward_follow_up",), ("secretariat/follow_up", "requestor/follow_up_forwarded"))
        rows[(S.REPORT_SENT, V.TREATMENT, role)] = Transition(
            None, ("forward_treatment",), ("secretariat/treatment_request", "requestor/treatment_forwarded", admins))
        rows[(S.REPORT_SENT, V.ADDITIONAL, role)] = Transition(   # the reported case stays; a linked one opens
            None, ("open_additional",), ("requestor/additional_opened", "triage/additional_opinion",
                                         "requestor/additional_offer"))
        for state in OPEN_STATES:
            rows[(state, V.CANCEL, role)] = Transition(S.CANCELLED, ("cancel",),
                                                       ("requestor/cancelled", "staff/case_cancelled"), ("closed_at",))
        for verb in (V.YES, V.NO):
            rows[(S.WITH_SPECIALIST, verb, role)] = Transition(None, ("answer_extra",),
                                                               ("specialist/extra_answer", "requestor/extra_answer_noted"))
    rows[(S.REPORT_SENT, V.RELAY, R.SECRETARIAT)] = Transition(None, ("relay_treatment_reply",),
                                                                ("requestor/treatment_reply",))
    return rows


TABLE: dict[tuple[State, Verb, Role], Transition] = _rows()

# sent by the engine itself around the table: refusals, unreadable commands, strangers
ENGINE_TEMPLATES = ("admin/notice", "staff/command_wrong_state", "staff/command_not_understood",
                    "requestor/not_a_party", "requestor/condition_not_offered", "requestor/confirm_command",
                    "staff/confirm_command", "staff/not_assigned")


@dataclass(frozen=True)
class Refused:
    """No row: `why` is "role" (nobody in this role may use the verb) or "state" (not now)."""

    why: str


def transition_for(state: State | str, verb: Verb | str, role: Role | str) -> Transition | Refused:
    found = TABLE.get((State(state), Verb(verb), Role(role)))
    if found is not None:
        return found
    role_may = any(v == verb and r == role for (_s, v, r) in TABLE)
    return Refused("state" if role_may else "role")


def table_templates() -> tuple[str, ...]:
    """Every template the table and the engine may send, once each."""
    names = [t for row in TABLE.values() for t in row.templates] + list(ENGINE_TEMPLATES)
    return tuple(dict.fromkeys(names))
