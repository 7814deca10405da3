"""MaildirMailbox on a real Maildir in a temp dir: order, keys, Maildir++ moves, polling."""

from __future__ import annotations

import mailbox
import os
import threading
import time

import pytest

from mailbot.errors import MailboxError
from mailbot.mailbox.maildir import MaildirMailbox


def message(n: int) -> bytes:
    return f"From: p{n}@example.com\nSubject: request {n}\nMessage-ID: <m{n}@example.com>\n\nbody {n}\n".encode()


def deliver(path, raw: bytes, *, mtime: float | None = None, seen: bool = False) -> str:
    """Deliver like an MDA (new/), or like a mail client that already read it (cur/)."""
    box = mailbox.Maildir(path, factory=None, create=True)
    msg = mailbox.MaildirMessage(raw)
    if seen:
        msg.set_subdir("cur")
        msg.add_flag("S")
    key = box.add(msg)
    if mtime is not None:
        file = path / box._lookup(key)
        os.utime(file, (mtime, mtime))
    return key


def test_creates_the_maildir(tmp_path):
    MaildirMailbox(tmp_path / "inbox")
    assert all((tmp_path / "inbox" / sub).is_dir() for sub in ("new", "cur", "tmp"))


def test_waiting_is_oldest_first_from_new_and_cur(tmp_path):
    path = tmp_path / "inbox"
    now = time.time()
    k2 = deliver(path, message(2), mtime=now - 50)
    k1 = deliver(path, message(1), mtime=now - 100, seen=True)
    k3 = deliver(path, message(3), mtime=now - 10)
    box = MaildirMailbox(path)
    found = list(box.waiting())
    assert [m.key for m in found] == [k1, k2, k3]
    assert found[0].raw == mailbox.Maildir(path, factory=None).get_bytes(k1)
    assert b"body 2" in found[1].raw


def test_same_mtime_is_ordered_by_name(tmp_path):
    path = tmp_path / "inbox"
    keys = [deliver(path, message(n), mtime=1_700_000_000) for n in range(5)]
    assert [m.key for m in MaildirMailbox(path).waiting()] == sorted(keys)


def test_moves_to_maildirplusplus_subfolders(tmp_path):
    path = tmp_path / "inbox"
    k1, k2, k3 = (deliver(path, message(n), mtime=1_700_000_000 + n) for n in (1, 2, 3))
    box = MaildirMailbox(path)
    box.move_to_processed(k1)
    box.move_to_quarantine(k2)
    box.move_to_processed(k1)  # a retry after a crash: harmless
    assert [m.key for m in box.waiting()] == [k3]
    md = mailbox.Maildir(path, factory=None)
    assert sorted(md.list_folders()) == ["Processed", "Quarantine"]
    assert (path / ".Processed" / "maildirfolder").exists()
    assert md.get_folder("Processed").get_bytes(k1).endswith(b"body 1\n")
    assert list(md.get_folder("Quarantine").keys()) == [k2]


def test_unknown_and_malicious_keys_are_refused(tmp_path):
    box = MaildirMailbox(tmp_path / "inbox")
    with pytest.raises(MailboxError, match="not in the Maildir"):
        box.move_to_processed("1700000000.M1P1.nohost")
    for bad in ("../../etc/passwd", ".Processed", ""):
        with pytest.raises(MailboxError, match="not a maildir key"):
            box.move_to_quarantine(bad)


def test_wait_for_mail_polls(tmp_path):
    path = tmp_path / "inbox"
    deliver(path, message(1))
    box = MaildirMailbox(path)
    started = time.monotonic()
    assert box.wait_for_mail(0.4) is False  # a message already there is not news
    assert time.monotonic() - started >= 0.35
    threading.Timer(0.2, deliver, args=(path, message(2))).start()
    assert box.wait_for_mail(5) is True
    assert len(list(box.waiting())) == 2
    assert box.wait_for_mail(0.1) is False  # both listed: nothing new
    deliver(path, message(3))  # arrives between the sweep and the wait: still news
    assert box.wait_for_mail(5) is True


def test_open_mailbox_picks_maildir_from_config(tmp_path):
    from mailbot.config import Config
    from mailbot.mailbox import open_mailbox

    config = Config.model_validate({
        "office": {"address": "so@example.org"},
        "maildir": {"path": "mail/inbox"},
        "outbox": {"dir": "out"},
        "payment": {"beneficiary": "H", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"},
        "base_dir": tmp_path,
    })
    box = open_mailbox(config)
    assert isinstance(box, MaildirMailbox) and box.path == tmp_path / "mail" / "inbox"
    assert (tmp_path / "mail" / "inbox" / "new").is_dir()
