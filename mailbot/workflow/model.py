"""Values exchanged between the shell and the pure core: case snapshots in, Decisions out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mailbot.checks.findings import Finding

OPEN_STATES = ("awaiting_documents", "in_triage", "awaiting_payment", "with_specialist")
CLOSED_STATES = ("report_sent", "rejected", "cancelled", "expired")


@dataclass(frozen=True)
class StoredDocument:
    filename: str
    sha256: str
    doc_types: tuple[str, ...]
    usable: bool
    problem: str = ""   # why it is not usable, for the staff's view
    active_content: tuple[str, ...] = ()   # JavaScript, OpenAction... (documents.inspect.ACTIVE_KINDS)


@dataclass(frozen=True)
class CaseView:
    """What the core may know of an existing case."""

    ref: str
    state: str
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

    @property
    def patient_email(self) -> str:
        return self.form.get("patient_email", "").lower()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class AssessedAttachment:
    """One attachment after inspection, classification and the naming check."""

    filename: str
    sha256: str
    size: int
    kind: str
    pages: int
    has_text: bool
    problem: str | None          # inspection problem (not_pdf, encrypted, broken, empty, too_large)
    doc_types: tuple[str, ...]
    name_ok: bool
    name_reason: str | None
    suggestion: str | None
    form_fields: dict[str, str]  # request-form fields read from its AcroForm
    consent_fields: dict[str, str]
    detail: str = ""
    duplicate: bool = False      # the case already has this exact file
    active_content: tuple[str, ...] = ()  # a warning for the staff, not a problem: still usable

    @property
    def usable(self) -> bool:
        return self.problem is None and self.name_ok and not self.duplicate


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


@dataclass(frozen=True)
class Decision:
    """Everything one inbound message changes; printable by `replay --dry-run`."""

    disposition: str                   # filed | automatic | stranger | quarantined | duplicate
    case_ref: str | None               # existing case, or None with new_case / no case
    new_case: bool
    routed_by: str                     # thread | reference | sender | new | none
    sender_role: str                   # requestor | patient | triage | specialist | admin | stranger
    state_before: str | None
    state_after: str | None
    language: str
    form: dict[str, str]
    consent: dict[str, str]
    condition_id: str | None
    attachments: tuple[AssessedAttachment, ...]
    findings: tuple[Finding, ...]
    replies: tuple[ReplySpec, ...]
    events: tuple[tuple[str, dict[str, Any]], ...]
    reason: str = ""                   # why (automatic reason, quarantine cause)
    case_updates: dict[str, Any] = field(default_factory=dict)  # column -> new value
    payment: dict[str, Any] | None = None   # a payment to record: amount, by, expected
    command: str = ""                  # the command acted on (or refused), for the timeline

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.as_dict() for f in self.findings]
        return data
