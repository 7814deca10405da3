"""Delivery is never given up silently. The SMTP sink stopped for longer than a
day of retries, a recipient refused for good (5xx), a full outbox folder: nothing is dropped,
`once` says work remains, the admins are told once, and `mailbot outbox` shows and requeues
without showing an address."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import select

from faultkit import tmpfs
from mailbot.app import build_app
from mailbot.cli import main
from mailbot.clock import FixedClock
from mailbot.config import load_config
from mailbot.daemon import Worker
from mailbot.store.models import DeliveryAlert, Event, OutboxMessage
from office import Office, patient_mail, plain_text
from servers.smtp_sink import SmtpSink
from test_cli import local_config

ADMINS = ["laura.fontana@example.org", "office.desk@example.org"]   # the admins of rules/staff.toml


def request(n: int) -> bytes:
    return patient_mail(f"Patient {n} <patient{n}@patient.example.net>", "Information",
                        "Good morning, how can I ask for a second opinion?")


def rows(app) -> list[OutboxMessage]:
    with app.sessions() as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_smtp_down_longer_than_a_day_of_retries_then_every_reply_goes_once(tmp_path, imap_account, db_url,
                                                                            monkeypatch):
    sink = SmtpSink().start()
    office = Office(tmp_path, imap_account, sink, db_url, monkeypatch)
    sink.stop()
    for n in range(3):
        office.deliver(request(n))
    assert office.once() == 1                    # processed, but the replies are undelivered
    assert office.once() == 1
    assert imap_account.messages("INBOX") == [] and imap_account.messages("Quarantine") == []

    clock = FixedClock(datetime.now(timezone.utc))
    app = build_app(load_config(office.config), clock=clock)
    worker = Worker(app)
    try:
        for _ in range(48):                      # a day in half hours, far more than the old 8 attempts
            clock.advance(minutes=30)
            worker.cycle()
        replies = [r for r in rows(app) if r.purpose.startswith("requestor/")]
        assert len(replies) == 3 and all(r.status == "queued" and r.attempts > 8 for r in replies), \
            [(r.status, r.attempts) for r in replies]
        notices = [r for r in rows(app) if r.purpose == "admin/notice"]
        assert sorted(r.recipients[0] for r in notices) == ADMINS     # told once, not every round
        with app.sessions() as s:
            assert len(s.execute(select(DeliveryAlert)).scalars().all()) == 3 + len(ADMINS)

        sink = SmtpSink(port=sink.port).start()   # the server is back
        try:
            clock.advance(minutes=30)
            report = worker.cycle()
            assert report.delivery.sent == 3 + len(ADMINS) and report.undelivered == 0
            worker.cycle()
            assert main(["--config", str(office.config), "once"]) == 0
        finally:
            sink.stop()
    finally:
        worker.close()
    received = [m.email for m in sink.messages]
    assert sorted(m["To"] for m in received) == ADMINS + [f"patient{n}@patient.example.net" for n in range(3)]
    assert len({m["Message-ID"] for m in received}) == 3 + len(ADMINS)
    notice = next(m for m in received if m["To"] == ADMINS[0])
    body = plain_text(notice)
    refs = sorted({r.subject.split("]")[0].strip("[") for r in replies})
    assert all(ref in body for ref in refs) and "@patient.example.net" not in body
    assert "mail not delivered for hours" in notice["Subject"] or "posta non consegnata" in notice["Subject"]


def test_a_recipient_refused_for_good_fails_that_row_and_tells_the_admins(tmp_path, imap_account, db_url,
                                                                         monkeypatch, capsys):
    sink = SmtpSink().start()
    try:
        office = Office(tmp_path, imap_account, sink, db_url, monkeypatch)
        sink.refuse_recipient("patient0@patient.example.net")
        office.deliver(request(0))
        office.deliver(request(1))
        assert office.once() == 1                # a reply failed this cycle
        app = office.app()
        failed = [r for r in rows(app) if r.status == "failed"]
        assert len(failed) == 1 and "550" in failed[0].last_error
        assert "patient0@" not in failed[0].last_error
        ref = failed[0].subject.split("]")[0].strip("[")
        notices = [m.email for m in sink.messages if m.rcpt_tos[0] in ADMINS]
        assert len(notices) == len(ADMINS)
        notice = notices[0]
        assert ref in notice["Subject"] and f"outbox retry {failed[0].id}" in plain_text(notice)
        assert "patient0@" not in plain_text(notice)
        with app.sessions() as s:
            assert s.execute(select(Event).where(Event.kind == "delivery_failed")).scalars().all()

        capsys.readouterr()
        assert office.cli("outbox", "--state", "failed") == 0
        listing = capsys.readouterr().out
        assert ref in listing and "requestor/instructions" in listing and "550" in listing
        assert "@patient.example.net" not in listing
        assert office.cli("outbox") == 0
        assert "@patient.example.net" not in capsys.readouterr().out

        sink.clear()                              # the address works again (and the sink forgets)
        assert office.cli("outbox", "retry", str(failed[0].id)) == 0
        assert office.once() == 0
        assert [m.rcpt_tos[0] for m in sink.messages] == ["patient0@patient.example.net"]
        assert office.cli("outbox", "retry", str(failed[0].id)) == 1   # sent: never sent twice
        assert office.cli("outbox", "retry", "--all-failed") == 0
        assert "no failed outgoing mail" in capsys.readouterr().err
    finally:
        sink.stop()


def test_a_full_outbox_folder_keeps_the_reply_queued_and_leaves_no_partial_file(tmp_path):
    import mailbox
    config = local_config(tmp_path, "\n[delivery]\nretry_base_seconds = 1\nretry_max_seconds = 1\n")
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(patient_mail("Maria <maria@example.net>", "Info", "How can I ask for a second opinion?"))
    with tmpfs(tmp_path / "out", size="256k") as out:
        filler = out / "filler"
        try:
            filler.write_bytes(b"x" * (512 * 1024))   # fill the file system to the last block
        except OSError:
            pass
        assert main(["--config", str(config), "once"]) == 1
        assert [p.name for p in out.iterdir()] == ["filler"]        # no partial .tmp, no lone sidecar
        app = build_app(load_config(config))
        (row,) = rows(app)
        assert row.status == "queued" and "No space left" in row.last_error
        filler.unlink()
        time.sleep(1.1)                            # the next attempt is due after the 1 s backoff
        assert main(["--config", str(config), "once"]) == 0
        assert len(list(out.glob("*.eml"))) == 1 and len(list(out.glob("*.json"))) == 1
        assert [r.status for r in rows(app)] == ["sent"]


def test_once_removes_what_crashes_left_in_the_store_and_the_outbox(tmp_path):
    import hashlib
    import os
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = proc.pid                                   # a writer that is gone
    config = local_config(tmp_path)
    digest = hashlib.sha256(b"half a document").hexdigest()
    store_tmp = tmp_path / "docs" / digest[:2] / f"{digest}.tmp{dead}"
    outbox_tmp = tmp_path / "out" / f".tmp-{dead}-0123abcd"
    young_orphan = tmp_path / "docs" / "ab" / ("ab" + "0" * 62)     # may be about to be committed
    for path in (store_tmp, outbox_tmp, young_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    assert main(["--config", str(config), "once"]) == 0
    assert not store_tmp.exists() and not outbox_tmp.exists()
    assert young_orphan.exists()                      # an hour's grace: the sweep is safe at any time
    old = time.time() - 7200
    os.utime(young_orphan, (old, old))
    assert main(["--config", str(config), "once"]) == 0
    assert not young_orphan.exists()
