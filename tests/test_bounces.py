"""When our own mail bounces, the case knows and the office is told: real DSNs through `mailbot
once` on the private Dovecot, the SMTP sink, SQLite and PostgreSQL.

Two sources of bounces: the shared corpus's real DSNs (sisimai, MimeKit) re-addressed to the
Message-IDs of mail mailbot really sent in the test, and DSNs provoked through a real SMTP
exchange: the sink relays our mail onwards to a second sink that refuses the patient's address,
and turns that refusal into an RFC 3464 report delivered to the office mailbox.
"""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select

from mailbot.app import build_app
from mailbot.config import load_config
from mailbot.parse import parse_message
from mailbot.parse.dsn import read_report

from mailbot.store.models import Case, Event, OutboxMessage, UndeliveredAddress
from mailbot.store.undelivered import cases_with_undelivered
from corpus import CORPUS, shared_corpus  # noqa: F401  (the fixture)
from office import Office, patient_mail, plain_text
from pdf_factory import HISTOLOGY_BREAST, text_pdf
from servers.smtp_sink import SmtpSink
from test_cli import local_config

DEAD = "maria.rossi@patient.example.net"
FIXED = "maria.rossi@right.example.net"
ADMINS = {"laura.fontana@example.org", "office.desk@example.org"}


@pytest.fixture
def office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Office:
    return Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)


def open_case(office: Office, sender: str) -> tuple[str, str]:
    """An incomplete request from `sender`: (case ref, Message-ID of the missing-documents reply)."""
    office.deliver(patient_mail(f"Maria Rossi <{sender}>", "Second opinion request", "Hello, my histology.",
                                [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    assert office.once() == 0
    (reply,) = [m for m in office.new_replies() if m["To"] == sender]
    return reply["Subject"].split("]")[0].strip("["), reply["Message-ID"]


def rows(office: Office, model, **where):
    with office.app().sessions() as s:
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return list(s.execute(query).scalars())


def case_id(office: Office, ref: str) -> int:
    return rows(office, Case, ref=ref)[0].id


def admin_notices(replies) -> list:
    return [m for m in replies if m["To"] in ADMINS]


def test_a_refused_address_bounces_the_admins_are_told_and_the_corrected_one_gets_the_mail(office):
    remote = SmtpSink().start()
    remote.refuse_recipient(DEAD)
    office.sink.relay_to(remote, office.deliver)   # the DSN comes back to the office mailbox
    try:
        ref, bounced_id = open_case(office, DEAD)
        assert office.once() == 0            # the DSN: filed on the case, the admins told
        replies = office.new_replies()
        notices = admin_notices(replies)
        assert {m["To"] for m in notices} == ADMINS and len(replies) == len(notices)   # never answered
        text = plain_text(notices[0])
        assert ref in notices[0]["Subject"] and DEAD in text and "5.1.1" in text
        assert f"--set-email requestor" in text
        cid = case_id(office, ref)
        (paused,) = rows(office, UndeliveredAddress, case_id=cid)
        assert (paused.address, paused.role, paused.status, paused.message_id) == (DEAD, "requestor", "5.1.1",
                                                                                   bounced_id)
        (report,) = rows(office, Event, case_id=cid, kind="delivery_report")
        assert report.detail["recipient"] == DEAD and report.detail["severity"] == "permanent"
        assert "user unknown" in report.detail["diagnostic"]
        with office.app().sessions() as s:
            assert cases_with_undelivered(s) == 1

        # the patient can still write from there (mailbox full, say): the reply is withheld
        office.deliver(patient_mail(f"Maria Rossi <{DEAD}>", f"[{ref}] more", "Another file.",
                                    [("ct_scan_report_2026-03-01.pdf", text_pdf(HISTOLOGY_BREAST + " CT"))]))
        assert office.once() == 0
        assert [m for m in office.new_replies() if DEAD in m["To"]] == []
        assert rows(office, Event, case_id=cid, kind="reply_withheld")

        assert office.cli("case", ref, "--set-email", "requestor", FIXED) == 0
        assert office.once() == 0
        resent = [m for m in office.new_replies() if m["To"] == FIXED]
        assert len(resent) == 1 and resent[0]["Message-ID"] != bounced_id
        original = next(m for m in rows(office, OutboxMessage, message_id=bounced_id))
        assert resent[0]["Subject"] == original.subject
        assert [m for m in remote.messages if FIXED in m.rcpt_tos]      # it really got through
        assert rows(office, Case, ref=ref)[0].requestor_email == FIXED
        assert rows(office, UndeliveredAddress, case_id=cid)[0].resolved_at is not None
        with office.app().sessions() as s:
            assert cases_with_undelivered(s) == 0

        # later mail goes to the corrected address, none to the dead one
        office.deliver(patient_mail(f"Maria Rossi <{FIXED}>", f"[{ref}] form", "Form to follow."))
        assert office.once() == 0
        assert [m for m in office.new_replies() if m["To"] == FIXED]
        dead_after = [m for m in office.sink.messages if DEAD in m.rcpt_tos]
        assert len(dead_after) == 1       # only the first reply, before anything was known
    finally:
        remote.stop()


SAMPLES = [   # (sample, its bounced Message-ID, its failed recipient, status)
    ("sisimai__maildir__bsd__lhost-gmail-01.eml", "<D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com>",
     "userunknown@example.jp", "5.1.1"),
    ("sisimai__maildir__bsd__lhost-office365-01.eml", "<FFFFFFFF.EEEEEEEE@example.ed.jp>",
     "kijitora@example.com", "5.1.10"),
    ("sisimai__maildir__bsd__rhost-microsoft-01.eml",
     "<00000000000000000000000000000000000000000000000@example.net>", "kijitora@example.com", "5.7.606"),
    ("sisimai__maildir__bsd__lhost-qmail-01.eml", "<000000000.9999999999999.JavaMail.postmaster@mailhub>",
     "kijitora@example.ne.jp", "5.5.0"),
]


def readdressed(name: str, old_id: str, old_rcpt: str, our_id: str, patient: str) -> bytes:
    raw = (CORPUS / "emails" / name).read_bytes()
    assert old_id.encode() in raw and old_rcpt.encode() in raw
    return raw.replace(old_id.encode(), our_id.encode()).replace(old_rcpt.encode(), patient.encode())


@pytest.mark.usefixtures("shared_corpus")
def test_real_corpus_bounces_readdressed_to_our_mail_pause_the_address_and_tell_the_admins(office):
    cases, sent = [], []
    for i, (name, old_id, old_rcpt, status) in enumerate(SAMPLES):
        patient = f"patient{i}@mistyped.example.net"
        ref, our_id = open_case(office, patient)
        cases.append((ref, patient, status))
        sent.append(our_id)
    for (name, old_id, old_rcpt, _status), (_ref, patient, _), our_id in zip(SAMPLES, cases, sent):
        office.deliver(readdressed(name, old_id, old_rcpt, our_id, patient))
    # a temporary failure (4.2.2 mailbox full, still retrying) about the first case: recorded only
    first_ref, first_patient, _ = cases[0]
    first_id = rows(office, OutboxMessage, case_id=case_id(office, first_ref))[0].message_id
    office.deliver(readdressed("mikelmail__multipart_report_emails__report_422.eml",
                               "<15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au>",
                               "fraser@oooooooo.com.au", first_id, first_patient))
    assert office.once() == 0
    replies = office.new_replies()
    notices = admin_notices(replies)
    assert len(replies) == len(notices) == 2 * len(SAMPLES)    # no bounce answered; one notice per admin
    for ref, patient, status in cases:
        (paused,) = rows(office, UndeliveredAddress, case_id=case_id(office, ref))
        assert (paused.address, paused.status) == (patient, status)
        mine = [m for m in notices if ref in m["Subject"]]
        assert len(mine) == 2 and patient in plain_text(mine[0])
    policy_notice = next(m for m in notices if cases[2][0] in m["Subject"])
    assert "policy" in plain_text(policy_notice)      # Microsoft's 5.7.606: our server is blocked
    reports = rows(office, Event, case_id=case_id(office, first_ref), kind="delivery_report")
    assert sorted(r.detail["severity"] for r in reports) == ["permanent", "temporary"]
    with office.app().sessions() as s:
        assert cases_with_undelivered(s) == len(SAMPLES)


def test_the_admin_email_command_records_the_address_and_resends(office):
    ref, bounced_id = open_case(office, DEAD)
    office.deliver(readdressed(*SAMPLES[0][:3], bounced_id, DEAD))
    assert office.once() == 0
    notice = admin_notices(office.new_replies())[0]
    answer = patient_mail(f"Laura Fontana <{notice['To']}>", f"Re: {notice['Subject']}",
                          f"EMAIL patient {FIXED}\n\nThanks", in_reply_to=notice["Message-ID"])
    office.deliver(answer)
    assert office.once() == 0
    replies = office.new_replies()
    resent = [m for m in replies if m["To"] == FIXED]
    assert len(resent) == 1 and resent[0]["Subject"].startswith(f"[{ref}]")
    case = rows(office, Case, ref=ref)[0]
    assert case.requestor_email == FIXED            # the requestor was the patient: both corrected
    confirmations = [m for m in admin_notices(replies) if FIXED in plain_text(m)]
    assert len(confirmations) == 2


def test_an_email_command_without_proof_waits_for_the_admins_confirm(office):
    """EMAIL changes an address and sends mail again, so it needs proof like any command: a fresh
    mail naming the case proves nothing (anyone can write an admin's From), the admin on record is
    asked and only their CONFIRM corrects it. The mail sent again carries an unguessable Message-ID:
    the corrected address answering it is a threaded reply, and its command acts at once."""
    from test_staff_workflow import exchange, only, reply_to
    admin = "laura.fontana@example.org"
    ref, bounced_id = open_case(office, DEAD)
    office.deliver(readdressed(*SAMPLES[0][:3], bounced_id, DEAD))
    assert office.once() == 0
    office.new_replies()
    mails = exchange(office, patient_mail(f"Laura Fontana <{admin}>", f"[{ref}] address", f"EMAIL patient {FIXED}"))
    request = only(mails, admin)
    text = plain_text(request)
    assert len(mails) == 1 and "CONFERMA" in text and f"EMAIL patient {FIXED}" in text   # Laura reads Italian
    cid = case_id(office, ref)
    assert rows(office, Case, ref=ref)[0].requestor_email == DEAD
    assert rows(office, UndeliveredAddress, case_id=cid)[0].resolved_at is None
    assert [m for m in office.sink.messages if FIXED in m.rcpt_tos] == []

    mails = exchange(office, reply_to(request, admin, "CONFIRM"))
    (resent,) = [m for m in mails if m["To"] == FIXED]
    assert resent["Subject"].startswith(f"[{ref}]") and resent["Message-ID"] != bounced_id
    assert rows(office, Case, ref=ref)[0].requestor_email == FIXED
    assert rows(office, UndeliveredAddress, case_id=cid)[0].resolved_at is not None

    mails = exchange(office, reply_to(resent, FIXED, "CANCEL"))
    assert rows(office, Case, ref=ref)[0].state == "cancelled"
    assert not [m for m in mails if "confirm" in plain_text(m).lower() and m["To"] == FIXED]


def test_cases_lists_the_undelivered_address(office, capsys):
    ref, bounced_id = open_case(office, DEAD)
    office.deliver(readdressed(*SAMPLES[0][:3], bounced_id, DEAD))
    assert office.once() == 0
    capsys.readouterr()
    assert office.cli("cases") == 0
    out = capsys.readouterr().out
    assert ref in out and DEAD in out and "1 case(s) with an undelivered address" in out
    assert office.cli("case", ref) == 0
    out = capsys.readouterr().out
    assert "Undelivered addresses" in out and "5.1.1" in out


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


_RETURNED_ID = re.compile(rb"^Message-I[Dd]:[ \t]*(<[^<>\s]+@[^<>\s]+>)", re.M | re.I)


@pytest.mark.usefixtures("shared_corpus")
def test_every_sisimai_bounce_that_returns_a_message_id_is_matched_to_our_mail_and_never_answered(tmp_path):
    """Corpus-wide: each sisimai bounce whose returned mail shows its Message-ID, re-addressed to a
    reply mailbot really queued, is filed on that reply's case; only admins are ever mailed."""
    app = build_app(load_config(local_config(tmp_path)))
    samples = sorted(p for p in (CORPUS / "emails").glob("sisimai__*.eml")
                     if read_report(p.read_bytes()) is not None)
    matched = []
    for number, path in enumerate(samples):
        raw = path.read_bytes()
        own = parse_message(raw).message_id.encode()
        returned = [m for m in _RETURNED_ID.findall(raw) if m != own]
        if not returned:
            continue
        patient = f"patient{number}@mistyped.example.net"
        opened = app.intake.process(patient_mail(patient, "Second opinion request", "My files follow."))
        ours = parsed(opened.replies[0][2])["Message-ID"].encode()
        first = read_report(raw).recipients[0].address.encode()
        bounce = raw.replace(returned[0], ours)
        if own:   # the dos/ and mac/ copies of a sample share it: each must count as a new message
            bounce = bounce.replace(own, f"<dsn-{number}@mta.example.org>".encode())
        if first:
            bounce = bounce.replace(first, patient.encode())
        outcome = app.intake.process(bounce)
        assert (outcome.disposition, outcome.case_ref) == ("automatic", opened.case_ref), path.name
        assert all(set(to) <= ADMINS for to, _subject, _raw in outcome.replies), path.name
        matched.append(path.name)
    assert len(matched) >= 50
    with app.sessions() as s:
        reports = s.execute(select(Event).where(Event.kind == "delivery_report")).scalars().all()
        assert len(reports) == len(matched)
        assert cases_with_undelivered(s) >= 45     # the permanent ones; delays and policy notes counted apart


@pytest.mark.usefixtures("shared_corpus")
def test_no_reminder_goes_to_an_undelivered_address_until_it_is_corrected(tmp_path):
    from mailbot.schedule.jobs import run_deadlines
    from test_deadlines import Office as ClockedOffice, incomplete

    office = ClockedOffice(tmp_path)
    opened = incomplete(office)
    ours = office.outbox()[0].message_id
    dsn = readdressed(*SAMPLES[0][:3], ours, "maria.rossi@patient.example.net")
    assert office.mail(dsn).disposition == "automatic"
    office.clock.advance(days=14)
    assert run_deadlines(office.app).sent == 1          # the reminder's turn is used, its mail withheld
    assert office.outbox("requestor/reminder_documents") == []
    with office.app.sessions() as s:
        withheld = s.execute(select(Event).where(Event.kind == "reply_withheld")).scalars().all()
        assert [e.detail["purpose"] for e in withheld] == ["requestor/reminder_documents"]
    office.app.intake.set_email(opened.case_ref, "requestor", FIXED)
    assert [r.recipients for r in office.outbox("requestor/missing_documents")][-1] == [FIXED]   # the resend
    office.clock.advance(days=20)
    assert run_deadlines(office.app).sent == 1
    (reminder,) = office.outbox("requestor/reminder_documents")
    assert reminder.recipients == [FIXED]


def test_a_specialists_dead_address_alerts_the_admins_and_the_case_goes_to_the_next_specialist(office):
    from test_staff_workflow import ROMANO, case_with_specialist, state

    remote = SmtpSink().start()
    remote.refuse_recipient(ROMANO)                 # the specialist's mailbox no longer exists
    office.sink.relay_to(remote, office.deliver)
    try:
        case_with_specialist(office)                # routed to Romano; the relay's DSN comes back
        assert office.once() == 0
        mails = office.new_replies()
        alerts = [m for m in mails if m["To"] in ADMINS and ("staff address bounced" in m["Subject"]
                                                             or "indirizzo dello staff" in m["Subject"])]
        assert {m["To"] for m in alerts} == ADMINS and ROMANO in plain_text(alerts[0])
        (routed,) = [m for m in mails if m["To"] not in ADMINS]
        case = state(office)
        assert routed["To"] != ROMANO and case.specialist_email == routed["To"]
        assert ROMANO in case.declined_by and case.state == "with_specialist"
        assert [m for m in remote.messages if routed["To"] in m.rcpt_tos]      # delivered onwards
    finally:
        remote.stop()
