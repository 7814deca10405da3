"""Two hospitals, two real Dovecot mailboxes, one `mailbot once`, one database (SQLite and
PostgreSQL): each patient gets their hospital's price and account, each case its hospital's
staff, a condition one hospital does not offer names the ones that do, and a mailbox that cannot
log in is reported while the other's mail is still answered."""

from __future__ import annotations

import email
import json
import logging
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.cli import main as mailbot_main
from mailbot.store.models import Case
from network_rules import MILAN, MILAN_IBAN, ROME, ROME_IBAN, ROME_SPECIALIST, ROME_TRIAGE, network_rules
from office import patient_mail, plain_text
from pdf_factory import filled_request_form
from servers.dovecot import SECOND_USER
from test_end_to_end import BREAST_FORM, breast_documents

MARIA, LUCA = "maria.rossi@patient.example.net", "luca.verdi@patient.example.net"
MILAN_TRIAGE = {"francesca.rinaldi@example.org", "roberto.moretti@example.org"}
ADMIN = "laura.fontana@example.org"


class Network:
    """The office of two hospitals: Milan reads the fixture's first Dovecot user, Rome the second."""

    def __init__(self, tmp_path: Path, milan_box, rome_box, smtp_sink, db_url: str, monkeypatch,
                 rome_password_env: str = "TEST_ROME_PASSWORD"):
        self.milan, self.rome, self.sink = milan_box, rome_box, smtp_sink
        monkeypatch.setenv("TEST_MILAN_PASSWORD", milan_box.password)
        monkeypatch.setenv("TEST_ROME_PASSWORD", rome_box.password)
        monkeypatch.setenv("TEST_WRONG_PASSWORD", "not-the-password")
        rules = network_rules(tmp_path / "rules")
        self.config = tmp_path / "config.toml"
        self.config.write_text(f"""
[office]
name = "Second Opinion Network"
address = "office@network.example.org"

[[mailboxes]]
name = "milan"
[mailboxes.imap]
host = "{milan_box.host}"
port = {milan_box.port}
security = "none"
username = "{milan_box.username}"
password_env = "TEST_MILAN_PASSWORD"
poll_seconds = 1

[[mailboxes]]
name = "rome"
hospital = "rome"
[mailboxes.imap]
host = "{rome_box.host}"
port = {rome_box.port}
security = "none"
username = "{rome_box.username}"
password_env = "{rome_password_env}"
poll_seconds = 1

[smtp]
host = "{smtp_sink.host}"
port = {smtp_sink.port}
security = "none"

[scheduler]
outage_retry_max_seconds = 2

[delivery]
retry_base_seconds = 1
retry_max_seconds = 2

[database]
url = "{db_url}"

[storage]
dir = "{tmp_path / 'documents'}"

[rules]
dir = "{rules}"

[payment]
beneficiary = "Network (not used: each hospital has its own)"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
""", encoding="utf-8")
        self._seen = 0

    def once(self) -> int:
        return mailbot_main(["--config", str(self.config), "once"])

    def exchange(self, box, raw: bytes, expect: int = 0) -> list:
        box.deliver(raw)
        assert self.once() == expect
        return self.new_replies()

    def new_replies(self) -> list:
        fresh = self.sink.messages[self._seen:]
        self._seen = len(self.sink.messages)
        return [email.message_from_bytes(m.content, policy=policy.default) for m in fresh]

    def cases(self) -> dict[str, Case]:
        from mailbot.app import build_app
        from mailbot.config import load_config

        app = build_app(load_config(self.config))
        with app.sessions() as s:
            return {c.requestor_email: c for c in s.execute(select(Case)).scalars()}


def to(raw: bytes, address: str) -> bytes:
    msg = email.message_from_bytes(raw, policy=policy.default)
    msg.replace_header("To", address)
    return bytes(msg)


def request(patient: str, hospital_address: str, **form) -> bytes:
    fields = {**BREAST_FORM, "requestor_email": patient, "patient_email": patient, **form}
    return to(patient_mail(patient, "Second opinion request", "My documents are attached.",
                           [("request_form.pdf", filled_request_form(**fields)), *breast_documents()]),
              hospital_address)


def reply_to(mail, sender: str, body: str, hospital_address: str) -> bytes:
    return to(patient_mail(sender, f"Re: {mail['Subject']}", body, in_reply_to=mail["Message-ID"]),
              hospital_address)


def only(mails, address: str):
    found = [m for m in mails if m["To"] == address]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in mails]
    return found[0]


@pytest.fixture
def network(tmp_path, imap_account, smtp_sink, db_url, monkeypatch) -> Network:
    rome = imap_account.account(SECOND_USER)
    rome.reset()
    return Network(tmp_path, imap_account, rome, smtp_sink, db_url, monkeypatch)


def test_each_hospital_asks_its_own_price_to_its_own_account_and_routes_to_its_own_staff(network, capsys):
    network.milan.deliver(request(MARIA, MILAN))
    network.rome.deliver(request(LUCA, ROME))
    assert network.once() == 0
    mails = network.new_replies()
    cases = network.cases()
    milan_case, rome_case = cases[MARIA], cases[LUCA]
    assert (milan_case.hospital, rome_case.hospital) == ("milan", "rome")
    assert milan_case.ref.startswith("MI-") and rome_case.ref.startswith("RO-")
    assert network.milan.messages("INBOX") == [] and network.rome.messages("INBOX") == []
    # each hospital's triage, and only theirs
    to_triage = {m["To"]: m for m in mails if milan_case.ref in m["Subject"] or rome_case.ref in m["Subject"]}
    assert MILAN_TRIAGE | {ROME_TRIAGE} <= set(to_triage)
    assert rome_case.ref in to_triage[ROME_TRIAGE]["Subject"]
    assert all(milan_case.ref in to_triage[t]["Subject"] for t in MILAN_TRIAGE)
    assert ROME in only(mails, LUCA)["From"] and MILAN in only(mails, MARIA)["From"]

    rome_triage_mail = to_triage[ROME_TRIAGE]
    milan_triage_mail = to_triage["francesca.rinaldi@example.org"]
    mails = network.exchange(network.rome, reply_to(rome_triage_mail, ROME_TRIAGE, "APPROVE", ROME))
    rome_payment = plain_text(only(mails, LUCA))
    mails = network.exchange(network.milan, reply_to(milan_triage_mail, "francesca.rinaldi@example.org",
                                                     "APPROVE", MILAN))
    milan_payment_mail = only(mails, MARIA)
    milan_payment = plain_text(milan_payment_mail)
    assert "450.00" in rome_payment and ROME_IBAN in rome_payment and "Rome Oncology Hospital" in rome_payment
    assert "600.00" in milan_payment and MILAN_IBAN in milan_payment and ROME_IBAN not in milan_payment
    assert "450.00" not in milan_payment

    # Rome's triage cannot approve Milan's case; Rome's case goes to Rome's specialist once paid
    cases = network.cases()
    assert cases[MARIA].amount_due == "600.00" and cases[LUCA].amount_due == "450.00"
    rome_payment_mail = [m for m in network.sink.messages if m.rcpt_tos == [LUCA]][-1]
    rome_payment_mail = email.message_from_bytes(rome_payment_mail.content, policy=policy.default)
    mails = network.exchange(network.rome, reply_to(rome_payment_mail, ADMIN, "PAID", ROME))
    confirm = only(mails, ADMIN)   # a reply to a mail sent to the patient proves nothing of the admin
    assert ROME in confirm["From"] and cases[LUCA].ref in confirm["Subject"]   # from the case's hospital
    mails = network.exchange(network.rome, reply_to(confirm, ADMIN, "CONFIRM", ROME))
    routed = only(mails, ROME_SPECIALIST)
    assert network.cases()[LUCA].specialist_email == ROME_SPECIALIST and cases[LUCA].ref in routed["Subject"]

    # the admin records Milan's payment from the command line: Milan's price, Milan's specialists
    assert mailbot_main(["--config", str(network.config), "payment", cases[MARIA].ref]) == 0
    assert network.once() == 0
    milan_specialists = {"giulia.romano@example.org", "elena.ferrari@example.org", "luca.ricci@example.org",
                         "alessandro.conti@example.org"}
    assert network.cases()[MARIA].specialist_email in milan_specialists
    assert any(m["To"] in milan_specialists for m in network.new_replies())
    assert mailbot_main(["--config", str(network.config), "cases"]) == 0
    table = capsys.readouterr().out
    assert f"{cases[MARIA].ref}  with_specialist  milan" in table and f"{cases[LUCA].ref}  with_specialist  rome" in table


def test_a_condition_the_hospital_does_not_offer_gets_the_hospitals_that_do(network):
    mails = network.exchange(network.rome, request(LUCA, ROME, condition="Lung cancer"))
    (reply,) = [m for m in mails if m["To"] == LUCA]
    text = plain_text(reply)
    assert "Rome Oncology Hospital does not give second opinions for Lung cancer" in text
    assert "Milan Cancer Centre: " + MILAN in text
    assert not any(m["To"] == ROME_TRIAGE for m in mails)
    case = network.cases()[LUCA]
    assert case.state == "awaiting_documents" and case.hospital == "rome"
    # in Italian too
    mails = network.exchange(network.rome, request(MARIA, "secondo.parere@rome.example.org",
                                                   condition="Tumore del polmone", language="it"))
    italian = plain_text(only(mails, MARIA))
    assert "non rilascia secondi pareri" in italian and MILAN in italian


def test_mail_that_names_no_hospital_belongs_to_the_hospital_of_the_mailbox_it_came_from(network):
    network.rome.deliver(request(LUCA, "second-opinions@lists.example.net"))   # e.g. a Bcc or an alias
    network.milan.deliver(request(MARIA, "second-opinions@lists.example.net"))
    assert network.once() == 0
    cases = network.cases()
    assert cases[LUCA].hospital == "rome" and cases[LUCA].ref.startswith("RO-")
    assert cases[MARIA].hospital == "milan"    # the Milan mailbox names no hospital: the default


def test_a_mailbox_that_refuses_its_login_is_reported_and_the_other_is_still_answered(
        tmp_path, imap_account, smtp_sink, db_url, monkeypatch, caplog, capsys):
    rome = imap_account.account(SECOND_USER)
    rome.reset()
    network = Network(tmp_path, imap_account, rome, smtp_sink, db_url, monkeypatch,
                      rome_password_env="TEST_WRONG_PASSWORD")
    rome.deliver(request(LUCA, ROME))
    network.milan.deliver(request(MARIA, MILAN))
    with caplog.at_level(logging.ERROR):
        assert network.once() == 3            # a service unreachable: the Rome mailbox
        assert network.once() == 3
    mails = network.new_replies()
    assert only(mails, MARIA) and not any(m["To"] == LUCA for m in mails)
    assert network.milan.messages("INBOX") == [] and len(rome.messages("INBOX")) == 1
    errors = [r.getMessage() for r in caplog.records if "mailbox rome" in r.getMessage()]
    assert len(errors) == 2 and all("login refused" in e for e in errors)   # once per run
    assert all("r0me" not in r.getMessage() for r in caplog.records)       # no password in the log

    capsys.readouterr()
    assert mailbot_main(["--config", str(network.config), "auth", "check"]) == 3
    milan_line, rome_line, smtp_line = capsys.readouterr().out.splitlines()
    assert milan_line.startswith("imap (milan): OK") and network.milan.username in milan_line
    assert rome_line.startswith("imap (rome): FAIL") and "login refused" in rome_line
    assert smtp_line.startswith("smtp: OK")

    assert mailbot_main(["--config", str(network.config), "status", "--json"]) == 1   # degraded
    report = json.loads(capsys.readouterr().out)
    checks = report["checks"]
    assert checks["mailbox milan"]["ok"] and not checks["mailbox rome"]["ok"], checks
    assert "login refused" in checks["mailbox rome"]["detail"] and rome.username in checks["mailbox rome"]["detail"]
    assert report["mailbox"]["by_mailbox"] == {"milan": {"waiting": 0, "quarantine": 0}}

    monkeypatch.setenv("TEST_WRONG_PASSWORD", rome.password)   # the admin fixes the password
    assert mailbot_main(["--config", str(network.config), "status"]) == 0
    text = capsys.readouterr().out
    assert "mailbox rome ok" in text and "rome: 1 waiting, 0 in quarantine" in text, text
    assert network.once() == 0
    assert only(network.new_replies(), LUCA)
    assert rome.messages("INBOX") == []


def test_the_daemon_keeps_answering_one_mailbox_while_the_other_is_down_and_says_so_once(
        tmp_path, imap_account, smtp_sink, monkeypatch, caplog):
    import threading
    import time

    from mailbot.app import build_app
    from mailbot.config import load_config
    from mailbot.daemon import Worker

    rome = imap_account.account(SECOND_USER)
    rome.reset()
    network = Network(tmp_path, imap_account, rome, smtp_sink, f"sqlite:///{tmp_path}/mailbot.db", monkeypatch,
                      rome_password_env="TEST_WRONG_PASSWORD")
    rome.deliver(request(LUCA, ROME))
    worker = Worker(build_app(load_config(network.config)))
    thread = threading.Thread(target=worker.run_forever, daemon=True)

    def answered(address: str, count: int) -> bool:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if sum(m.rcpt_tos == [address] for m in network.sink.messages) >= count:
                return True
            time.sleep(0.2)
        return False

    with caplog.at_level(logging.INFO):
        thread.start()
        try:
            network.milan.deliver(request(MARIA, MILAN))
            assert answered(MARIA, 1)
            time.sleep(3)   # a few more rounds, with Rome still refused
            network.milan.deliver(request("anna.bianchi@patient.example.net", MILAN))
            assert answered("anna.bianchi@patient.example.net", 1)
        finally:
            worker.stopping.set()
            thread.join(timeout=30)
            worker.close()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mailbox rome")]
    assert len(said) == 1 and "unavailable" in said[0] and "login refused" in said[0]
    assert not any(m.rcpt_tos == [LUCA] for m in network.sink.messages) and len(rome.messages("INBOX")) == 1


def test_a_mailbox_whose_oauth2_grant_is_revoked_is_reported_and_the_other_is_still_answered(
        tmp_path, oauth_imap, idp, imap_account, smtp_sink, monkeypatch, capsys, caplog):
    from conftest import OAUTH_MAILBOX
    from oauth_setup import oauth_env, oauth_table

    grant = idp.new_grant(OAUTH_MAILBOX)
    for name, value in oauth_env(idp, TEST_RT=grant).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEST_OFFICE_PASSWORD", imap_account.password)
    config = tmp_path / "config.toml"
    config.write_text(f"""
[office]
address = "office@network.example.org"

[[mailboxes]]
name = "cloud"
[mailboxes.imap]
auth = "oauth2"
host = "{oauth_imap.host}"
port = {oauth_imap.port}
security = "none"
username = "{OAUTH_MAILBOX}"
{oauth_table("imap", idp).replace("[imap.oauth2]", "[mailboxes.imap.oauth2]")}
[[mailboxes]]
name = "office"
[mailboxes.imap]
host = "{imap_account.host}"
port = {imap_account.port}
security = "none"
username = "{imap_account.username}"
password_env = "TEST_OFFICE_PASSWORD"

[smtp]
host = "{smtp_sink.host}"
port = {smtp_sink.port}
security = "none"

[database]
url = "sqlite:///{tmp_path}/mailbot.db"
[storage]
dir = "{tmp_path / 'documents'}"
[rules]
dir = "{network_rules(tmp_path / 'rules')}"
[payment]
beneficiary = "H"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
""", encoding="utf-8")
    run = lambda: mailbot_main(["--config", str(config), "once"])
    oauth_imap.deliver(patient_mail("Maria <maria@example.net>", "Info", "How do I ask for a second opinion?"))
    assert run() == 0 and oauth_imap.messages("INBOX") == []   # the grant works at first
    idp.revoke_grant(grant)                                      # e.g. a password reset revoked it
    oauth_imap.deliver(patient_mail("Luca <luca@example.net>", "Info", "Hello"))
    imap_account.deliver(request(MARIA, MILAN))
    capsys.readouterr()
    with caplog.at_level(logging.ERROR):
        assert run() == 3                                        # the cloud mailbox is unreachable...
    assert "unavailable: mailbox cloud" in capsys.readouterr().err
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mailbox cloud")]
    assert len(said) == 1 and "invalid_grant" in said[0]
    sent = [email.message_from_bytes(m.content, policy=policy.default) for m in smtp_sink.messages]
    assert any(m["To"] == MARIA for m in sent)                   # ...the office's mail is answered
    assert not any(m["To"] == "luca@example.net" for m in sent) and len(oauth_imap.messages("INBOX")) == 1
    assert imap_account.messages("INBOX") == []
    alerts = [m for m in sent if "mailbox login revoked" in m["Subject"]]
    assert alerts and all(OAUTH_MAILBOX in m.get_body(("plain",)).get_content() for m in alerts)


def test_replay_dry_run_shows_the_hospitals_ref_and_its_wording(network, tmp_path, capsys):
    saved = tmp_path / "request.eml"
    saved.write_bytes(request(LUCA, ROME, condition="Lung cancer"))
    capsys.readouterr()
    assert mailbot_main(["--config", str(network.config), "replay", str(saved), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"case": "RO-' in out
    assert "Subject: [RO-" in out and "Milan Cancer Centre: " + MILAN in out
    assert network.cases() == {}   # nothing written


def test_a_rules_reload_reads_hospitals_toml_and_keeps_the_old_rules_when_it_is_wrong(network, tmp_path, caplog):
    from mailbot.app import build_app
    from mailbot.config import load_config
    from mailbot.rulebook.watch import RulesReloader

    app = build_app(load_config(network.config))
    reloader = RulesReloader(app)
    hospitals = tmp_path / "rules" / "hospitals.toml"
    good = hospitals.read_text()

    def reload(text: str) -> None:
        hospitals.write_text(text)
        reloader.watch.requested.set()   # as SIGHUP does
        reloader.check()

    reload(good.replace("base = 600.00", "base = 650.00"))
    assert str(app.rulebook.hospitals["milan"].prices["breast_cancer"].base) == "650.00"
    assert app.intake.rulebook is app.rulebook

    with caplog.at_level(logging.ERROR):
        reload(good.replace('iban = "IT60X', 'iban = "IT00X'))   # a wrong IBAN: the old rules stay
        assert str(app.rulebook.hospitals["milan"].prices["breast_cancer"].base) == "650.00"
        line = good.splitlines().index('iban = "IT60X0542811101000000123456"') + 1
        assert any(f"hospitals.toml:{line}:" in r.getMessage() for r in caplog.records), caplog.text

        caplog.clear()
        reload(good.replace("[hospitals.rome", "[hospitals.roma"))   # the Rome mailbox's hospital gone
        assert "rome" in app.rulebook.hospitals
        assert any("mailboxes.1.hospital: unknown hospital 'rome'" in r.getMessage() for r in caplog.records), \
            caplog.text


def test_a_stranger_naming_a_case_is_answered_from_the_hospital_written_to_without_the_case(network):
    network.exchange(network.milan, request(MARIA, MILAN))
    milan_ref = network.cases()[MARIA].ref
    nosy = "nosy@elsewhere.example.com"
    mails = network.exchange(network.rome, to(patient_mail(nosy, f"About {milan_ref}", "What is the state of it?"),
                                              ROME))
    answer = only(mails, nosy)
    assert ROME in answer["From"] and MILAN not in answer["From"]   # the hospital written to, not the case's
    assert milan_ref not in answer["Subject"] and milan_ref not in answer["Message-ID"]
    assert milan_ref not in plain_text(answer)
