"""One raw message read once: parsed, its containers unpacked, its attachments assessed (each
hashed once), its body form and loop signs read. Pure. Everything after (facts, decision, writes)
works from this value.

A container (ZIP, winmail.dat, Outlook .msg) that yields at least one usable file is not listed
itself: its members are, each assessed as if attached directly and saying where it came from. A
container that could not be unpacked, or held nothing usable, is listed with that problem."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mailbot.checks.authentication import sender_authenticated
from mailbot.checks.automatic import automatic_reason
from mailbot.documents.assess import AssessedAttachment, assess_container, assess_file, pdf_name
from mailbot.documents.containers import Item, Limits, unpack
from mailbot.documents.inspect import sniff_kind
from mailbot.documents.photos import Ocr
from mailbot.documents.forms import fields_from_body
from mailbot.parse import Attachment, ParsedMessage, parse_message, sha256
from mailbot.parse.dsn import DeliveryReport, read_report
from mailbot.rulebook.models import Rulebook
from mailbot.workflow.model import Office
from mailbot.workflow.routing import find_refs


@dataclass(frozen=True)
class Envelope:
    raw: bytes
    message: ParsedMessage
    dedup_key: str
    attachments: tuple[AssessedAttachment, ...]   # one per distinct file (by digest)
    body_form: dict[str, str]                      # request-form fields written in the body
    automatic: str | None                          # why no person wrote it, or None
    refs: tuple[str, ...]                          # case refs in the subject, then the body
    bounced_refs: tuple[str, ...] = ()             # refs of our own Message-IDs quoted in a bounce
    report: DeliveryReport | None = None           # a delivery-status notification, read
    members: tuple[Attachment, ...] = ()           # files unpacked from containers, PDFs made of photos/scans
    received_for: str = ""                         # the hospital of the mailbox it came from, if set
    authenticated: bool = False                    # our receiving server passed the From domain

    @property
    def sender(self) -> str:
        return self.message.from_addr

    def data(self) -> dict[str, bytes]:
        """Attachment bytes by digest (for the file store and for replies that forward them)."""
        return {a.sha256: a.data for a in (*self.message.attachments, *self.members)}


def dedup_key(msg: ParsedMessage, raw: bytes) -> str:
    """The same message delivered twice (or re-read after a crash) maps to one key."""
    if msg.message_id:
        return "mid:" + hashlib.sha256(f"{msg.message_id}\0{msg.from_addr}".encode()).hexdigest()
    normalised = re.sub(rb"\r\n|\r", b"\n", raw)
    return "raw:" + hashlib.sha256(normalised).hexdigest()


def open_envelope(raw: bytes, rulebook: Rulebook, office: Office, ocr: Ocr | None = None, *,
                  received_for: str = "") -> Envelope:
    """`ocr`: reads a page image (mailbot/ocr/); None reads nothing (photos are still made PDFs).
    `received_for`: the hospital whose mailbox the message was read from ([[mailboxes]] hospital)."""
    msg = parse_message(raw)
    automatic = automatic_reason(msg, {office.address.lower(), *(a.lower() for a in office.own_addresses)})
    hospital = rulebook.hospitals.get(received_for)   # its documents are judged by its accepted languages
    languages = tuple(hospital.accepted_languages) if hospital is not None else office.accepted_languages
    attachments, members = assess_all(msg.attachments, rulebook, office.max_attachment_bytes, ocr,
                                         languages)
    refs = tuple(dict.fromkeys(ref for text in (msg.subject, msg.text) for prefix in office.prefixes
                               for ref in find_refs(text, prefix)))
    bounced, report = (), None
    if automatic:
        report = read_report(raw)   # a bounce quotes the Message-ID of what we sent
        prefixes = "|".join(re.escape(p) for p in office.prefixes)
        sent_id = re.compile(rf"<((?:{prefixes})-\d{{4}}-\d{{5}})\.[^<>@\s]+@{re.escape(office.domain)}>", re.I)
        bounced = tuple(sent_id.findall(raw.decode("latin-1")))
    return Envelope(raw=raw, message=msg, dedup_key=dedup_key(msg, raw), attachments=attachments,
                    body_form=fields_from_body(msg.text), automatic=automatic, refs=refs, bounced_refs=bounced,
                    report=report, members=members, received_for=received_for,
                    authenticated=sender_authenticated(msg, office.authserv_id))


def assess_all(files: tuple[Attachment, ...], rulebook: Rulebook, max_bytes: int, ocr: Ocr | None = None,
               accepted_languages: tuple[str, ...] = ()) -> tuple[tuple[AssessedAttachment, ...], tuple[Attachment, ...]]:
    """Every attachment and every member of a container, assessed once per distinct file; and
    the files that are not attachments of the email itself (unpacked members, PDFs made of
    photos and scans): their bytes go to the store like any attachment's."""
    limits = Limits(max_total_bytes=max_bytes)
    seen: set[str] = set()
    out: list[AssessedAttachment] = []
    members: list[Attachment] = []
    for att in files:
        if att.sha256 in seen:
            continue
        items = unpack(att, limits)
        done: dict[str, AssessedAttachment] = {}
        for item in items:
            digest = item.attachment.sha256
            if not item.container and digest not in done and digest not in seen:
                done[digest], made = assess_file(item.attachment, rulebook, max_bytes=max_bytes, ocr=ocr,
                                                    accepted_languages=accepted_languages)
                if made is not None:
                    members.append(Attachment(pdf_name(item.attachment.filename), "application/pdf", made))
        for item in items:
            digest = item.attachment.sha256
            if item.container and digest in seen:
                continue
            shown = _container_line(item, done) if item.container else done.pop(digest, None)
            seen.add(digest)
            if shown is not None:
                out.append(shown)
                members.extend([item.attachment] if item.attachment.inside else [])
    return tuple(out), tuple(members)


def _container_line(item: Item, members: dict[str, AssessedAttachment]) -> AssessedAttachment | None:
    """A container is listed only when it could not be unpacked or nothing in it can be used.
    Containers inside it that could not be unpacked are listed themselves; a container nested in
    another, or a winmail.dat, with no file at all says nothing (a winmail.dat without attachments
    only carries the text of the email)."""
    kind = sniff_kind(item.attachment.data)
    if item.problem is not None:
        return assess_container(item.attachment, kind, item.problem, item.detail)
    if any(d not in members or members[d].problem is None for d in item.members):
        return None   # something usable inside (a file met before counts: it is on the case)
    if item.members:
        return assess_container(item.attachment, kind, "container_unusable", "nothing usable inside")
    if item.refused_inside or item.attachment.inside or kind == "tnef":
        return None
    return assess_container(item.attachment, kind, "container_unusable", "no file inside")
