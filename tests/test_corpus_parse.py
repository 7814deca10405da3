"""parse_message over the shared robustness corpus (tests/corpus.py says where it is found).

Every email must parse without an exception (the whole run takes a few seconds, which
also proves nothing hangs); a few files known to break mail-parser or to hide attachments
inside forwards get concrete checks.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pytest

from mailbot.parse import ParsedMessage, parse_message
from corpus import CORPUS, corpus_files, shared_corpus  # noqa: F401  (the fixture)

EMAILS = CORPUS / "emails"
pytestmark = pytest.mark.usefixtures("shared_corpus")

ALL_EMAILS = corpus_files("emails", "*.eml")


def _manifest() -> dict[str, tuple[str, str]]:
    rows = {}
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["kind"] == "email":
                rows[Path(row["file"]).name] = (row["expectation"], row.get("note") or "")
    return rows


@lru_cache(maxsize=None)
def parsed(name: str) -> ParsedMessage:
    return parse_message((EMAILS / name).read_bytes())


@pytest.mark.parametrize("eml", ALL_EMAILS, ids=lambda p: p.name)
def test_every_corpus_email_parses(eml: Path):
    got = parsed(eml.name)
    assert isinstance(got, ParsedMessage)
    assert not any(d.startswith("parse failure") for d in got.defects), got.defects
    assert got.date is None or got.date.utcoffset().total_seconds() == 0
    assert got.from_addr == got.from_addr.lower()
    for att in got.attachments:
        assert att.filename and "/" not in att.filename and "\\" not in att.filename
        assert isinstance(att.data, bytes)
        assert not att.content_type.startswith("message/rfc822")


def test_manifest_covers_the_emails():
    manifest = _manifest()
    assert len(ALL_EMAILS) >= 300
    assert {p.name for p in ALL_EMAILS} <= set(manifest)


# ------------------------------------------------------------------ forwards


def test_pdf_inside_a_forward_is_found():
    got = parsed("mikelmail__attachment_emails__attachment_message_rfc822.eml")
    pdfs = [a for a in got.attachments if a.content_type == "application/pdf"]
    assert [(a.filename, a.from_forwarded) for a in pdfs] == [("broken.pdf", True)]
    assert pdfs[0].data.startswith(b"%PDF-1.4")


def test_torture_forwards_yield_inner_attachments_with_stable_names():
    got = parsed("flanker__torture.eml")
    assert any(a.from_forwarded for a in got.attachments)
    assert any(not a.from_forwarded for a in got.attachments)
    # mail-parser names a forwarded part with a random .txt name on every run; we don't.
    assert parse_message((EMAILS / "flanker__torture.eml").read_bytes()) == got


def test_forward_files_never_list_the_forward_itself():
    for name, (expectation, _note) in _manifest().items():
        if expectation == "forward":
            got = parsed(name)
            assert not any(a.content_type.startswith("message/") for a in got.attachments), name


def test_deep_enclosed_forward_parses_top_level_fields():
    got = parsed("flanker__enclosed-endless.eml")  # 3 MB of nesting, leading blank line
    assert got.from_addr == "example@example.net"
    assert got.subject == "Wow"
    assert got.text == "Hello"


# ------------------------------------------------------------------ mail-parser failures


@pytest.mark.parametrize("name", ["sisimai__maildir__bsd__lhost-sendgrid-01.eml",
                                  "sisimai__maildir__bsd__lhost-sendgrid-02.eml"])
def test_sendgrid_bounces_that_break_mail_parser(name):
    got = parsed(name)
    assert got.from_addr == "mailer-daemon@nijo.example.jp"
    assert got.subject == "Undelivered Mail Returned to Sender"
    assert "automatically generated message from SendGrid" in got.text
    assert got.headers["content-type"].startswith("multipart/report")
    assert got.headers["return-path"] == "<apps@sendgrid.net>"


def test_attachments_whose_mail_parser_payload_does_not_decode():
    got = parsed("rspamd__fname.eml")
    assert [a.filename for a in got.attachments] == [
        "[삼성생명]2020.08.14 데일리 경제뉴스.pdf",
        "01029_402110_10620_RGT06902_PRT180ML_20200803_101820.pdf",
    ]
    assert "base64 payload damaged" in got.defects
    for name in ("cpython__msg_15.eml", "cpython__msg_39.eml"):
        assert parsed(name).defects  # structural damage is reported, not raised


def test_outlook_msg_saved_as_eml():
    got = parsed("mailparser__mail_outlook_1__CFB-msg-not-mime.eml")
    assert got.from_addr == ""
    assert got.text == ""
    assert "missing From" in got.defects


def test_undeclared_utf8_filename_truncated_mid_character():
    got = parsed("flanker__russian-attachment-yahoo.eml")
    assert got.attachments[0].filename.startswith("Картинка с очень, очень длинным")
    assert got.attachments[0].content_type == "image/png"


# ------------------------------------------------------------------ line endings


@pytest.mark.parametrize("odd, twin", [
    ("sisimai__mac__rfc3834-01.eml", "sisimai__maildir__bsd__rfc3834-01.eml"),          # CR only
    ("sisimai__mac__lhost-postfix-01.eml", "sisimai__maildir__bsd__lhost-postfix-01.eml"),  # CR only
    ("sisimai__dos__lhost-exim-01.eml", "sisimai__maildir__bsd__lhost-exim-01.eml"),    # CRLF
])
def test_line_ending_variants_parse_like_their_lf_twin(odd, twin):
    raw = (EMAILS / odd).read_bytes()
    assert b"\r" in raw
    assert parsed(odd) == parsed(twin)


def test_cr_only_autoreply_fields():
    got = parsed("sisimai__mac__rfc3834-01.eml")
    assert got.subject == "Away until May 5"
    assert got.from_addr == "kijitora@example.net"
    assert got.headers["auto-submitted"] == "auto-replied"


# ------------------------------------------------------------------ classes of mail


def test_autoreplies_and_bounces_have_a_sender_or_a_defect():
    for name, (expectation, _note) in _manifest().items():
        if expectation in ("autoreply", "bounce"):
            got = parsed(name)
            assert got.from_addr or any("From" in d for d in got.defects), name


def test_smime_encrypted_body_is_an_attachment():
    got = parsed("simplejavamail__S_MIME_test_message_encrypted.eml")
    assert [(a.filename, a.content_type) for a in got.attachments] == [("smime.p7m", "application/pkcs7-mime")]
