"""Text helpers for :mod:`mailbot.parse`: charsets, RFC 2047 words, filenames, HTML.

Everything here is total: each function returns a value for any input and never raises.
Private to the parser; other modules should use :func:`mailbot.parse.parse_message`.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import mimetypes
import quopri
import re
import unicodedata

# Charset labels that mailers send and Python does not know, or knows under a narrower name.
# iso-8859-1 is read as cp1252 (what every browser does): the bytes 0x80-0x9f
# in such mail are nearly always Windows punctuation (curly quotes, euro sign).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "unicode-1-1-utf-7": "utf-7",
}

# Never decode with these even if declared: they can turn arbitrary bytes into anything.
_UNSAFE_CODECS = {"utf-7", "rot13", "rot-13", "base64", "hex", "zlib", "bz2", "uu", "quopri"}


def _codec(charset: object) -> str | None:
    """A Python codec name for a MIME charset label, or None when unknown/unsafe."""
    if not isinstance(charset, str):
        return None
    label = charset.strip().strip('"').strip("'").lower()
    if "*" in label:  # RFC 2231 language suffix: utf-8*it
        label = label.split("*", 1)[0]
    if not label:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _UNSAFE_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


_LATIN_CODECS = {"cp1252", "iso8859-1", "iso8859-15"}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeError:
        return False
    return True


def decode_bytes(data: bytes, charset: object = None) -> str:
    """Bytes -> str: the declared charset if it decodes cleanly, else UTF-8, else cp1252.

    In between: the declared charset with a few replacement characters, and UTF-8 that is
    valid but for a stray or truncated byte.  The final cp1252 pass maps the five bytes
    cp1252 leaves undefined as Latin-1, so no byte is ever dropped.  A Latin-1/cp1252
    label on bytes that are valid UTF-8 is treated as a mislabel.
    """
    if not data:
        return ""
    codec = _codec(charset)
    if codec in _LATIN_CODECS:
        # Valid multi-byte UTF-8 under a Latin-1 label is nearly always a mislabel
        # ("Ã¨" for "è"); real Latin-1 text is almost never valid UTF-8.
        codec = None if _is_utf8(data) else codec
    for name in (codec, "utf-8"):
        if name:
            try:
                return data.decode(name)
            except (UnicodeError, LookupError, ValueError, TypeError):
                pass
    if codec and codec != "utf-8":  # declared multi-byte charset with a few bad bytes
        try:
            text = data.decode(codec, errors="replace")
        except (UnicodeError, LookupError, ValueError, TypeError):
            text = None
        if text is not None and text.count("\ufffd") <= max(2, len(text) // 200):
            return text
    # Mostly-valid UTF-8 (a truncated or stray byte in otherwise UTF-8 text) stays UTF-8;
    # anything else is a single-byte Windows/Latin-1 text.
    as_utf8 = data.decode("utf-8", errors="replace")
    bad = as_utf8.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    good = sum(1 for ch in as_utf8 if ord(ch) > 127) - bad
    if good >= 4 * bad:
        return as_utf8
    return data.decode("cp1252", errors="_mailbot_latin1")


def _latin1_fallback(exc: UnicodeError):
    if isinstance(exc, UnicodeDecodeError):
        chunk = exc.object[exc.start:exc.end]
        return bytes(chunk).decode("latin-1"), exc.end
    raise exc


codecs.register_error("_mailbot_latin1", _latin1_fallback)


def to_raw_bytes(value: object) -> bytes:
    """Header/payload text from the stdlib (8-bit bytes kept as surrogates) back to bytes."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        value = str(value)
    return value.encode("utf-8", errors="surrogateescape")


def undo_8bit(value: object) -> str:
    """Undeclared 8-bit header text: UTF-8 if valid, else cp1252/Latin-1 (nothing dropped)."""
    return decode_bytes(to_raw_bytes(value))


def b64decode_lenient(data: bytes) -> tuple[bytes, bool]:
    """Base64 that never fails: returns (decoded, clean?).

    Strict first; then drop everything outside the alphabet, cut a dangling sixth-bit
    character and pad: the most that can be recovered from a damaged payload.
    """
    compact = b"".join(data.split())
    try:
        pad = b"=" * (-len(compact) % 4)
        return base64.b64decode(compact + pad, validate=True), True
    except (binascii.Error, ValueError):
        pass
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", compact.replace(b"-", b"+").replace(b"_", b"/"))
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned), False
    except (binascii.Error, ValueError):  # pragma: no cover - cleaned input always decodes
        return b"", False


# encoded-text never contains "?" (RFC 2047 §2); [^?]* also keeps the scan linear
_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")


def decode_rfc2047(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``text`` (leniently).

    White space between two adjacent encoded words is dropped (RFC 2047 §6.2); damaged
    base64 or unknown charsets degrade to a best-effort string, never an exception.
    Consecutive words in the same charset are joined before decoding, so a multibyte
    character split across two words survives.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent encoded words waiting to be decoded
    pos = 0

    def flush() -> None:
        if not pending:
            return
        groups: list[tuple[str, bytearray]] = []
        for charset, raw in pending:
            if groups and groups[-1][0] == charset:
                groups[-1][1].extend(raw)
            else:
                groups.append((charset, bytearray(raw)))
        for charset, raw in groups:
            out.append(decode_bytes(bytes(raw), charset))
        pending.clear()

    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos:match.start()]
        if not (pending and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            out.append(gap)
        charset, kind, payload = match.group(1), match.group(2).upper(), match.group(3)
        if kind == "B":
            raw, _ = b64decode_lenient(payload.encode("ascii", "ignore"))
        else:
            raw = quopri.decodestring(to_raw_bytes(payload).replace(b"_", b" "))
        pending.append((charset.split("*", 1)[0].lower(), raw))
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


_FOLD = re.compile(r"\r\n|\r|\n")
_CONTROL_EXCEPT_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def decode_header_text(raw: object) -> str:
    """A raw header value -> readable one-line text (unfolded, 8-bit and RFC 2047 decoded)."""
    try:
        text = undo_8bit(raw)
        text = _FOLD.sub("", text)
        text = decode_rfc2047(text)
        text = _CONTROL_EXCEPT_TAB.sub("", text).replace("\t", " ")
        return text.strip()
    except Exception:  # pragma: no cover - belt and braces: headers must never raise
        return ""


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------------------------------
# Filenames

_EXT_OVERRIDES = {
    "application/pdf": ".pdf",
    "application/x-pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pgp-signature": ".asc",
    "application/octet-stream": ".bin",
    "application/zip": ".zip",
    "message/rfc822": ".eml",
}


def extension_for(content_type: str) -> str:
    """".pdf" for application/pdf etc.; ".bin" when nothing better is known."""
    ext = _EXT_OVERRIDES.get(content_type)
    if ext:
        return ext
    try:
        ext = mimetypes.guess_extension(content_type, strict=False)
    except Exception:  # pragma: no cover
        ext = None
    return ext or ".bin"


_MAX_FILENAME = 200


def clean_filename(name: str) -> str:
    """Base name only, no control or bidi-override characters, trimmed; may return ""."""
    name = decode_rfc2047(name) if "=?" in name else name
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(
        ch for ch in name if ch != "\ufffd" and unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    name = unicodedata.normalize("NFC", name).strip().strip('"').strip()
    if name.strip(". ") == "":
        return ""
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: _MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:_MAX_FILENAME]
    return name


# ---------------------------------------------------------------------------------------
# HTML

_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_NESTING_TAG = re.compile(r"<(?:ul|ol|dl|blockquote)\b", re.IGNORECASE)
_MD_LINE_ESCAPE = re.compile(r"^([ \t]*)\\([-+#>])", re.MULTILINE)
_MD_NUM_ESCAPE = re.compile(r"^([ \t]*\d+)\\\.", re.MULTILINE)
# html2text's cost grows with the square of list/quote nesting (it indents every line) and
# it is slow on very many tags; beyond these bounds the plain tag stripper is used instead.
MAX_HTML_TAGS = 50_000
MAX_HTML_NESTING_TAGS = 1_000


def html_to_text(html: str) -> str:
    """HTML body -> readable plain text (html2text: no wrapping, no emphasis marks).

    Table cells are kept apart by a space; hostile or huge HTML falls back to a linear
    tag stripper so that no message can stall the parser.
    """
    if not html.strip():
        return ""
    text = None
    if html.count("<") <= MAX_HTML_TAGS and len(_NESTING_TAG.findall(html)) <= MAX_HTML_NESTING_TAGS:
        try:
            import html2text

            conv = html2text.HTML2Text()
            conv.body_width = 0
            conv.ignore_images = True
            conv.ignore_emphasis = True
            conv.ignore_tables = True
            conv.unicode_snob = True
            text = conv.handle(_CELL_END.sub(lambda m: " " + m.group(0), html))
            text = _MD_LINE_ESCAPE.sub(r"\1\2", text)
            text = _MD_NUM_ESCAPE.sub(r"\1.", text)
        except Exception:
            text = None
    if text is None:
        text = _strip_tags(html)
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "blockquote", "pre", "hr", "dt", "dd"}


def _strip_tags(html: str) -> str:
    """Linear fallback: text outside <script>/<style>, a line break per block element."""
    from html.parser import HTMLParser

    out: list[str] = []

    class _Stripper(HTMLParser):
        skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.skip += 1
            elif tag in _BLOCK_TAGS:
                out.append("\n")
            elif tag in ("td", "th"):
                out.append(" ")

        def handle_endtag(self, tag):
            if tag in ("script", "style"):
                self.skip = max(0, self.skip - 1)
            elif tag in _BLOCK_TAGS:
                out.append("\n")

        def handle_data(self, data):
            if not self.skip:
                out.append(data)

    try:
        parser = _Stripper(convert_charrefs=True)
        parser.feed(html)
        parser.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    return re.sub(r"[ \t\xa0]+", " ", "".join(out))
