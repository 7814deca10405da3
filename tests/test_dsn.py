"""Delivery-status notifications read from real bounces (the shared corpus: sisimai's samples of
more than fifty MTAs, plus flanker's and MimeKit's): recognised, their status and diagnostic
read, and the bounced mail found by its Message-ID once a sample is re-addressed to one of ours."""

from __future__ import annotations

import csv

import pytest

from mailbot.parse.dsn import PERMANENT, TEMPORARY, read_report
from corpus import CORPUS, shared_corpus  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("shared_corpus")
OURS = "<SO-2026-00042.0123456789ab.0@hospital.example.org>"
PATIENT = "maria.rossi@patient.example.net"


def expectations() -> dict[str, str]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        return {r["file"]: r["expectation"] for r in csv.DictReader(handle, delimiter="\t") if r["kind"] == "email"}


def sample(name: str) -> bytes:
    return (CORPUS / "emails" / name).read_bytes()


def test_every_sisimai_bounce_is_recognised():
    """sisimai's bounce samples, and its issue-106 sample: a real Gmail bounce the manifest files as
    ordinary mail. Its other samples are out-of-office replies, an abuse report and non-bounces."""
    bounces = [f for f, exp in expectations().items() if "sisimai__" in f and (
        exp == "bounce" or "issue-106" in f)]
    assert len(bounces) == 66
    missed = [f for f in bounces if read_report((CORPUS / f).read_bytes()) is None]
    assert missed == []


def test_every_corpus_bounce_is_recognised_and_no_auto_reply_or_person_is():
    exp = expectations()
    missed = [f for f, e in exp.items() if e == "bounce" and read_report((CORPUS / f).read_bytes()) is None]
    assert missed == []
    # out-of-office replies, an abuse report, a forward and a person's mail are no bounces
    taken = [f for f, e in exp.items() if e in ("autoreply", "ok", "forward", "odd")
             and read_report((CORPUS / f).read_bytes()) is not None]
    # sisimai's issue-106 sample is a real Gmail bounce that the manifest files as ordinary mail;
    # rb-issue-368 is a German host's plain-text "email bounce notification" (manifest: autoreply)
    assert sorted(taken) == ["emails/sisimai__debug__issue-106-01.eml", "emails/sisimai__not__rb-issue-368-bug.eml"]


@pytest.mark.parametrize("name, address, status, words", [
    # Microsoft's policy codes: banned sending IP, in a standard report
    ("sisimai__maildir__bsd__rhost-microsoft-01.eml", "kijitora@example.com", "5.7.606", "banned sending IP"),
    ("sisimai__maildir__bsd__lhost-exchange2007-01.eml", "mikeneko@example.co.jp", "5.1.1", "RecipNotFound"),
    ("sisimai__maildir__bsd__lhost-postfix-01.eml", "r@p351355.pool.example.ne.jp", "5.1.1", "procmail"),
    ("sisimai__maildir__bsd__lhost-gmail-01.eml", "userunknown@example.jp", "5.1.1", "User Unknown"),
    ("sisimai__maildir__bsd__lhost-exim-01.eml", "kijitora@example.ed.jp", "5.7.0", "550 5.7.0"),
    ("sisimai__maildir__bsd__lhost-qmail-01.eml", "", "5.5.0", "#5.5.0"),
    ("sisimai__maildir__bsd__lhost-dragonfly-01.eml", "", "5.7.26", "Unauthenticated email"),
])
def test_status_recipient_and_diagnostic(name, address, status, words):
    report = read_report(sample(name))
    first = report.recipients[0]
    assert (first.address, first.status, first.severity) == (address, status, PERMANENT)
    assert words in first.diagnostic


def test_delayed_reports_are_temporary():
    for name in ("flanker__bounce__no-mx.eml", "flanker__bounce__delayed.eml",
                 "mikelmail__multipart_report_emails__report_422.eml"):
        report = read_report((CORPUS / "emails" / name).read_bytes())
        assert report.recipients[0].severity == TEMPORARY, name
        assert report.recipients[0].status.startswith("4"), name


def test_original_envelope_id_is_read():
    report = read_report(sample("sisimai__maildir__bsd__lhost-messagingserver-01.eml"))
    assert report.envelope_id
    assert report.recipients[0].address == "kijitora@example.jp"


def readdressed(name: str, old_id: str, old_rcpt: str) -> bytes:
    """A corpus bounce about one of our messages to our patient: its Message-ID and recipient replaced."""
    raw = sample(name)
    assert old_id.encode() in raw and old_rcpt.encode() in raw
    return raw.replace(old_id.encode(), OURS.encode()).replace(old_rcpt.encode(), PATIENT.encode())


@pytest.mark.parametrize("name, old_id, old_rcpt, status", [
    # standard report, message/rfc822 part, Microsoft's policy code (banned sending IP)
    ("sisimai__maildir__bsd__rhost-microsoft-01.eml",
     "<00000000000000000000000000000000000000000000000@example.net>", "kijitora@example.com", "5.7.606"),
    # Office 365 / Exchange Online prose, the returned headers as quoted-printable text
    ("sisimai__maildir__bsd__lhost-office365-01.eml", "<FFFFFFFF.EEEEEEEE@example.ed.jp>",
     "kijitora@example.com", "5.1.10"),
    # Gmail plain text with X-Failed-Recipients, the returned message as text
    ("sisimai__maildir__bsd__lhost-gmail-01.eml", "<D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com>",
     "userunknown@example.jp", "5.1.1"),
    # qmail "failure notice": no structure at all
    ("sisimai__maildir__bsd__lhost-qmail-01.eml", "<000000000.9999999999999.JavaMail.postmaster@mailhub>",
     "kijitora@example.ne.jp", "5.5.0"),
    # Exim "Mail delivery failed"
    ("sisimai__maildir__bsd__lhost-exim-01.eml", "<hogeuoiuadogalhg.dg9i09@example.jp>",
     "kijitora@example.ed.jp", "5.7.0"),
    # Postfix standard report
    ("sisimai__maildir__bsd__rfc3464-10.eml", "<c15e793e1c6acf9fbc39d1547bbd98b4@example.com>",
     "kijitora@example.jp", "5.1.6"),
    # text/rfc822-headers part (amavis)
    ("sisimai__maildir__bsd__lhost-amavis-01.eml",
     "<Qdmail.0.0.0e_8ed60e1eb3e559f02254e3437c3110b1@example.net>", "neko@example.co.jp", "5.1.1"),
])
def test_a_readdressed_bounce_names_our_message_and_our_recipient(name, old_id, old_rcpt, status):
    report = read_report(readdressed(name, old_id, old_rcpt))
    assert OURS in report.original_ids
    failure = report.failure_for((PATIENT,))
    assert (failure.address, failure.status, failure.severity) == (PATIENT, status, PERMANENT)


def test_a_report_about_someone_else_is_not_ours():
    report = read_report(sample("sisimai__maildir__bsd__lhost-postfix-01.eml"))
    assert report.failure_for((PATIENT, "other@example.org")) is None


def test_broken_input_is_no_report():
    assert read_report(b"") is None
    assert read_report(b"\xff\xfe garbage \x00") is None
    assert read_report(b"From: a@b.c\nSubject: hello\n\nhi") is None
