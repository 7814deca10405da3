"""mailbot.parse: golden messages (tests/golden/X.eml beside X.json) and edge cases."""

from __future__ import annotations

import builtins
import hashlib
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mailbot.parse import Attachment, ParsedMessage, parse_message

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_CASES = sorted(GOLDEN.glob("*.eml"))

# Keys a golden .json may carry. Exact comparison unless noted.
_EXACT = ("message_id", "from_name", "from_addr", "reply_to", "subject", "in_reply_to", "text")
_TUPLES = ("to", "cc", "references")


def _attachment_view(a: Attachment) -> dict:
    return {
        "filename": a.filename,
        "content_type": a.content_type,
        "sha256": hashlib.sha256(a.data).hexdigest(),
        "from_forwarded": a.from_forwarded,
    }


def test_golden_set_is_complete():
    assert len(GOLDEN_CASES) >= 12
    for eml in GOLDEN_CASES:
        assert eml.with_suffix(".json").is_file(), f"{eml.name} has no expected .json"


@pytest.mark.parametrize("eml", GOLDEN_CASES, ids=lambda p: p.stem)
def test_golden(eml: Path):
    expected = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
    got = parse_message(eml.read_bytes())
    assert isinstance(got, ParsedMessage)
    for key in _EXACT:
        if key in expected:
            assert getattr(got, key) == expected[key], key
    for key in _TUPLES:
        if key in expected:
            assert getattr(got, key) == tuple(expected[key]), key
    if "date" in expected:
        want = datetime.fromisoformat(expected["date"]) if expected["date"] else None
        assert got.date == want
        if got.date is not None:
            assert got.date.utcoffset().total_seconds() == 0
    for needle in expected.get("text_contains", ()):
        assert needle in got.text, f"{needle!r} not in text {got.text!r}"
    for needle in expected.get("text_not_contains", ()):
        assert needle not in got.text, f"{needle!r} unexpectedly in text"
    if "attachments" in expected:
        assert [_attachment_view(a) for a in got.attachments] == expected["attachments"]
    if "headers" in expected:
        assert got.headers == expected["headers"]
    if "defects" in expected:
        assert list(got.defects) == expected["defects"]
    for defect in expected.get("defects_contain", ()):
        assert defect in got.defects, f"{defect!r} not in {got.defects}"


# ------------------------------------------------------------------ contract details


def test_forward_itself_is_not_an_attachment():
    got = parse_message((GOLDEN / "06_forward_rfc822.eml").read_bytes())
    assert not any(a.content_type == "message/rfc822" for a in got.attachments)
    assert not any(a.filename.endswith((".eml", ".txt")) for a in got.attachments)


def test_parse_is_deterministic():
    raw = (GOLDEN / "07_double_forward.eml").read_bytes()
    assert parse_message(raw) == parse_message(raw)


def test_crlf_cr_and_lf_give_the_same_result():
    lf = (GOLDEN / "05_alternative.eml").read_bytes()
    assert b"\r" not in lf
    variants = [parse_message(v) for v in (lf, lf.replace(b"\n", b"\r\n"), lf.replace(b"\n", b"\r"))]
    assert variants[0] == variants[1] == variants[2]


def test_leading_blank_lines_and_bom_are_ignored():
    raw = (GOLDEN / "09_reply_references.eml").read_bytes()
    base = parse_message(raw)
    for prefix in (b"\n\n", b"   \r\n", b"\xef\xbb\xbf"):
        assert parse_message(prefix + raw) == base


def test_str_and_bytearray_inputs():
    raw = (GOLDEN / "01_plain_pdf.eml").read_bytes()
    assert parse_message(bytearray(raw)) == parse_message(raw)
    assert parse_message(raw.decode("ascii")).subject == parse_message(raw).subject


@pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n\r\n", b"\x00" * 100, b"garbage", None, 42, "text"])
def test_degenerate_inputs_never_raise(raw):
    got = parse_message(raw)  # type: ignore[arg-type]
    assert isinstance(got, ParsedMessage)
    assert got.from_addr == ""
    assert got.attachments == ()


def test_random_mutations_never_raise():
    rng = random.Random(1234)
    seeds = [p.read_bytes() for p in GOLDEN_CASES]
    for i in range(300):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 20)):
            pos = rng.randrange(max(len(raw), 1))
            op = rng.random()
            if op < 0.4 and raw:
                raw[pos] = rng.randrange(256)
            elif op < 0.7:
                del raw[pos:pos + rng.randint(1, 40)]
            else:
                raw[pos:pos] = rng.choice([b"\n", b"\r", b"=?", b"?=", b"--", b";", b'"', b"\\", b"*"])
        got = parse_message(bytes(raw))
        assert isinstance(got, ParsedMessage), i
        assert all(a.filename for a in got.attachments)


def test_absurd_nesting_does_not_hang_or_raise():
    depth = 400
    parts = [f"Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n" for i in range(depth)]
    raw = ("From: a@example.it\nSubject: deep\n" + "".join(parts) + "Content-Type: application/pdf\n\n%PDF-1.4\n"
           + "".join(f"--b{i}--\n" for i in reversed(range(depth)))).encode()
    got = parse_message(raw)
    assert got.from_addr == "a@example.it"

    fwd = b"From: x@example.it\nSubject: s\nContent-Type: message/rfc822\n\n" * 200 + b"Content-Type: application/pdf\n\n%PDF"
    got = parse_message(b"From: a@example.it\nSubject: top\nContent-Type: message/rfc822\n\n" + fwd)
    assert got.subject == "top"
    assert any("nested deeper" in d for d in got.defects)


def test_never_writes_to_disk(monkeypatch, tmp_path):
    real_open = builtins.open

    def guarded_open(file, mode="r", *args, **kwargs):
        assert not set(mode) & set("wax+"), f"parse_message opened {file!r} for writing"
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.chdir(tmp_path)
    for eml in GOLDEN_CASES:
        parse_message(eml.read_bytes())
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ headers


def _msg(headers: str, body: str = "body\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8")


def test_subject_rfc2047_mixed_and_split_multibyte():
    # "è" (C3 A8) split across two base64 encoded words must survive.
    raw = _msg("From: a@example.it\nSubject: Re: =?UTF-8?B?w6g=?= =?UTF-8?B?w6h4?= plain =?utf-8?q?fine=21?=")
    assert parse_message(raw).subject == "Re: èèx plain fine!"
    split = _msg("From: a@example.it\nSubject: =?UTF-8?B?w6jD?= =?UTF-8?B?qA==?=")
    assert parse_message(split).subject == "èè"


def test_subject_unknown_charset_and_bad_base64_degrade():
    raw = _msg("From: a@example.it\nSubject: =?x-unknown?Q?caf=C3=A9?= =?utf-8?B?Y2Fm5Q?=")
    subject = parse_message(raw).subject
    assert subject.startswith("café")


def test_undeclared_utf8_subject():
    raw = "From: a@example.it\nSubject: città più\n\nx\n".encode("utf-8")
    assert parse_message(raw).subject == "città più"


def test_date_is_aware_utc_or_none():
    assert parse_message(_msg("From: a@example.it\nDate: 1 Mar 26 10:00 EST")).date == datetime(
        2026, 3, 1, 15, 0, tzinfo=timezone.utc)
    assert parse_message(_msg("From: a@example.it\nDate: Sun, 1 Mar 2026 10:00:00 -0000")).date == datetime(
        2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert parse_message(_msg("From: a@example.it")).date is None


def test_message_ids_are_normalised():
    raw = _msg("From: a@example.it\nMessage-ID:   <abc@x.it>  \nIn-Reply-To: Your message of Monday <def@y.it>\n"
               "References: <1@x.it>,<2@x.it> <1@x.it>")
    got = parse_message(raw)
    assert got.message_id == "<abc@x.it>"
    assert got.in_reply_to == "<def@y.it>"
    assert got.references == ("<1@x.it>", "<2@x.it>")
    bare = parse_message(_msg("From: a@example.it\nMessage-ID: abc@x.it\nIn-Reply-To: garbage"))
    assert bare.message_id == "<abc@x.it>"
    assert bare.in_reply_to == ""


def test_from_recovered_when_only_the_address_is_readable():
    got = parse_message(_msg("From: Mario Rossi mario.rossi@example.it"))
    assert got.from_addr == "mario.rossi@example.it"
    assert "From address recovered from malformed header" in got.defects


def test_reply_address_prefers_reply_to():
    got = parse_message(_msg("From: a@example.it\nReply-To: B <B@Example.it>"))
    assert got.reply_to == "b@example.it"
    assert got.reply_address == "b@example.it"
    assert parse_message(_msg("From: A@example.it")).reply_address == "a@example.it"


def test_repeated_loop_headers_are_joined_and_absent_ones_omitted():
    got = parse_message(_msg("From: a@example.it\nX-Loop: one@x\nX-Loop: two@y\nList-Id: <l.x.it>"))
    assert got.headers == {"x-loop": "one@x, two@y", "list-id": "<l.x.it>"}


# ------------------------------------------------------------------ bodies and attachments


def test_text_charset_fallbacks():
    declared_wrong = _msg("From: a@example.it\nContent-Type: text/plain; charset=us-ascii",
                          "perch\u00e9\n")  # UTF-8 bytes under an ASCII label
    assert "perché" in parse_message(declared_wrong).text
    unknown = ("From: a@example.it\nContent-Type: text/plain; charset=x-bogus\n\nperch\xe9\n").encode("latin-1")
    assert "perché" in parse_message(unknown).text


def test_text_plain_with_filename_is_an_attachment_but_top_level_text_is_body():
    raw = _msg(
        "From: a@example.it\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z",
        "--z\nContent-Type: text/plain\n\nhello\n--z\nContent-Type: text/plain; name=notes.txt\n\nnotes\n--z--\n",
    )
    got = parse_message(raw)
    assert got.text == "hello"
    assert [a.filename for a in got.attachments] == ["notes.txt"]
    single = parse_message(_msg("From: a@example.it\nContent-Type: text/plain; name=body.txt", "just text\n"))
    assert single.text == "just text" and single.attachments == ()


def test_broken_transfer_encoding_labels():
    raw = _msg(
        "From: a@example.it\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z",
        "--z\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64;\n\nJVBERi0xLjQK\n--z--\n",
    )
    assert parse_message(raw).attachments[0].data == b"%PDF-1.4\n"


def test_base64_encoded_forward_is_opened():
    import base64

    inner = b"From: x@example.it\nContent-Type: application/pdf; name=a.pdf\n\n%PDF-1.4\n"
    raw = _msg(
        "From: a@example.it\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z",
        "--z\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode(inner).decode() + "\n--z--\n",
    )
    atts = parse_message(raw).attachments
    assert [(a.filename, a.from_forwarded) for a in atts] == [("a.pdf", True)]


def test_utf8_under_a_latin1_label_is_read_as_utf8():
    raw = _msg("From: a@example.it\nContent-Type: text/plain; charset=iso-8859-1", "città\n")
    assert parse_message(raw).text == "città"
    cp1252 = ("From: a@example.it\nContent-Type: text/plain; charset=iso-8859-1\n\n"
              "\u201cciao\u201d \u20ac5 citt\u00e0\n").encode("cp1252")
    assert parse_message(cp1252).text == "\u201cciao\u201d \u20ac5 città"


def test_html_tables_keep_cells_apart_and_hostile_html_is_fast():
    import time

    html = "<table><tr><td>patient_name:</td><td>Anna</td></tr></table>"
    got = parse_message(_msg("From: a@example.it\nContent-Type: text/html", html))
    assert "patient_name: Anna" in got.text
    start = time.monotonic()
    deep = parse_message(_msg("From: a@example.it\nContent-Type: text/html", "<ul><li>" * 20000 + "deep"))
    assert time.monotonic() - start < 10  # html2text alone would need minutes here
    assert "deep" in deep.text


def test_hostile_address_headers_stay_linear():
    import time

    start = time.monotonic()
    got = parse_message(("From: Mario " + "a-" * 100000 + "\nTo: " + "b." * 100000 + "\n\nx").encode())
    assert time.monotonic() - start < 10
    assert got.from_addr == ""


# ------------------------------------------------------------------ unreadable parts


def _with_pdf_inside_forwards(depth: int) -> bytes:
    from email.message import EmailMessage

    inner = EmailMessage()
    inner["From"] = "x@example.it"
    inner["Subject"] = "scan"
    inner.set_content("here")
    inner.add_attachment(b"%PDF-1.4 deep", maintype="application", subtype="pdf", filename="deep.pdf")
    for n in range(depth):
        outer = EmailMessage()
        outer["From"] = "x@example.it"
        outer["Subject"] = f"Fwd {n}"
        outer.set_content("fwd")
        outer.add_attachment(inner)
        inner = outer
    return bytes(inner)


def test_a_pdf_inside_50_nested_forwards_is_an_unreadable_part():
    got = parse_message(_with_pdf_inside_forwards(50))
    assert got.attachments == ()
    assert got.unreadable_parts == ("a forwarded message nested deeper than 32 levels",)
    shallow = parse_message(_with_pdf_inside_forwards(3))
    assert [a.filename for a in shallow.attachments] == ["deep.pdf"] and shallow.unreadable_parts == ()


@pytest.mark.parametrize("content_type", ["multipart/mixed", 'multipart/mixed; boundary="NOT-THERE"'])
def test_a_multipart_without_a_usable_boundary_is_an_unreadable_part(content_type: str):
    raw = (f"From: a@example.it\nSubject: s\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n"
           "--XYZ\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n"
           "JVBERi0xLjQK\n--XYZ--\n").encode()
    got = parse_message(raw)
    assert got.unreadable_parts == ("a multipart/mixed section without a usable boundary",)


def test_undecodable_base64_is_an_unreadable_part_not_an_empty_file():
    raw = (b"From: a@example.it\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/pdf; name=c.pdf\n"
           b"Content-Transfer-Encoding: base64\n\n!!!!****@@@@ #### $$$$\n--B--\n")
    got = parse_message(raw)
    assert got.attachments == ()
    assert got.unreadable_parts == ('the attachment "c.pdf" (application/pdf): its encoding cannot be decoded',)
    damaged = parse_message(raw.replace(b"!!!!****@@@@ #### $$$$", b"JVBERi0xLjQK%%"))
    assert [a.data for a in damaged.attachments] == [b"%PDF-1.4\n"]   # recoverable: kept, judged later
    assert damaged.unreadable_parts == ()


def test_an_empty_attachment_is_a_file_not_an_unreadable_part():
    raw = (b"From: a@example.it\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/pdf; name=e.pdf\n"
           b"Content-Transfer-Encoding: base64\n\n\n--B--\n")
    got = parse_message(raw)
    assert [(a.filename, a.data) for a in got.attachments] == [("e.pdf", b"")]
    assert got.unreadable_parts == ()


@pytest.mark.parametrize("eml", GOLDEN_CASES, ids=lambda p: p.stem)
def test_golden_messages_have_no_unreadable_parts(eml: Path):
    assert parse_message(eml.read_bytes()).unreadable_parts == ()
