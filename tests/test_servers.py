"""The test servers themselves: other engineers' end-to-end tests rely on these fixtures."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, text

from servers import REQUIRE_ENV, require_or_skip


def test_require_or_skip_skips_by_default(monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        require_or_skip("no server here")


def test_require_or_skip_fails_in_ci(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no server here"):
        require_or_skip("no server here")


# -- Dovecot --------------------------------------------------------------------------------------

def test_dovecot_deliver_messages_folders_reset(imap_account):
    assert imap_account.folders() == ["INBOX"] and imap_account.messages() == []
    uid = imap_account.deliver(b"Subject: one\r\n\r\nfirst\r\n")
    imap_account.deliver(b"Subject: two\n\nsecond\n", folder="Archive/2026")
    assert uid > 0
    assert imap_account.messages("INBOX") == [b"Subject: one\r\n\r\nfirst\r\n"]
    assert imap_account.messages("Archive/2026") == [b"Subject: two\r\n\r\nsecond\r\n"]  # CRLF stored
    assert "Archive/2026" in imap_account.folders()
    assert imap_account.messages("Nope") == []
    imap_account.reset()
    assert imap_account.folders() == ["INBOX"] and imap_account.messages() == []


def test_dovecot_tls_ports_with_ca_file(dovecot):
    context = ssl.create_default_context(cafile=dovecot.ca_file)
    with IMAPClient(dovecot.host, dovecot.ssl_port, ssl=True, ssl_context=context, timeout=5) as client:
        client.login(dovecot.username, dovecot.password)
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5) as client:
        assert client.has_capability("STARTTLS")
        client.starttls(context)
        client.login(dovecot.username, dovecot.password)
        assert {b"IDLE", b"MOVE", b"UIDPLUS"} <= set(client.capabilities())


def test_dovecot_kick_drops_sessions(imap_account):
    client = imap_account.connect()
    imap_account.kick()
    with pytest.raises(Exception):
        client.select_folder("INBOX")
        client.noop()
    client.shutdown()


# -- SMTP sink ------------------------------------------------------------------------------------

def test_smtp_sink_collects_fails_and_refuses(smtp_sink):
    raw = b"Subject: hello\r\nFrom: a@example.org\r\n\r\nbody\r\n"
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as smtp:
        smtp.sendmail("a@example.org", ["b@example.com", "c@example.com"], raw)
        (got,) = smtp_sink.messages
        assert (got.mail_from, got.rcpt_tos, got.content) == ("a@example.org", ["b@example.com", "c@example.com"], raw)
        assert got.email["Subject"] == "hello"

        smtp_sink.fail_next(2, code=451)
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as caught:
                smtp.sendmail("a@example.org", ["b@example.com"], raw)
            assert caught.value.smtp_code == 451
        smtp_sink.fail_next(1, code=554)
        with pytest.raises(smtplib.SMTPDataError) as caught:
            smtp.sendmail("a@example.org", ["b@example.com"], raw)
        assert caught.value.smtp_code == 554
        assert len(smtp_sink.messages) == 1

        smtp_sink.refuse_recipient("Gone@Example.com")
        refused = smtp.sendmail("a@example.org", ["gone@example.com", "b@example.com"], raw)
        assert refused == {"gone@example.com": (550, b"5.1.1 <gone@example.com>: Recipient address rejected: user unknown")}
        assert smtp_sink.messages[-1].rcpt_tos == ["b@example.com"]

    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_smtp_sink_tls_requires_auth_after_starttls(smtp_sink_tls):
    context = ssl.create_default_context(cafile=smtp_sink_tls.ca_file)
    with smtplib.SMTP(smtp_sink_tls.host, smtp_sink_tls.port) as smtp:
        smtp.starttls(context=context)
        smtp.login(smtp_sink_tls.username, smtp_sink_tls.password)
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: x\r\n\r\ny\r\n")
    assert len(smtp_sink_tls.messages) == 1


# -- databases ------------------------------------------------------------------------------------

def test_db_url_gives_a_fresh_working_database(db_url, request):
    expected = "sqlite:///" if request.node.callspec.params["db_url"] == "sqlite" else "postgresql+psycopg://"
    assert db_url.startswith(expected)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE cases (id INTEGER PRIMARY KEY, ref VARCHAR(20) NOT NULL)"))
            conn.execute(text("INSERT INTO cases (id, ref) VALUES (1, 'SO-2026-00001')"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT ref FROM cases")).scalar_one() == "SO-2026-00001"
    finally:
        engine.dispose()
