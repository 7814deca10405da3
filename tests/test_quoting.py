"""mailbot.replies.quoting and its use by the Renderer: sender-written text cleaned and bounded."""

from __future__ import annotations

import email
from datetime import datetime, timezone
from email import policy

import pytest

from mailbot.replies.quoting import (
    CLINICAL_QUESTION_LIMIT, FILENAME_LIMIT, NAME_LIMIT, clean, clean_filename, quote_context,
)
from mailbot.replies.render import Renderer
from mailbot.resources import templates_dir
from mailbot.workflow.model import ReplySpec

EVIL = "Your case is approved. Pay EUR 900 to IBAN XX00EVIL"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\r\n", "\n", "\r", "\x0b", "\x0c", "\x85", "\t"])
def test_line_breaks_of_every_kind_become_one_space(separator: str) -> None:
    assert clean(f"report.pdf{separator}{EVIL}") == f"report.pdf {EVIL}"


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                                     "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\x00", "\x1b",
                                     "\x7f", "\u200b", "\ufeff", "\ud800"])
def test_bidi_and_other_control_characters_are_removed(control: str) -> None:
    assert clean(f"Maria{control} Rossi{control}") == "Maria Rossi"


def test_letters_of_every_script_and_accents_are_kept() -> None:
    for text in ("Nicolò D'Ambrosio", "Müller-Lüdenscheidt", "Σωκράτης", "محمد", "李小龙", "José\u0301"):
        assert clean(text) == text


def test_long_text_is_cut_to_the_limit_with_an_ellipsis() -> None:
    name = clean("A" * 2_000_000, NAME_LIMIT)
    assert len(name) == NAME_LIMIT and name == "A" * (NAME_LIMIT - 1) + "\u2026"
    assert clean("short", NAME_LIMIT) == "short"
    assert clean("word " * 100, 20) == "word word word word\u2026"   # no space before the ellipsis


def test_file_names_keep_their_extension_when_cut() -> None:
    cut = clean_filename("x" * 300 + ".pdf")
    assert len(cut) == FILENAME_LIMIT and cut.endswith("\u2026.pdf")
    assert clean_filename("histology_report.pdf") == "histology_report.pdf"
    assert clean_filename("y" * 300) == "y" * (FILENAME_LIMIT - 1) + "\u2026"
    assert clean_filename("z" * 300 + "." + "w" * 20).endswith("\u2026")   # no real extension: a plain cut
    assert clean_filename(f"report.pdf\u2028{EVIL}") == f"report.pdf {EVIL}"


def test_the_context_is_quoted_by_key_recursively() -> None:
    context = {
        "patient_name": "P" * 500, "requestor_name": "R\u2028" * 10, "clinical_question": "Q" * 5_000,
        "files": [{"filename": "f" * 300 + ".pdf", "code": "file_badly_named", "suggestion": "s\u202e.pdf"}],
        "documents_list": ["d" * 300 + ".pdf"], "asked": ["line one\nline two"], "state": "in_triage",
        "triage_days": 2, "consent_missing": False, "unknown_condition": None, "other": "o" * 5_000,
    }
    quoted = quote_context(context)
    assert len(quoted["patient_name"]) == NAME_LIMIT
    assert "\u2028" not in quoted["requestor_name"]
    assert len(quoted["clinical_question"]) == CLINICAL_QUESTION_LIMIT
    assert len(quoted["files"][0]["filename"]) == FILENAME_LIMIT and quoted["files"][0]["filename"].endswith(".pdf")
    assert quoted["files"][0]["suggestion"] == "s.pdf" and quoted["files"][0]["code"] == "file_badly_named"
    assert len(quoted["documents_list"][0]) == FILENAME_LIMIT
    assert quoted["asked"] == ["line one line two"]
    assert quoted["triage_days"] == 2 and quoted["consent_missing"] is False and quoted["unknown_condition"] is None
    assert len(quoted["other"]) == 1_000
    assert context["patient_name"] == "P" * 500          # the caller's values are not changed


def _render(purpose: str, language: str, context: dict, attachments=()):
    renderer = Renderer(templates_dir(), office_name="IEO Second Opinion", office_address="so@hospital.example.org")
    spec = ReplySpec(purpose, ("maria@patient.example.net",), language, context)
    rendered = renderer.render(spec, case_ref="SO-2026-00001", message_id="<SO-2026-00001.x.0@hospital.example.org>",
                               date=datetime(2026, 3, 2, tzinfo=timezone.utc), attachments=list(attachments))
    return rendered, email.message_from_bytes(rendered.raw, policy=policy.default)


def test_an_admin_notice_quotes_a_staff_command_line_cleaned_and_bounded() -> None:
    line = "APPROVE\u2028" + EVIL + "\u202e" + "!" * 10_000
    rendered, msg = _render("admin/notice", "en", {
        "kind": "command_not_allowed", "state": "in_triage", "sender": "x@evil.example", "role": "stranger",
        "line": line, "office_name": "IEO"})
    text = msg.get_body(("plain",)).get_content()
    assert f'"APPROVE {EVIL}' in text and "\u2028" not in text and "\u202e" not in text
    assert "!" * 300 not in text and len(rendered.raw) < 10_000


def test_attachment_names_in_headers_are_cleaned() -> None:
    _, msg = _render("requestor/received", "en", {"requestor_name": "Maria", "received": [], "office_name": "IEO"},
                     attachments=[(f"report\u2028{EVIL}.pdf", b"%PDF-1.4")])
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == f"report {EVIL}.pdf"
    assert "\u2028" not in msg.as_string()


def test_unreadable_parts_are_told_in_italian_too() -> None:
    _, msg = _render("requestor/received", "it", {"requestor_name": "Maria", "received": [], "office_name": "IEO",
                                                  "unreadable_parts": ["x"]})
    text = " ".join(msg.get_body(("plain",)).get_content().split())
    assert "Non siamo riusciti a leggere una parte della sua email" in text
    _, msg = _render("requestor/received", "en", {"requestor_name": "Maria", "received": [], "office_name": "IEO",
                                                  "unreadable_parts": ["x", "y"]})
    assert "2 parts of your email could not be read" in " ".join(msg.get_body(("plain",)).get_content().split())


def test_the_specialist_mail_names_active_content() -> None:
    context = {"office_name": "IEO", "doctor_name": "Dr Spec", "files": ["ct_report.pdf", "pet_report.pdf"],
               "asked": [], "due_date": "", "active_files": ["ct_report.pdf"]}
    _, msg = _render("specialist/more_documents", "en", context)
    assert "Caution: ct_report.pdf contains active content (JavaScript" in msg.get_body(("plain",)).get_content()
    _, msg = _render("specialist/more_documents", "it", context)
    assert "ct_report.pdf contiene contenuto attivo" in msg.get_body(("plain",)).get_content()


def test_only_plain_message_ids_are_echoed_in_threading_headers() -> None:
    renderer = Renderer(templates_dir(), office_name="IEO", office_address="so@hospital.example.org")
    spec = ReplySpec("requestor/received", ("maria@patient.example.net",), "en",
                     {"requestor_name": "Maria", "received": [], "office_name": "IEO"})
    rendered = renderer.render(spec, case_ref="SO-2026-00001", message_id="<SO-2026-00001.x.0@hospital.example.org>",
                               date=datetime(2026, 3, 2, tzinfo=timezone.utc),
                               in_reply_to="<a\u202eb@evil.example>",
                               references=("<good@patient.example.net>", "<" + "x" * 5_000 + "@evil.example>"))
    msg = email.message_from_bytes(rendered.raw, policy=policy.default)
    assert msg["In-Reply-To"] is None
    assert msg["References"] == "<good@patient.example.net>"
