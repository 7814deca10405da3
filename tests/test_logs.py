"""The log lines an operator reads: office time with its offset, JSON for collectors, no address."""

from __future__ import annotations

import json
import logging
import re
from zoneinfo import ZoneInfo

from mailbot.cli.logs import JsonFormatter, TextFormatter


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("mailbot.outbox.queue", logging.INFO, __file__, 1, message, args, None)
    entry.created = 1_780_000_000.25          # 2026-05-28 20:26:40.250 UTC: summer time in Rome
    entry.__dict__.update(extra)
    return entry


def test_text_lines_are_in_the_office_time_with_its_offset():
    formatter = TextFormatter()
    formatter.zone = ZoneInfo("Europe/Rome")
    line = formatter.format(record("sent %s %s %s", "SO-2026-00042", "requestor/received", "<SO-2026-00042.ab.0@x.org>"))
    assert line == ("2026-05-28T22:26:40.250+02:00 INFO mailbot.outbox.queue: "
                    "sent SO-2026-00042 requestor/received <SO-2026-00042.ab.0@x.org>")


def test_json_lines_parse_carry_their_fields_and_no_address():
    formatter = JsonFormatter()
    formatter.zone = ZoneInfo("America/New_York")
    line = formatter.format(record("could not reach %s for %s", "anna.rossi@patient.example.net", "SO-2026-00042",
                                   event="mail_sent", case="SO-2026-00042", message_id="<mailbot.digest.2026-05-28.0@x.org>",
                                   note="from Anna <anna.rossi@patient.example.net>"))
    entry = json.loads(line)
    assert entry["time"] == "2026-05-28T16:26:40.250-04:00" and entry["level"] == "INFO"
    assert entry["message"] == "could not reach <address> for SO-2026-00042"
    assert entry["event"] == "mail_sent" and entry["case"] == "SO-2026-00042"
    assert entry["message_id"] == "<mailbot.digest.2026-05-28.0@x.org>"      # our own Message-IDs stay
    assert "anna.rossi" not in line and re.search(r"<address>", entry["note"])


def test_the_scheduler_says_nothing_at_info():
    from mailbot.cli.logs import setup_logging
    setup_logging()
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
    assert logging.getLogger("apscheduler").isEnabledFor(logging.WARNING)


def test_the_office_own_addresses_and_notice_ids_stay_and_patients_do_not():
    from mailbot.faults import keep_office_addresses, redact_addresses
    from mailbot.outbox.ids import new_message_id

    keep_office_addresses(["second.opinion@hospital.example.org", "office-login@mail.hospital.example.org"])
    notice_id = new_message_id("hospital.example.org")
    line = redact_addresses(f"mailbox office-login@mail.hospital.example.org refused; sent - admin/notice {notice_id} "
                            "to maria.rossi@patient.example.net and abcdefghijklmnopqrstuv@patient.example.net")
    assert "office-login@mail.hospital.example.org" in line and notice_id in line
    assert "patient.example.net" not in line and line.count("<address>") == 2
