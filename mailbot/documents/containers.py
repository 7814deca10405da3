"""Containers -> their member files, within limits. Pure: bytes in, bytes out, nothing on disk.

Patients and hospitals send documents inside other files: a ZIP of a whole folder of records,
Outlook's `winmail.dat` (TNEF) that wraps every attachment of a rich-text mail, a forwarded
Outlook item (`.msg`). Each member found here is assessed afterwards exactly as if it had been
attached directly; it keeps its own name, and `inside` says where it came from (innermost
container first), so a reply can say "histology.pdf, inside records.zip". Members are never
written anywhere under their own names: like every document they are stored by content address.

A container is hostile input, so unpacking is bounded for one attachment as a whole (everything
nested in it counts together):

* depth: a container inside a container... at most `max_depth` levels;
* members: at most `max_members` files in all;
* size: at most `max_total_bytes` unpacked in all (the attachment size limit), read with a bound
  so that a lying header cannot make us inflate more;
* compression ratio: a member that unpacks to more than `max_ratio` times its compressed size
  (past a small floor) is a decompression bomb.

Going past any of these refuses the whole attachment ("archive_limits"), so a bomb yields
nothing. A password-protected ZIP ("encrypted") or a damaged container ("broken") is refused on
its own; what else came with it still counts. Never raises.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from mailbot.documents.inspect import sniff_kind
from mailbot.parse import Attachment

CONTAINER_KINDS = frozenset({"zip", "tnef", "msg"})
RATIO_FLOOR = 1024 * 1024     # members smaller than this unpacked are never called bombs
# Files operating systems add to archives by themselves: not the sender's documents.
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Limits:
    max_depth: int = 3
    max_members: int = 100
    max_total_bytes: int = 25 * 1024 * 1024
    max_ratio: int = 100


@dataclass(frozen=True)
class Item:
    """One file met while unpacking one attachment: the attachment itself, or a member.

    `container` is True for a file that is a container (ZIP, TNEF, .msg); `problem` is set when it
    could not be unpacked; when it could, `members` lists the digests of the files found inside it
    at any depth (not of the containers among them), and `refused_inside` says whether a container
    inside it could not be unpacked."""

    attachment: Attachment
    container: bool = False
    problem: str | None = None
    detail: str = ""
    members: tuple[str, ...] = ()
    refused_inside: bool = False


class _Refused(Exception):
    """A limit was passed: the whole attachment is refused."""


@dataclass
class _Budget:
    limits: Limits
    members: int = 0
    total: int = 0

    def take(self, size: int) -> None:
        self.members += 1
        self.total += size
        if self.members > self.limits.max_members:
            raise _Refused(f"more than {self.limits.max_members} files")
        if self.total > self.limits.max_total_bytes:
            raise _Refused(f"unpacks to more than {self.limits.max_total_bytes} bytes")

    @property
    def room(self) -> int:
        return self.limits.max_total_bytes - self.total


def unpack(att: Attachment, limits: Limits) -> tuple[Item, ...]:
    """The attachment and, when it is a container, everything inside it (depth first, the
    container before its members). A plain file gives one Item."""
    kind = sniff_kind(att.data)
    if kind not in CONTAINER_KINDS:
        return (Item(att),)
    budget = _Budget(limits)
    try:
        return _walk(att, kind, 1, budget)
    except _Refused as exc:
        return (Item(att, container=True, problem="archive_limits", detail=str(exc)),)


def _walk(att: Attachment, kind: str, depth: int, budget: _Budget) -> tuple[Item, ...]:
    if depth > budget.limits.max_depth:
        raise _Refused(f"containers nested more than {budget.limits.max_depth} deep")
    try:
        found = _OPENERS[kind](att.data, budget)
    except _Refused:
        raise
    except Exception as exc:   # the boundary: whatever a damaged container makes a library do
        found = _Problem("broken", f"cannot be unpacked ({type(exc).__name__})")
    if isinstance(found, _Problem):
        return (Item(att, container=True, problem=found.problem, detail=found.detail),)
    inside = (att.filename, *att.inside)
    items: list[Item] = []
    for name, data in found:
        member = Attachment(filename=name, content_type="application/octet-stream", data=data,
                            from_forwarded=att.from_forwarded, inside=inside)
        member_kind = sniff_kind(data)
        if member_kind in CONTAINER_KINDS:
            items.extend(_walk(member, member_kind, depth + 1, budget))
        else:
            items.append(Item(member))
    files = tuple(dict.fromkeys(i.attachment.sha256 for i in items if not i.container))
    refused = any(i.problem is not None for i in items)
    return (Item(att, container=True, members=files, refused_inside=refused), *items)


@dataclass(frozen=True)
class _Problem:
    problem: str
    detail: str


# --- ZIP ------------------------------------------------------------------------------------------

def _zip_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]] | _Problem:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir() and not _junk(i.filename)]
    except Exception as exc:
        return _Problem("broken", f"cannot be opened ({type(exc).__name__})")
    if any(i.flag_bits & 0x1 or i.compress_type == 99 for i in infos):   # 99: WinZip AES
        return _Problem("encrypted", "password protected")
    limits = budget.limits
    if len(infos) + budget.members > limits.max_members:
        raise _Refused(f"more than {limits.max_members} files")
    if sum(i.file_size for i in infos) > budget.room:
        raise _Refused(f"unpacks to more than {limits.max_total_bytes} bytes")
    out = []
    for info in infos:
        _check_ratio(info.file_size, info.compress_size, limits)
        with archive.open(info) as stream:
            content = stream.read(budget.room + 1)   # a header may lie about the size
        _check_ratio(len(content), info.compress_size, limits)
        budget.take(len(content))
        out.append((_base_name(info.filename), content))
    return out


def _check_ratio(size: int, compressed: int, limits: Limits) -> None:
    if size > RATIO_FLOOR and size > limits.max_ratio * max(compressed, 1):
        raise _Refused(f"a member is compressed more than {limits.max_ratio} to 1 (a decompression bomb?)")


def _junk(name: str) -> bool:
    base = _base_name(name)
    return name.startswith(_JUNK[0]) or base in _JUNK or base.startswith("._")


def _base_name(name: str) -> str:
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()
    return base or "unnamed"


# --- TNEF (winmail.dat) ---------------------------------------------------------------------------

def _tnef_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]] | _Problem:
    from tnefparse import TNEF   # imported when needed: most mail has no TNEF
    parsed = TNEF(data)
    out = []
    for part in parsed.attachments:
        content = bytes(part.data or b"")
        budget.take(len(content))
        out.append((_base_name(_text(part.long_filename()) or _text(part.name)), content))
    return out


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value or "").strip("\x00").strip()


# --- Outlook .msg ---------------------------------------------------------------------------------

def _msg_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]] | _Problem:
    import extract_msg   # imported when needed: it is slow to import
    message = extract_msg.openMsg(data, delayAttachments=False)
    try:
        out = []
        for part in message.attachments:
            content = part.data
            if not isinstance(content, (bytes, bytearray)):   # an embedded Outlook item
                content = _embedded_msg_bytes(content)
                if content is None:
                    continue
            budget.take(len(content))
            name = _text(getattr(part, "longFilename", "")) or _text(getattr(part, "shortFilename", ""))
            out.append((_base_name(name), bytes(content)))
        return out
    finally:
        message.close()


def _embedded_msg_bytes(embedded) -> bytes | None:
    export = getattr(embedded, "exportBytes", None)
    return export() if callable(export) else None


_OPENERS = {"zip": _zip_members, "tnef": _tnef_members, "msg": _msg_members}
