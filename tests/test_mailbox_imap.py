"""ImapMailbox against the private Dovecot (never a mock): order, \\Seen, moves, TLS, reconnects."""

from __future__ import annotations

import threading
import time

import pytest

from mailbot.errors import MailboxError
from mailbot.mailbox.imap import ImapMailbox


def message(n: int, body: str = "Please find my documents attached.") -> bytes:
    return (f"From: Patient {n} <patient{n}@example.com>\r\n"
            f"To: second.opinion@example.org\r\n"
            f"Subject: request {n}\r\n"
            f"Message-ID: <m{n}@example.com>\r\n\r\n{body}\r\n").encode()


@pytest.fixture
def mailbox(imap_account):
    box = ImapMailbox(imap_account.imap_config("none"))
    yield box
    box.close()


def test_waiting_is_oldest_first_and_never_sets_seen(imap_account, mailbox):
    uids = [imap_account.deliver(message(n)) for n in (1, 2, 3)]   # UIDs keep counting across tests
    found = list(mailbox.waiting())
    assert [m.raw for m in found] == [message(1), message(2), message(3)]
    validity = imap_account.uidvalidity("INBOX")
    assert [m.key for m in found] == [f"{validity}:{uid}" for uid in uids]
    assert uids == sorted(uids) and len(set(uids)) == 3
    assert all(b"\\Seen" not in flags for flags in imap_account.flags("INBOX"))
    assert [m.raw for m in mailbox.waiting()] == [message(1), message(2), message(3)]  # still there


def test_waiting_on_an_empty_inbox(mailbox):
    assert list(mailbox.waiting()) == []


@pytest.mark.parametrize("use_move", [None, False], ids=["uid-move", "copy-expunge"])
def test_moves_create_folders_and_leave_the_inbox(imap_account, use_move):
    for n in (1, 2, 3):
        imap_account.deliver(message(n))
    with ImapMailbox(imap_account.imap_config("none"), use_move=use_move) as box:
        first, second, third = list(box.waiting())
        box.move_to_processed(first.key)
        box.move_to_quarantine(second.key)
        box.move_to_processed(first.key)  # a retry after a crash: harmless no-op
        assert [m.key for m in box.waiting()] == [third.key]
    assert {"Processed", "Quarantine"} <= set(imap_account.folders())
    assert imap_account.messages("INBOX") == [message(3)]
    assert imap_account.messages("Processed") == [message(1)]
    assert imap_account.messages("Quarantine") == [message(2)]
    assert all(b"\\Deleted" not in flags for flags in imap_account.flags("Processed"))


def test_moving_into_existing_folders(imap_account, mailbox):
    imap_account.deliver(message(9), folder="Processed")
    imap_account.deliver(message(1))
    (waiting,) = list(mailbox.waiting())
    mailbox.move_to_processed(waiting.key)
    assert imap_account.messages("Processed") == [message(9), message(1)]


def test_stale_uidvalidity_key_is_refused(imap_account):
    imap_account.deliver(message(1), folder="Intake")
    config = imap_account.imap_config("none", folder="Intake")
    with ImapMailbox(config) as box:
        (old,) = list(box.waiting())
    # The folder is recreated: UID 1 is now a different message under a new UIDVALIDITY.
    with imap_account.connect() as client:
        client.delete_folder("Intake")
    imap_account.deliver(message(2), folder="Intake")
    with ImapMailbox(config) as box:
        with pytest.raises(MailboxError, match="older version of the folder"):
            box.move_to_processed(old.key)
        (new,) = list(box.waiting())
        assert new.key != old.key and new.key.endswith(":1") and new.raw == message(2)
    assert imap_account.messages("Intake") == [message(2)]
    assert imap_account.messages("Processed") == []


def test_folder_recreated_under_a_live_connection(imap_account):
    imap_account.deliver(message(1), folder="Intake")
    with ImapMailbox(imap_account.imap_config("none", folder="Intake")) as box:
        (old,) = list(box.waiting())
        with imap_account.connect() as client:
            client.delete_folder("Intake")
        imap_account.deliver(message(2), folder="Intake")
        with pytest.raises(MailboxError):
            box.move_to_processed(old.key)
        assert [m.raw for m in box.waiting()] == [message(2)]
    assert imap_account.messages("Processed") == []


def test_bad_keys_are_refused(mailbox):
    with pytest.raises(MailboxError, match="not an IMAP message key"):
        mailbox.move_to_processed("cur/12345.eml")


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_login_with_each_security_mode(imap_account, security):
    imap_account.deliver(message(1))
    with ImapMailbox(imap_account.imap_config(security)) as box:
        assert [m.raw for m in box.waiting()] == [message(1)]


def test_untrusted_certificate_is_refused_with_advice(imap_account):
    box = ImapMailbox(imap_account.imap_config("ssl", ca_file=""))
    with pytest.raises(MailboxError, match="ca_file"):
        list(box.waiting())


def test_verify_certificate_false_is_allowed(imap_account):
    imap_account.deliver(message(1))
    with ImapMailbox(imap_account.imap_config("starttls", ca_file="", verify_certificate=False)) as box:
        assert len(list(box.waiting())) == 1


def test_wrong_password_says_what_to_check(imap_account):
    box = ImapMailbox(imap_account.imap_config("none", password="wrong"))
    with pytest.raises(MailboxError, match="login refused") as caught:
        list(box.waiting())
    assert "wrong" not in str(caught.value)


def test_missing_folder_says_what_to_check(imap_account):
    box = ImapMailbox(imap_account.imap_config("none", folder="NoSuchFolder"))
    with pytest.raises(MailboxError, match="imap.folder"):
        list(box.waiting())


def test_unreachable_server_is_a_mailbox_error(imap_account):
    from servers import free_port

    box = ImapMailbox(imap_account.imap_config("none", port=free_port()))
    with pytest.raises(MailboxError, match="connection failed"):
        list(box.waiting())


def test_reconnects_after_the_socket_is_killed(imap_account, mailbox):
    imap_account.deliver(message(1))
    imap_account.deliver(message(2))
    (first, second) = list(mailbox.waiting())
    mailbox._client._imap.shutdown()  # the connection dies under us
    mailbox.move_to_processed(first.key)
    mailbox._client.shutdown()
    assert [m.key for m in mailbox.waiting()] == [second.key]
    assert imap_account.messages("Processed") == [message(1)]


def test_reconnects_after_the_server_kicks_us_mid_listing(imap_account, mailbox):
    for n in (1, 2, 3):
        imap_account.deliver(message(n))
    seen = []
    for waiting in mailbox.waiting():
        seen.append(waiting.raw)
        if len(seen) == 1:
            imap_account.kick()
            time.sleep(0.1)
        mailbox.move_to_processed(waiting.key)
    assert seen == [message(1), message(2), message(3)]
    assert imap_account.messages("INBOX") == []
    assert imap_account.messages("Processed") == [message(1), message(2), message(3)]


def test_wait_for_mail_wakes_on_delivery_with_idle(imap_account, mailbox):
    assert list(mailbox.waiting()) == []
    timer = threading.Timer(0.3, imap_account.deliver, args=(message(1),))
    timer.start()
    started = time.monotonic()
    assert mailbox.wait_for_mail(10) is True
    assert time.monotonic() - started < 5
    timer.join()
    assert [m.raw for m in mailbox.waiting()] == [message(1)]


def test_wait_for_mail_times_out_and_ignores_mail_already_listed(imap_account, mailbox):
    imap_account.deliver(message(1))
    assert len(list(mailbox.waiting())) == 1  # listed, not yet moved: not "new"
    started = time.monotonic()
    assert mailbox.wait_for_mail(0.5) is False
    assert 0.4 < time.monotonic() - started < 3
    assert mailbox.wait_for_mail(0.3) is False  # IDLE is issued afresh each call


def test_wait_for_mail_sees_mail_that_came_before_the_call(imap_account, mailbox):
    assert list(mailbox.waiting()) == []
    imap_account.deliver(message(1))
    started = time.monotonic()
    assert mailbox.wait_for_mail(5) is True
    assert time.monotonic() - started < 1


def test_wait_for_mail_survives_a_kick_during_idle(imap_account, mailbox):
    assert list(mailbox.waiting()) == []
    threading.Timer(0.3, imap_account.kick).start()
    threading.Timer(0.8, imap_account.deliver, args=(message(1),)).start()
    assert mailbox.wait_for_mail(10) is True
    assert [m.raw for m in mailbox.waiting()] == [message(1)]


def test_wait_for_mail_polls_without_idle(imap_account):
    with ImapMailbox(imap_account.imap_config("none", idle=False)) as box:
        assert list(box.waiting()) == []
        assert box.wait_for_mail(0.2) is False
        imap_account.deliver(message(1))
        assert box.wait_for_mail(0.2) is True


def test_wait_for_mail_after_the_connection_died(imap_account, mailbox):
    assert list(mailbox.waiting()) == []
    imap_account.kick()
    imap_account.deliver(message(1))
    started = time.monotonic()
    assert mailbox.wait_for_mail(5) is True
    assert time.monotonic() - started < 2


def test_no_message_content_in_logs(imap_account, caplog):
    import logging

    imap_account.deliver(message(1, body="Diagnosis: PATIENT-SECRET-7731"))
    with caplog.at_level(logging.DEBUG):
        with ImapMailbox(imap_account.imap_config("none")) as box:
            for waiting in box.waiting():
                assert b"PATIENT-SECRET-7731" in waiting.raw
                box.move_to_quarantine(waiting.key)
            box._client._imap.shutdown()
            box.wait_for_mail(0.1)
    assert caplog.records and "PATIENT-SECRET" not in caplog.text
    assert "patient1@example.com" not in caplog.text and "request 1" not in caplog.text


def with_id(raw: bytes, message_id: str) -> bytes:
    sep = b"\r\n" if b"\r\n" in raw else b"\n"
    return f"Message-ID: {message_id}".encode() + sep + raw


def test_forget_deletes_by_message_id_from_processed_and_quarantine(imap_account, mailbox):
    for n, mid in ((1, "<keep@x>"), (2, "<gone-1@x>"), (3, "<gone-2@x>")):
        imap_account.deliver(with_id(message(n), mid))
    keys = [m.key for m in mailbox.waiting()]
    mailbox.move_to_processed(keys[0])
    mailbox.move_to_processed(keys[1])
    mailbox.move_to_quarantine(keys[2])
    imap_account.deliver(with_id(message(4), "<gone-1@x>"), folder="Processed")   # a COPY-fallback duplicate
    assert mailbox.forget(["<gone-1@x>", "<gone-2@x>", "<never@x>"]) == 3
    (kept,) = imap_account.messages("Processed")
    assert b"Message-ID: <keep@x>" in kept
    assert imap_account.messages("Quarantine") == []
    imap_account.deliver(message(5))
    assert len(list(mailbox.waiting())) == 1      # the inbox still works after forgetting
