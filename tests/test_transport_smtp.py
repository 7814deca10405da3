"""SmtpTransport against a real aiosmtpd sink: bytes, envelopes, failures sorted for retrying."""

from __future__ import annotations

import asyncio

import pytest

from mailbot.errors import SendError
from mailbot.outbox.smtp import PartialDeliveryError, SmtpTransport

RAW = (b"From: Second Opinion <second.opinion@example.org>\r\n"
       b"To: patient@example.com\r\n"
       b"Subject: [SO-2026-00042] Documents missing\r\n"
       b"Message-ID: <r1@example.org>\r\n"
       b"Auto-Submitted: auto-replied\r\n"
       b"\r\n"
       b"Dear patient,\r\n.leading dot survives dot-stuffing\r\n")
SENDER = "second.opinion@example.org"


@pytest.fixture
def transport(smtp_sink):
    t = SmtpTransport(smtp_sink.smtp_config())
    yield t
    t.close()


def send(transport, recipients, message_id="<r1@example.org>", raw=RAW):
    transport.send(sender=SENDER, recipients=recipients, message_id=message_id, raw=raw)


def test_delivers_exact_bytes_and_envelope(smtp_sink, transport):
    send(transport, ["patient@example.com", "doctor@example.net"])
    (got,) = smtp_sink.messages
    assert got.content == RAW
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["patient@example.com", "doctor@example.net"]
    assert got.email["Subject"] == "[SO-2026-00042] Documents missing"


def test_eight_bit_message_goes_through(smtp_sink, transport):
    raw = RAW.replace(b"Dear patient", "Gentile paziente, è".encode())
    send(transport, ["patient@example.com"], raw=raw)
    assert smtp_sink.messages[0].content == raw


def test_one_connection_for_a_batch_and_reconnect_after_drop(smtp_sink, transport):
    connections = set()
    for n in range(3):
        send(transport, ["patient@example.com"], message_id=f"<b{n}@example.org>")
        connections.add(id(transport._smtp))
    first = transport._smtp
    assert first is not None and len(connections) == 1 and len(smtp_sink.messages) == 3
    # The server drops the idle connection: the next send reconnects by itself.
    transport._call(_abort(first))
    send(transport, ["patient@example.com"], message_id="<b3@example.org>")
    assert transport._smtp is not first and len(smtp_sink.messages) == 4


async def _abort(smtp):
    smtp.transport.abort()
    await asyncio.sleep(0.05)


def test_temporary_failure_is_retryable(smtp_sink, transport):
    smtp_sink.fail_next(1, code=451)
    with pytest.raises(SendError) as caught:
        send(transport, ["patient@example.com"])
    assert caught.value.permanent is False and "451" in str(caught.value)
    assert smtp_sink.messages == []
    send(transport, ["patient@example.com"])  # the retry succeeds on the same transport
    assert len(smtp_sink.messages) == 1


def test_permanent_failure(smtp_sink, transport):
    smtp_sink.fail_next(1, code=550)
    with pytest.raises(SendError) as caught:
        send(transport, ["patient@example.com"])
    assert caught.value.permanent is True and "550" in str(caught.value)
    assert b"Dear patient" not in str(caught.value).encode()


def test_every_recipient_refused_is_permanent(smtp_sink, transport):
    smtp_sink.refuse_recipient("gone@example.com")
    smtp_sink.refuse_recipient("left@example.com")
    with pytest.raises(SendError) as caught:
        send(transport, ["gone@example.com", "left@example.com"])
    assert caught.value.permanent is True
    assert "gone@example.com" in str(caught.value) and "left@example.com" in str(caught.value)
    assert smtp_sink.messages == []


def test_partial_refusal_delivers_to_the_others(smtp_sink, transport):
    smtp_sink.refuse_recipient("gone@example.com")
    with pytest.raises(SendError) as caught:
        send(transport, ["patient@example.com", "gone@example.com", "doctor@example.net"])
    error = caught.value
    assert isinstance(error, PartialDeliveryError) and error.permanent is True
    assert "gone@example.com" in str(error) and "patient@example.com" not in str(error)
    assert list(error.refused) == ["gone@example.com"]
    assert error.delivered == ["patient@example.com", "doctor@example.net"]
    (got,) = smtp_sink.messages
    assert got.rcpt_tos == ["patient@example.com", "doctor@example.net"] and got.content == RAW


def test_unreachable_server_is_retryable():
    from servers import free_port
    from servers.smtp_sink import SmtpSink

    config = SmtpSink().smtp_config(port=free_port())  # never started
    with SmtpTransport(config) as t:
        with pytest.raises(SendError) as caught:
            send(t, ["patient@example.com"])
    assert caught.value.permanent is False


def test_bad_address_is_permanent(smtp_sink, transport):
    with pytest.raises(SendError) as caught:
        send(transport, ["not an address\r\nRCPT TO:<x@example.com>"])
    with pytest.raises(SendError):
        send(transport, ["Patient <patient@example.com>"])
    assert smtp_sink.messages == []
    assert caught.value.permanent is True


def test_starttls_with_auth(smtp_sink_tls):
    with SmtpTransport(smtp_sink_tls.smtp_config()) as t:
        send(t, ["patient@example.com"])
    assert smtp_sink_tls.messages[0].content == RAW
    assert smtp_sink_tls.auth_logins == ["robot"]


def test_starttls_wrong_password_is_retryable_and_says_so(smtp_sink_tls):
    with SmtpTransport(smtp_sink_tls.smtp_config(password="nope")) as t:
        with pytest.raises(SendError, match="login refused") as caught:
            send(t, ["patient@example.com"])
    assert caught.value.permanent is False
    assert smtp_sink_tls.messages == []


def test_starttls_untrusted_certificate(smtp_sink_tls):
    with SmtpTransport(smtp_sink_tls.smtp_config(ca_file="")) as t:
        with pytest.raises(SendError, match="ca_file") as caught:
            send(t, ["patient@example.com"])
    assert caught.value.permanent is False


def test_open_transport_picks_smtp_from_config(smtp_sink, tmp_path):
    from mailbot.config import Config
    from mailbot.outbox import open_transport

    config = Config.model_validate({
        "office": {"address": "so@example.org"},
        "maildir": {"path": "inbox"},
        "smtp": {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"},
        "payment": {"beneficiary": "H", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"},
        "base_dir": tmp_path,
    })
    transport = open_transport(config)
    try:
        assert isinstance(transport, SmtpTransport)
        send(transport, ["patient@example.com"])
    finally:
        transport.close()
    assert len(smtp_sink.messages) == 1


def test_usable_from_inside_a_running_event_loop(smtp_sink, transport):
    async def main():
        send(transport, ["patient@example.com"])  # a sync call from async code still works

    asyncio.run(main())
    assert len(smtp_sink.messages) == 1


def test_no_message_content_in_logs(smtp_sink, transport, caplog):
    import logging

    raw = RAW.replace(b"Dear patient", b"Diagnosis: PATIENT-SECRET-7731")
    smtp_sink.refuse_recipient("gone@example.com")
    with caplog.at_level(logging.DEBUG):
        send(transport, ["patient@example.com"], raw=raw)
        with pytest.raises(SendError):
            send(transport, ["patient@example.com", "gone@example.com"], raw=raw)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "mailbot" in " ".join(r.name for r in caplog.records)
    assert "PATIENT-SECRET" not in ours and "Documents missing" not in ours
