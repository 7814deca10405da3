"""Logging set-up for the command line: what an operator reads, or a log collector parses.

- Every timestamp is in the office's time zone with its UTC offset (`2026-12-01T09:00:00.125+01:00`);
  until the config is read, in the machine's local zone, also with its offset.
- `--log-format json`: one JSON object per line (time, level, logger, message, and the named
  fields a line carries, such as `case`, `purpose`, `message_id`), for journald/Loki/ELK.
- Every line passes `redact_addresses` on its way out: an e-mail address that a library or a
  message slips into a line becomes `<address>` (the robot's own Message-IDs stay), so no
  patient's address reaches a log even by mistake.
- Libraries that talk too much are kept at WARNING: APScheduler ("Job ... executed
  successfully" every few seconds), pypdf (per-file parse chatter), Alembic ("Context impl").
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, tzinfo

from mailbot.faults import redact_addresses

FORMATS = ("text", "json")
QUIET = {"apscheduler": logging.WARNING, "pypdf": logging.ERROR, "alembic": logging.WARNING,
         "aiosmtplib": logging.WARNING, "imapclient": logging.WARNING, "asyncio": logging.WARNING}
# attributes every LogRecord has: anything else on a record came from `extra=` and is a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class _OfficeTime(logging.Formatter):
    zone: tzinfo | None = None   # None: the machine's local zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone) if self.zone else \
            datetime.fromtimestamp(record.created).astimezone()
        return moment.isoformat(timespec="milliseconds")

    def _message(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact_addresses(text)


class TextFormatter(_OfficeTime):
    def format(self, record: logging.LogRecord) -> str:
        return f"{self.formatTime(record)} {record.levelname} {record.name}: {self._message(record)}"


class JsonFormatter(_OfficeTime):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": self._message(record)}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact_addresses(value) if isinstance(value, str) else value
        return json.dumps(entry, ensure_ascii=False, default=str)


_handler: logging.Handler | None = None


def setup_logging(*, verbose: bool = False, log_format: str = "text") -> None:
    """Once, in the CLI entry point. Like `logging.basicConfig`, it leaves a program that set up
    logging itself (an embedder, a test runner) alone, apart from quieting the chatty libraries;
    a second call in one process replaces the handler the first one added."""
    global _handler
    root = logging.getLogger()
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
    if _handler is not None:
        root.removeHandler(_handler)
        _handler = None
    if root.handlers:
        return
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def use_office_zone(zone: tzinfo) -> None:
    """From now on, timestamps in the office's zone (called once the config is read)."""
    if _handler is not None and isinstance(_handler.formatter, _OfficeTime):
        _handler.formatter.zone = zone
