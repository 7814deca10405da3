"""Bytes of one attachment -> Inspection: what the file really is, judged by content. Pure.

The file type comes from magic bytes (and, for zip and OLE2 containers, the names of their
members), never from the file name or the declared MIME type. PDFs are opened with pypdf to learn
whether they are readable, encrypted or broken, how many pages they have, whether they carry a text
layer (a scan does not) and which AcroForm fields they hold.

Attachments are hostile input: every failure inside pypdf (or the libraries it calls) becomes a
finding (`problem`, `detail`), never an exception. Work is bounded by counts, not by the clock:
at most `MAX_TEXT_PAGES` pages and `MAX_TEXT_CONTENT_BYTES` of page content are parsed for text
(content streams are decoded one at a time and reading stops as soon as the budget is spent), at
most `MAX_TEXT_CHARS` characters are kept, and pypdf's own decompression and parsing limits stay on
(no external jbig2dec process is ever started). A PDF that hits one of those limits (a Flate bomb,
say) "could not be read": it is `broken`, like a damaged file, and a new copy is asked for.

Active content is named, not judged: JavaScript, actions run on opening or on other events
(/OpenAction, /AA), /Launch, embedded files and XFA forms are listed in `active_content`. Such
a PDF stays usable (the patient is asked for nothing); the staff are told what it carries.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from pypdf import PageObject, PasswordType, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, NameObject, NullObject

KINDS = frozenset({
    "pdf", "jpeg", "png", "gif", "tiff", "heic", "bmp", "webp",
    "docx", "xlsx", "pptx", "odt", "ods", "odp", "doc", "xls", "ppt", "msg", "rtf",
    "zip", "tnef", "rar", "7z", "gzip", "html", "text", "empty", "unknown",
})

MAX_TEXT_PAGES = 30          # pages read for the text layer (page count is always complete)
MAX_TEXT_CHARS = 200_000     # characters of text kept
MAX_TEXT_CONTENT_BYTES = 2_000_000  # decompressed page content parsed for text (a few s of pypdf)
MIN_TEXT_LETTERS = 40        # letters needed to call it a text layer rather than a scan
MAX_FIELDS = 1_000           # AcroForm fields kept
MAX_ACTION_PAGES = 1_000     # pages whose actions and annotations are checked for active content
MAX_ANNOTATIONS = 5_000      # annotations checked, all pages together
MAX_ACTION_CHAIN = 16        # /Next actions followed from one action

# What `active_content` may list (the staff see these words).
ACTIVE_KINDS = ("JavaScript", "OpenAction", "AA", "Launch", "EmbeddedFiles", "XFA", "RichMedia")


@dataclass(frozen=True)
class Inspection:
    kind: str            # one of KINDS: "pdf", "jpeg", "png", "gif", "tiff", "heic", "bmp", "webp",
                         # "docx", "xlsx", "pptx", "odt", "ods", "odp", "doc", "xls", "ppt", "msg",
                         # "rtf", "zip", "tnef", "rar", "7z", "gzip", "html", "text", "empty", "unknown"
    size: int
    is_pdf: bool = False
    opens: bool = False          # a PDF that could be opened and its pages read
    encrypted: bool = False      # a PDF that needs a password we do not have
    broken: bool = False         # a PDF that is damaged / truncated
    pages: int = 0
    has_text: bool = False       # a text layer with real words (not a bare scan)
    text: str = ""               # extracted text, capped (first ~200k chars)
    fields: dict[str, str] = field(default_factory=dict)  # AcroForm {name: value}, "" when empty
    problem: str | None = None   # None when usable; else one of: "empty", "too_large", "not_pdf",
                                 # "encrypted", "broken" (damaged, or past a decompression limit)
    detail: str = ""             # short technical reason for the case view (never patient data)
    active_content: tuple[str, ...] = ()  # of ACTIVE_KINDS, in that order: not a problem, a warning


def inspect_document(filename: str, data: bytes, *, max_bytes: int = 25 * 1024 * 1024) -> Inspection:
    """Judge one attachment. `filename` is not used to decide anything; it is accepted so callers
    pass what they have and so a future detail can mention it. Never raises."""
    size = len(data)
    if size == 0:
        return Inspection(kind="empty", size=0, problem="empty", detail="the file is empty")
    kind = sniff_kind(data)
    if size > max_bytes:
        return Inspection(kind=kind, size=size, is_pdf=kind == "pdf", problem="too_large",
                          detail=f"{size} bytes, more than the limit of {max_bytes}")
    if kind != "pdf":
        return Inspection(kind=kind, size=size, problem="not_pdf", detail=f"the file is {kind}, not PDF")
    try:
        return _inspect_pdf(data)
    except LimitReachedError:
        return _broken(size, LIMIT_DETAIL)
    except Exception as exc:  # the boundary: whatever a hostile PDF makes a library do
        return _broken(size, f"unexpected {type(exc).__name__}")


# --- file type by content -------------------------------------------------------------------------

_OBJ_RE = re.compile(rb"\d+\s+\d+\s+obj\b")


def sniff_kind(data: bytes) -> str:
    """The file type from its first bytes (and container member names). Never raises."""
    if not data:
        return "empty"
    head = data[:1024]
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heic"
    if _is_bmp(head):
        return "bmp"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_kind(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    if head.startswith(b"\x78\x9f\x3e\x22"):   # TNEF (winmail.dat), signature 0x223E9F78
        return "tnef"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    # PDF readers accept a header anywhere in the first 1024 bytes, and even none at all when the
    # file has objects up front and a trailer at the end.
    if b"%PDF-" in head:
        return "pdf"
    if _OBJ_RE.search(head) and (b"startxref" in data[-2048:] or b"%%EOF" in data[-2048:]):
        return "pdf"
    return _text_kind(head)


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}
_BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}


def _is_bmp(head: bytes) -> bool:
    return len(head) >= 18 and head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES


_ODF_KINDS = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}


def _zip_kind(data: bytes) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except Exception:  # truncated or odd zip: read the names in the local file headers instead
        names = _local_header_names(data)
    # ODF: the first member is "mimetype", stored uncompressed right after its local header.
    if data[30:38] == b"mimetype":
        for mimetype, kind in _ODF_KINDS.items():
            if data[38:38 + len(mimetype)] == mimetype:
                return kind
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    return "zip"


def _local_header_names(data: bytes, limit: int = 1000) -> list[str]:
    names: list[str] = []
    at = data.find(b"PK\x03\x04")
    while at >= 0 and len(names) < limit:
        length = int.from_bytes(data[at + 26:at + 28], "little")
        names.append(data[at + 30:at + 30 + length].decode("cp437"))
        at = data.find(b"PK\x03\x04", at + 30 + length)
    return names


def _ole_kind(data: bytes) -> str:
    """OLE2 compound file: directory entry names are UTF-16LE; look for the telling stream."""
    def has(name: str) -> bool:
        return name.encode("utf-16-le") in data
    if has("WordDocument"):
        return "doc"
    if has("Workbook") or has("Book\x00"):
        return "xls"
    if has("PowerPoint Document"):
        return "ppt"
    if has("__substg1.0_") or has("__properties_version1.0"):
        return "msg"
    return "unknown"


_HTML_RE = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)


def _text_kind(head: bytes) -> str:
    sample = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    if _HTML_RE.search(sample[:1024]):
        return "html"
    if b"\x00" in head:
        return "unknown"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut at the sample's end
            printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 160 for b in head)
            if printable < 0.95 * len(head):
                return "unknown"
    return "text"


# --- PDF ------------------------------------------------------------------------------------------

def _broken(size: int, detail: str) -> Inspection:
    return Inspection(kind="pdf", size=size, is_pdf=True, broken=True, problem="broken", detail=detail)


LIMIT_DETAIL = "a decompression or size limit was reached (LimitReachedError)"
ACTIVE_NOTE = "active content: "   # first in `detail`, so a stored detail still says it


def active_content_of(detail: str) -> tuple[str, ...]:
    """The active content named in a stored `detail` (what `inspect_document` wrote there)."""
    if not detail.startswith(ACTIVE_NOTE):
        return ()
    named = detail[len(ACTIVE_NOTE):].split(";", 1)[0].split(", ")
    return tuple(k for k in ACTIVE_KINDS if k in named)


def _inspect_pdf(data: bytes) -> Inspection:
    size = len(data)
    notes: list[str] = []
    # No external jbig2dec process for hostile input; pypdf's decompression limits stay in force.
    with apply_configuration(jbig2dec_binary=None):
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
        except Exception as exc:
            return _broken(size, f"cannot be opened ({type(exc).__name__})")

        if reader.is_encrypted:
            try:
                opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except Exception as exc:
                return _broken(size, f"encryption cannot be read ({type(exc).__name__})")
            if not opened:
                return Inspection(kind="pdf", size=size, is_pdf=True, encrypted=True, problem="encrypted",
                                  detail="password protected")
            notes.append("encrypted, opens without a password")

        try:
            pages = len(reader.pages)
        except Exception as exc:
            return _broken(size, f"pages cannot be read ({type(exc).__name__})")
        if pages == 0:
            return _broken(size, "no pages")

        try:
            active = _active_content(reader, pages, data)
        except LimitReachedError:
            return _broken(size, LIMIT_DETAIL)
        except Exception as exc:   # a damaged structure: what the raw bytes show still counts
            active = _raw_active_content(data)
            notes.append(f"active content check incomplete ({type(exc).__name__})")
        if active:
            notes.insert(0, ACTIVE_NOTE + ", ".join(active))
        try:
            text, read, errors = _extract_text(reader, pages)
            fields = _fields(reader, notes)
        except LimitReachedError:
            return _broken(size, LIMIT_DETAIL)
        if errors:
            notes.append(f"text unreadable on {len(errors)} page(s) ({', '.join(sorted(set(errors)))})")

    has_text = sum(ch.isalpha() for ch in text) >= MIN_TEXT_LETTERS
    if not has_text:
        notes.append("no text layer (scan?)")
    if read < pages:
        notes.append(f"text read from the first {read} of {pages} pages")
    return Inspection(kind="pdf", size=size, is_pdf=True, opens=True, pages=pages, has_text=has_text,
                      text=text, fields=fields, detail="; ".join(notes), active_content=active)


def _extract_text(reader: PdfReader, pages: int) -> tuple[str, int, list[str]]:
    """Text of the first pages, within MAX_TEXT_PAGES, MAX_TEXT_CHARS and MAX_TEXT_CONTENT_BYTES
    (decompressed page content: what text extraction has to parse). Returns (text, pages read,
    names of the errors met). A pypdf limit reached (LimitReachedError) is raised: the file is
    then not readable at all."""
    parts: list[str] = []
    errors: list[str] = []
    chars = 0
    budget = MAX_TEXT_CONTENT_BYTES
    read = 0
    for index in range(min(pages, MAX_TEXT_PAGES)):
        try:
            page = reader.pages[index]
            cost = _content_size(page, budget)
            if cost > budget:
                break
            budget -= cost
            chunk = page.extract_text() or ""
        except LimitReachedError:
            raise
        except Exception as exc:  # DependencyError, DeprecationError, RecursionError...
            errors.append(type(exc).__name__)
            chunk = ""
        read += 1
        if chunk:
            parts.append(chunk[:MAX_TEXT_CHARS - chars])
            chars += len(parts[-1])
            if chars >= MAX_TEXT_CHARS:
                break
    return "\n\n".join(parts), read, errors


def _content_size(page: PageObject, budget: int) -> int:
    """Decompressed size of a page's content streams, decoded one at a time and no further than
    just past `budget` (pypdf keeps the decoded data for later, so memory stays bounded too)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, ArrayObject) else [contents]
    total = 0
    for stream in streams:
        total += len(stream.get_object().get_data())
        if total > budget:
            break
    return total


# --- active content -------------------------------------------------------------------------------

# Keys so long that meeting them by chance in compressed data is out of the question.
_RAW_ACTIVE = re.compile(rb"/(JavaScript|Launch|EmbeddedFiles|RichMedia)(?![A-Za-z0-9#])")


def _raw_active_content(data: bytes) -> tuple[str, ...]:
    """What uncompressed objects anywhere in the file name (objects in object streams are not
    visible here; the structural check below reaches those)."""
    found = {m.decode() for m in _RAW_ACTIVE.findall(data)}
    return tuple(k for k in ACTIVE_KINDS if k in found)


def _active_content(reader: PdfReader, pages: int, data: bytes) -> tuple[str, ...]:
    """JavaScript, automatic actions, Launch, embedded files and XFA: in the document catalog,
    the pages' actions and their annotations (bounded by MAX_ACTION_PAGES / MAX_ANNOTATIONS),
    and in the raw bytes."""
    found = set(_raw_active_content(data))
    root = _resolved(reader.trailer.get("/Root"))
    if isinstance(root, DictionaryObject):
        opening = _resolved(root.get("/OpenAction"))   # an array is a mere destination
        if isinstance(opening, DictionaryObject) and _runs(opening, found, automatic=True):
            found.add("OpenAction")
        _triggers(root.get("/AA"), found)
        names = _resolved(root.get("/Names"))
        if isinstance(names, DictionaryObject):
            found.update(kind for kind in ("JavaScript", "EmbeddedFiles") if f"/{kind}" in names)
        form = _resolved(root.get("/AcroForm"))
        if isinstance(form, DictionaryObject) and "/XFA" in form:
            found.add("XFA")
    left = MAX_ANNOTATIONS
    for index in range(min(pages, MAX_ACTION_PAGES)):
        page = reader.pages[index]
        _triggers(page.get("/AA"), found)
        annotations = _resolved(page.get("/Annots"))
        if not isinstance(annotations, ArrayObject):
            continue
        for item in annotations[:left]:
            annotation = _resolved(item)
            if not isinstance(annotation, DictionaryObject):
                continue
            subtype = annotation.get("/Subtype")
            if subtype == "/FileAttachment":
                found.add("EmbeddedFiles")
            elif subtype == "/RichMedia":
                found.add("RichMedia")
            _runs(annotation.get("/A"), found, automatic=False)
            _triggers(annotation.get("/AA"), found)
        left -= len(annotations)
        if left <= 0:
            break
    return tuple(k for k in ACTIVE_KINDS if k in found)


def _triggers(additional_actions, found: set[str]) -> None:
    """An /AA dictionary: actions run on events (page opened, field changed, document closed)."""
    triggers = _resolved(additional_actions)
    if not isinstance(triggers, DictionaryObject):
        return
    for key in list(triggers)[:32]:
        if _runs(triggers[key], found, automatic=True):
            found.add("AA")


def _runs(action, found: set[str], *, automatic: bool) -> bool:
    """Add what `action` and its /Next chain run to `found` (JavaScript, Launch, RichMedia). True when
    it runs one of those or, for an action that runs without a click (`automatic`), when it does
    anything but move within the document: submitting a form or opening a link on its own counts."""
    active = False
    todo, seen = [action], 0
    while todo and seen < MAX_ACTION_CHAIN:
        item = _resolved(todo.pop())
        seen += 1
        if not isinstance(item, DictionaryObject):
            continue
        kind = item.get("/S")
        if kind == "/JavaScript" or "/JS" in item:
            found.add("JavaScript")
            active = True
        elif kind == "/Launch":
            found.add("Launch")
            active = True
        elif kind == "/RichMediaExecute":
            found.add("RichMedia")
            active = True
        elif automatic and kind not in ("/GoTo", "/Named", None):   # SubmitForm, URI, GoToR... on its own
            active = True
        following = _resolved(item.get("/Next"))
        todo.extend(following if isinstance(following, ArrayObject) else [following])
    return active


def _resolved(value):
    return value.get_object() if hasattr(value, "get_object") else value


def _fields(reader: PdfReader, notes: list[str]) -> dict[str, str]:
    try:
        raw = reader.get_fields() or {}
    except LimitReachedError:
        raise
    except Exception as exc:
        notes.append(f"form fields unreadable ({type(exc).__name__})")
        return {}
    fields: dict[str, str] = {}
    for name, spec in list(raw.items())[:MAX_FIELDS]:
        try:
            value = spec.get("/V") if hasattr(spec, "get") else None
            fields[str(name)] = _field_value(value).strip()
        except Exception:
            fields[str(name)] = ""
    return fields


def _field_value(value) -> str:
    """A field value as plain text: names lose their slash ("/Yes" -> "Yes"), lists are joined."""
    if value is None:
        return ""
    if hasattr(value, "get_object"):
        value = value.get_object()
    if isinstance(value, (list, tuple)):
        return ", ".join(_field_value(v) for v in value)
    if isinstance(value, NullObject):
        return ""
    if isinstance(value, NameObject):  # check box / radio state; "/Off" is an unticked box
        return "" if value == "/Off" else str(value)[1:]
    if isinstance(value, ByteStringObject):
        return bytes(value).decode("latin-1")
    return str(value)
