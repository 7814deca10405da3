"""Which failures are the infrastructure's (never a quarantine strike) and which
the message's; the outage log that says each change once; the delivery backoff; list mail.

Pure: real exceptions from real causes where one is cheap to make (a read-only SQLite file, a
closed port), otherwise exception objects as the libraries build them."""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
from datetime import timedelta

import pytest
from pypdf.errors import PdfReadError
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc

from mailbot.checks.automatic import automatic_reason
from mailbot.config import load_config
from mailbot.errors import ConfigError, DatabaseUnavailable, MailboxError, SendError
from mailbot.faults import describe, infrastructure_fault, is_infrastructure_fault, redact_addresses
from mailbot.outages import Outages
from mailbot.outbox.queue import RetryPolicy
from mailbot.parse import parse_message
from test_cli import LOCAL_CONFIG, RULES, local_config

PATIENT = "maria.rossi@patient.example.net"


def _operational(message: str = "server closed the connection unexpectedly") -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT INTO inbound_messages (from_addr) VALUES (%(a)s)",
                                   {"a": PATIENT}, Exception(message))


@pytest.mark.parametrize("exc, service", [
    (OSError(errno.EROFS, "Read-only file system", "/var/documents/ab/abc.tmp12"), "storage"),
    (OSError(errno.ENOSPC, "No space left on device"), "storage"),
    (PermissionError(errno.EACCES, "Permission denied"), "storage"),
    (OSError(errno.EIO, "Input/output error"), "storage"),
    (_operational(), "database"),
    (sa_exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), "database"),
    (sa_exc.DisconnectionError("gone"), "database"),
    (sa_exc.TimeoutError("QueuePool limit reached"), "database"),
    (sqlite3.OperationalError("database is locked"), "database"),
    (DatabaseUnavailable("database sqlite:///x cannot be opened"), "database"),
    (MailboxError("IMAP 127.0.0.1:143: connection failed while listing messages"), "mailbox"),
    (SendError("SMTP 127.0.0.1:25: cannot connect", unreachable=True), "smtp"),
    (SendError("SMTP: message refused (451 try later)"), "smtp"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "network"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "network"),
    (TimeoutError("timed out"), "network"),
    (socket.timeout("timed out"), "network"),
])
def test_infrastructure_faults_name_their_service(exc, service):
    assert infrastructure_fault(exc) == service
    assert is_infrastructure_fault(exc)


@pytest.mark.parametrize("exc", [
    ValueError("decision may not set form"),
    KeyError("patient_name"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    PdfReadError("EOF marker not found"),
    OSError("cannot identify image file"),                 # a library rejecting data: no errno
    FileNotFoundError(errno.ENOENT, "No such file or directory"),
    OSError(errno.ENAMETOOLONG, "File name too long"),
    sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint")),
    SendError("550 5.1.1 user unknown", permanent=True),
    RecursionError("maximum recursion depth exceeded"),
])
def test_failures_of_the_message_itself_are_not_infrastructure(exc):
    assert infrastructure_fault(exc) is None


def test_an_explicit_cause_is_looked_through_but_an_accidental_context_is_not():
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError as inner:
            raise RuntimeError("could not store the attachment") from inner
    except RuntimeError as wrapped:
        assert infrastructure_fault(wrapped) == "storage"
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError:
            raise ValueError("a bug while handling it")
    except ValueError as during:
        assert infrastructure_fault(during) is None


def test_real_faults_from_a_read_only_database_and_a_closed_port(tmp_path):
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")   # root ignores file modes
    with pytest.raises(sa_exc.OperationalError) as read_only, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('maria.rossi@patient.example.net')"))
    assert infrastructure_fault(read_only.value) == "database"
    assert PATIENT not in describe(read_only.value) and "INSERT" not in describe(read_only.value)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
                           connect_args={"connect_timeout": 3})
    with pytest.raises(sa_exc.OperationalError) as refused:
        engine.connect()
    assert infrastructure_fault(refused.value) == "database"
    assert "refused" in describe(refused.value).lower()


def test_describe_never_quotes_sql_parameters_file_names_or_addresses():
    line = describe(_operational())
    assert line == "Exception: server closed the connection unexpectedly"
    assert describe(OSError(errno.EROFS, "Read-only file system", "/docs/referto_maria_rossi.pdf")) == \
        "OSError: [Errno 30] Read-only file system"
    assert PATIENT not in describe(SendError(f"SMTP x:25: every recipient was refused: {PATIENT} (550)",
                                             permanent=True))
    assert describe(ValueError(f"bad value {PATIENT}")) == "ValueError"


def test_redaction_keeps_our_message_ids_and_hides_addresses():
    text_in = (f"message <SO-2026-00042.0123abcd4567.0@hospital.example.org> refused for {PATIENT} "
               f"and <{PATIENT}>; notice <mailbot.delivery-failed.7.1.0@hospital.example.org>")
    out = redact_addresses(text_in)
    assert PATIENT not in out and out.count("<address>") == 2
    assert "<SO-2026-00042.0123abcd4567.0@hospital.example.org>" in out
    assert "<mailbot.delivery-failed.7.1.0@hospital.example.org>" in out


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    outages = Outages(max_backoff_seconds=8, places={"database": "postgresql://mailbot@db/mailbot"})
    caplog.set_level(logging.INFO, logger="mailbot.outages")
    assert outages.backoff() == 0 and not outages.ok("database")
    for _ in range(6):
        outages.failed("database", _operational())
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "database (postgresql://mailbot@db/mailbot) unavailable" in caplog.records[0].getMessage()
    assert outages.down() == ["database"] and outages.is_down("database")
    assert outages.backoff() == 8                       # 1, 2, 4, 8, 16 -> capped at 8
    assert outages.backoff(("mailbox",)) == 0           # only the services asked about count
    assert outages.ok("database") and not outages.ok("database")
    assert len(caplog.records) == 2 and "available again" in caplog.records[1].getMessage()
    assert outages.backoff() == 0 and outages.down() == []


def test_backoff_doubles_and_is_capped_at_thirty_minutes():
    policy = RetryPolicy(base_seconds=60, max_seconds=1800)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 50)] == \
        [60, 120, 240, 480, 960, 1800, 1800]
    assert RetryPolicy(1, 2).delay(10_000) == timedelta(seconds=2)


def test_delivery_config_old_key_accepted_with_a_warning_and_the_cap_enforced(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="mailbot.config")
    config = load_config(local_config(tmp_path, "\n[delivery]\nmax_attempts = 8\n"))
    assert config.delivery.alert_after_minutes == 240 and config.delivery.retry_max_seconds == 1800
    assert "max_attempts is deprecated" in caplog.text
    with pytest.raises(ConfigError, match="retry_max_seconds"):
        load_config(local_config(tmp_path, "\n[delivery]\nretry_max_seconds = 3600\n"))


def test_an_unsupported_database_url_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(LOCAL_CONFIG.format(rules=RULES).replace('sqlite:///mailbot.db', 'mysql://u:secret@db/x'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "database.url" in str(err.value) and "mysql" in str(err.value) and "secret" not in str(err.value)


LIST_MARKS = ["Mailing-List: contact list-help@lists.example.org; run by ezmlm",
              "List-Post: <mailto:list@lists.example.org>",
              "List-Subscribe: <mailto:list-ctl@lists.example.org?body=subscribe>",
              "List-Help: <mailto:list-ctl@lists.example.org?body=help>",
              "X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]",
              "X-Mailman-Version: 2.1.39",
              "X-Loop: list@lists.example.org"]


@pytest.mark.parametrize("header", LIST_MARKS)
def test_list_headers_mark_mail_as_automatic(header):
    raw = (f"From: Some List <neko-admin@lists.example.org>\r\nTo: second.opinion@hospital.example.org\r\n"
           f"Subject: You are not a member\r\nMessage-ID: <1@lists.example.org>\r\n{header}\r\n\r\n"
           "You are not a member of this list.\r\n").encode()
    assert automatic_reason(parse_message(raw), {"second.opinion@hospital.example.org"}) in ("mailing_list", "loop")


def test_a_person_writing_is_not_automatic():
    raw = (b"From: Maria <maria.rossi@patient.example.net>\r\nTo: second.opinion@hospital.example.org\r\n"
           b"Subject: Second opinion\r\nMessage-ID: <2@patient.example.net>\r\n\r\nHello.\r\n")
    assert automatic_reason(parse_message(raw), {"second.opinion@hospital.example.org"}) is None
