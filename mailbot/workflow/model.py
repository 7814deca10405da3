"""Values exchanged between the shell and the pure core: case snapshots in, Decisions out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone, tzinfo
from typing import Any

from mailbot.checks.findings import Finding
from mailbot.documents.assess import AssessedAttachment, pdf_name  # noqa: F401  (part of a Decision)
from mailbot.workflow.transitions import CLOSED_STATES, OPEN_STATES, Disposition, Role, State  # noqa: F401


@dataclass(frozen=True)
class Office:
    """The office's settings the core needs (from config.toml), as one value."""

    name: str
    address: str
    languages: tuple[str, ...]
    triage_working_days: int = 2
    report_working_days: int = 5
    payment: dict[str, str] = field(default_factory=dict)   # beneficiary, iban, bic
    case_prefix: str = "SO"
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_replies_per_day: int = 10
    zone: tzinfo = timezone.utc
    calendar: Any = None                 # schedule.workdays.WorkCalendar, for working-day deadlines
    require_authenticated_staff: bool = False   # staff commands need a DKIM/SPF pass from our server
    authserv_id: str = ""                # that server's Authentication-Results id
    hospital: str = ""                   # the hospital (hospitals.toml id) this office value is for
    accepted_languages: tuple[str, ...] = ("en", "it")   # languages clinical documents may be in
    own_addresses: tuple[str, ...] = ()  # every address the robot receives on (all hospitals')
    ref_prefixes: tuple[str, ...] = ()   # every case prefix in use (all hospitals'), besides case_prefix
    incomplete_days: int = 90            # an incomplete request is deleted this long after it was opened
    confirmation_days: int = 7           # how long a request to confirm a command stays open

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The case prefixes a ref in a message may carry."""
        return tuple(dict.fromkeys((self.case_prefix, *self.ref_prefixes)))

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    def report_due(self, now: datetime) -> datetime | None:
        if self.calendar is None:
            return None
        return self.calendar.add_working_days(now, self.report_working_days, self.zone)


@dataclass(frozen=True)
class StoredDocument:
    filename: str
    sha256: str
    doc_types: tuple[str, ...]
    usable: bool
    problem: str = ""   # why it is not usable, for the staff's view
    active_content: tuple[str, ...] = ()   # JavaScript, OpenAction... (documents.inspect.ACTIVE_KINDS)
    language: str = ""     # the language it is written in, when not one the office accepts
    inside: tuple[str, ...] = ()           # the containers it was unpacked from, innermost first
    searchable_sha256: str | None = None   # the PDF the staff receive instead (a photo, an OCRed scan)

    @property
    def sent_as(self) -> tuple[str, str]:
        """(digest, file name) of what the staff receive: the PDF made of a photo or a scan, else the file."""
        if self.searchable_sha256:
            return self.searchable_sha256, pdf_name(self.filename)
        return self.sha256, self.filename


@dataclass(frozen=True)
class CaseView:
    """What the core may know of an existing case."""

    ref: str
    state: State
    language: str
    requestor_email: str
    form: dict[str, str]
    consent: dict[str, str]
    documents: tuple[StoredDocument, ...] = ()
    condition_id: str | None = None
    specialist_email: str | None = None
    amount_due: str | None = None          # "500.00" once triage approved
    triage: dict[str, Any] = field(default_factory=dict)   # who approved, type, specialty, note
    declined_by: tuple[str, ...] = ()      # specialists who declined this case
    pending_extra: dict[str, Any] = field(default_factory=dict)  # a CONSULT awaiting YES/NO
    parent_ref: str | None = None          # the earlier case this one updates
    report_sent_at: datetime | None = None
    opened_at: datetime | None = None
    additional_of: str | None = None       # the reported case this additional opinion follows
    after_report: dict[str, Any] = field(default_factory=dict)   # "report": its files; "treatment": the forward
    hospital: str | None = None            # its hospital (hospitals.toml id); None: the one of config

    @property
    def patient_email(self) -> str:
        return self.form.get("patient_email", "").lower()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class ReplySpec:
    """A message to queue: rendered by the shell from `templates/<purpose>.<language>.txt.j2`."""

    purpose: str                       # e.g. "requestor/missing_documents"
    to: tuple[str, ...]
    language: str
    context: dict[str, Any]
    blank_forms: tuple[str, ...] = ()  # "request_form", "consent_form"
    documents: tuple[tuple[str, str], ...] = ()  # (sha256, filename) of case documents to attach
    auto_submitted: str = "auto-replied"
    in_reply_to: str = ""              # thread it under this Message-ID instead of the message answered


class Unset:
    """A CasePatch field that the decision leaves as it is."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


@dataclass(frozen=True)
class CasePatch:
    """The case-row columns one decision sets; every other column stays as it is."""

    state: str = UNSET
    requestor_email: str = UNSET
    language: str = UNSET
    form: dict[str, str] = UNSET
    consent: dict[str, str] = UNSET
    condition_id: str | None = UNSET
    findings: list[dict[str, Any]] = UNSET
    triage: dict[str, Any] = UNSET
    amount_due: str | None = UNSET
    specialist_email: str | None = UNSET
    declined_by: list[str] = UNSET
    pending_extra: dict[str, Any] = UNSET
    parent_ref: str | None = UNSET
    additional_of: str | None = UNSET
    after_report: dict[str, Any] = UNSET
    hospital: str | None = UNSET
    completed_at: datetime | None = UNSET
    paid_at: datetime | None = UNSET
    report_due_at: datetime | None = UNSET
    report_sent_at: datetime | None = UNSET
    closed_at: datetime | None = UNSET

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not UNSET}

    def set(self, **columns: Any) -> "CasePatch":
        return replace(self, **columns)

    def __bool__(self) -> bool:
        return bool(self.as_dict())


@dataclass(frozen=True)
class SentMail:
    """One message of ours, as the outbox keeps it (the one a bounce names)."""

    message_id: str
    case_ref: str | None
    recipients: tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class Undelivered:
    """An address of a case that bounced for good: automatic mail to it is paused for the case."""

    address: str
    role: str                 # its role on the case when it bounced (requestor, patient, specialist...)
    status: str = ""          # "5.1.1"
    diagnostic: str = ""      # the remote server's words, one line
    message_id: str = ""      # our mail that bounced (the one a corrected address gets again)
    purpose: str = ""


@dataclass(frozen=True)
class DeliveryPatch:
    """What a decision changes about the case's undeliverable addresses."""

    pause: tuple[Undelivered, ...] = ()            # newly undeliverable: no automatic mail to them
    resume: tuple[str, ...] = ()                   # no longer paused (an admin corrected them)
    resend: tuple[tuple[str, str], ...] = ()       # (Message-ID of our mail that failed, address now)
    by: str = ""                                   # who corrected them (admin address or "cli")


@dataclass(frozen=True)
class PendingCommand:
    """A command that waits for its confirmation: the mail asking for it has `request_id`."""

    request_id: str
    case_ref: str
    verb: str
    line: str                          # the command line as written ("" for a report)
    role: Role
    address: str                       # the address on record that was asked (and must answer)
    expires_at: datetime
    status: str = "pending"            # pending | confirmed | expired
    attachments: tuple[AssessedAttachment, ...] = ()   # those of the message that gave the command
    text: str = ""                     # that message's text (a TREATMENT's or ADDITIONAL's words below the line)
    given_id: str = ""                 # that message's own Message-ID


@dataclass(frozen=True)
class Facts:
    """Everything the store knows that one decision needs, read in one place (store/facts.py)."""

    by_thread: CaseView | None = None           # a case whose outgoing Message-ID the mail cites
    by_reference: CaseView | None = None        # the first case named by a ref in subject or body
    sender_open: tuple[CaseView, ...] = ()      # the sender's open cases awaiting documents
    parents: dict[str, CaseView] = field(default_factory=dict)   # cases the candidates update, by ref
    specialist_loads: dict[str, int] = field(default_factory=dict)   # specialist -> cases with_specialist
    replies_today: dict[str, int] = field(default_factory=dict)      # address -> automatic replies, 24 h
    noted_today: frozenset[str] = frozenset()   # refs whose requestor had a short acknowledgement in 24 h
    next_ref: str = ""                          # the ref a new case would get
    bounced: SentMail | None = None             # our mail a delivery report names
    bounced_case: CaseView | None = None        # the case that mail belongs to
    undelivered: dict[str, tuple[Undelivered, ...]] = field(default_factory=dict)  # paused, by case ref
    threaded: frozenset[str] = frozenset()      # refs of cases whose mail to the sender this one answers
    pending: PendingCommand | None = None       # the command whose confirmation request this one answers
    awaiting: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # ref -> (address, line)
                                                # commands already waiting for confirmation, unexpired
    sender_active: tuple[CaseView, ...] = ()    # the sender's open cases (any open state), as requestor
    acknowledged_resends: frozenset[str] = frozenset()   # refs whose resent request was answered once
    notices_sent: dict[str, frozenset[tuple[str, str, str, str]]] = field(default_factory=dict)
                                                # ref -> (address, purpose, kind, line) since its last state change
    staff_today: dict[str, dict[str, int]] = field(default_factory=dict)   # ref -> staff address -> mails, 24 h


@dataclass(frozen=True)
class Decision:
    """Everything one inbound message changes; printable by `replay --dry-run`."""

    disposition: Disposition
    case_ref: str | None               # existing case, or None with new_case / no case
    new_case: bool
    routed_by: str                     # thread | reference | resend | sender | new | update | "" (a command)
    sender_role: Role
    state_before: State | None
    state_after: State | None
    language: str
    form: dict[str, str]
    consent: dict[str, str]
    condition_id: str | None
    attachments: tuple[AssessedAttachment, ...]
    findings: tuple[Finding, ...]
    replies: tuple[ReplySpec, ...]
    events: tuple[tuple[str, dict[str, Any]], ...]
    reason: str = ""                   # why (automatic reason, quarantine cause)
    patch: CasePatch = field(default_factory=CasePatch)   # what the case row becomes
    payment: dict[str, Any] | None = None   # a payment to record: amount, by, expected
    command: str = ""                  # the command acted on (or refused), for the timeline
    filed: tuple[str, ...] = ()        # digests of the attachments that become case documents
    delivery: DeliveryPatch | None = None   # addresses paused or corrected, mail to send again
    confirmation: dict[str, Any] | None = None   # a command to keep until confirmed: verb, line, role, ...
    resolves: tuple[str, str] | None = None      # (request Message-ID, confirmed | expired)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, patch=CasePatch()))
        data["patch"] = self.patch.as_dict()
        if self.delivery is None:
            data.pop("delivery")
        data["findings"] = [f.as_dict() for f in self.findings]
        for attachment in data["attachments"]:   # only unpacked members say where they came from,
            if not attachment["inside"]:          # only photos and scans have a searchable copy
                del attachment["inside"]
            if attachment["searchable_sha256"] is None:
                del attachment["searchable_sha256"]
            if not attachment["ocr_queued"]:
                del attachment["ocr_queued"]
        return data
