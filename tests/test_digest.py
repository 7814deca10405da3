"""The admins' daily digest, against the real servers: due from `[digest] time` (office time),
sent once a day in each admin's language even when two daemons or restarts get there, and made
of refs and counts only (no patient's name or address)."""

from __future__ import annotations

import email
from datetime import datetime
from email import policy
from zoneinfo import ZoneInfo

import pytest

from mailbot.app import build_app
from mailbot.clock import FixedClock
from mailbot.config import load_config
from mailbot.schedule.digest import run_digest
from mailbot.outbox import open_transport
from mailbot.outbox.queue import deliver_due
from corpus import shared_corpus  # noqa: F401  (the fixture)
from office import Office, patient_mail
from office import plain_text as _plain_text

ROME = ZoneInfo("Europe/Rome")
PATIENT = "anna.rossi@patient.example.net"


def office_with_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, time: str) -> Office:
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    office.config.write_text(office.config.read_text() + f'\n[digest]\ntime = "{time}"\n')
    return office


def app_at(office: Office, *when: int):
    return build_app(load_config(office.config), clock=FixedClock(datetime(*when, tzinfo=ROME)))


def digests(sink, day: str = "") -> list:
    found = [email.message_from_bytes(m.content, policy=policy.default) for m in sink.messages]
    return [m for m in found if f"mailbot.digest.{day}" in m["Message-ID"]]


def plain_text(msg) -> str:
    return _plain_text(msg).replace("\r\n", "\n")


def send_queued(app) -> None:
    transport = open_transport(app.config)
    try:
        deliver_due(app.sessions, transport, app.clock)
    finally:
        transport.close()


def test_the_digest_goes_once_at_its_time_in_each_admins_language(tmp_path, imap_account, smtp_sink, db_url,
                                                                    monkeypatch):
    office = office_with_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, "08:00")
    smtp_sink.refuse_recipient(PATIENT)                         # one reply refused for good
    office.deliver(patient_mail(f"Anna Rossi <{PATIENT}>", "Information", "How do I ask for a second opinion?"))
    imap_account.deliver(patient_mail("x@example.net", "odd", "odd"), "Quarantine")
    assert office.once() == 1
    ref = _only_case_ref(office)

    assert run_digest(app_at(office, 2030, 6, 3, 7, 59)) == 0   # not yet
    first = app_at(office, 2030, 6, 3, 8, 0)
    assert run_digest(first) == 2                               # two admins in the default staff.toml
    assert run_digest(app_at(office, 2030, 6, 3, 8, 30)) == 0   # a restart the same day
    assert run_digest(app_at(office, 2030, 6, 3, 11, 0)) == 0   # a second daemon
    send_queued(first)
    sent = digests(smtp_sink, "2030-06-03")
    assert sorted(m["To"] for m in sent) == ["laura.fontana@example.org", "office.desk@example.org"]
    italian = next(m for m in sent if m["To"] == "laura.fontana@example.org")
    english = next(m for m in sent if m["To"] == "office.desk@example.org")
    assert italian["Subject"].startswith("Riepilogo giornaliero del 2030-06-03") and italian["Content-Language"] == "it"
    assert english["Subject"].startswith("Daily digest for 2030-06-03") and english["Auto-Submitted"] == "auto-generated"
    body = plain_text(english)
    assert "Cases by state (1 open):\n- awaiting documents: 1" in body
    assert f"case {ref}, requestor/instructions" in body                # the mail refused for good
    assert "1 in the quarantine folder" in body
    assert "anna" not in body.lower() and "@" not in body               # refs and counts only
    assert "casi per stato (1 aperti):\n- in attesa di documenti: 1" in plain_text(italian).lower()

    next_day = app_at(office, 2030, 6, 4, 8, 5)
    assert run_digest(next_day) == 2
    send_queued(next_day)
    assert len(digests(smtp_sink, "2030-06-04")) == 2 and len(digests(smtp_sink, "2030-06-03")) == 2
    assert "New cases: 0" in plain_text(digests(smtp_sink, "2030-06-04")[0]) or \
        "Nuovi casi: 0" in plain_text(digests(smtp_sink, "2030-06-04")[0])


def _only_case_ref(office: Office) -> str:
    app = office.app()
    from mailbot.store.models import Case
    with app.sessions() as session:
        (ref,) = session.query(Case.ref).all()[0]
    return ref


def test_two_runs_on_one_day_send_one_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch):
    office = office_with_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, "00:00")
    assert office.once() == 0
    assert office.once() == 0           # another process, the same day
    assert len(digests(smtp_sink)) == 2 and len(smtp_sink.messages) == 2


def test_without_a_digest_section_there_is_no_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch):
    office = Office(tmp_path, imap_account, smtp_sink, db_url, monkeypatch)
    assert office.once() == 0 and smtp_sink.messages == []
    assert run_digest(app_at(office, 2030, 6, 3, 23, 59)) == 0


def test_two_real_daemons_and_a_restart_send_one_digest(tmp_path, imap_account, smtp_sink, monkeypatch):
    import time

    from faultkit import Daemon, scratch_postgres, wait_until

    with scratch_postgres() as (_admin, _name, url):
        office = office_with_digest(tmp_path, imap_account, smtp_sink, url, monkeypatch, "00:00")
        first = Daemon(office.config, tmp_path / "first.log").start()
        second = Daemon(office.config, tmp_path / "second.log").start()
        try:
            wait_until(lambda: len(digests(smtp_sink)) >= 2, 90, "the digest", first)
            wait_until(lambda: "digest for" in first.text() + second.text(), 30, "the digest logged", first)
            assert first.stop() == 0
            first = Daemon(office.config, tmp_path / "first.log").start()          # a restart
            wait_until(lambda: first.text().count("starting: mailbox") == 2, 90, "the restart", first)
            time.sleep(3)
        finally:
            codes = (first.stop(), second.stop())
    assert codes == (0, 0)
    assert sorted(m["To"] for m in digests(smtp_sink)) == ["laura.fontana@example.org", "office.desk@example.org"]
    assert (first.text() + second.text()).count("digest for") == 1


@pytest.mark.usefixtures("shared_corpus")
def test_the_digest_counts_the_cases_with_an_undelivered_address(tmp_path, imap_account, smtp_sink, db_url,
                                                                  monkeypatch):
    from test_bounces import DEAD, SAMPLES, open_case, readdressed
    office = office_with_digest(tmp_path, imap_account, smtp_sink, db_url, monkeypatch, "08:00")
    _ref, bounced_id = open_case(office, DEAD)
    office.deliver(readdressed(*SAMPLES[0][:3], bounced_id, DEAD))
    assert office.once() == 0
    app = app_at(office, 2030, 6, 3, 8, 0)
    assert run_digest(app) == 2
    send_queued(app)
    sent = {m["To"]: plain_text(m) for m in digests(smtp_sink, "2030-06-03")}
    assert "Cases with an address that bounced for good, not corrected yet: 1" in sent["office.desk@example.org"]
    assert "non ancora corretto: 1" in sent["laura.fontana@example.org"]
    assert DEAD not in " ".join(sent.values())
