"""End-to-end harness: a config pointing at the private Dovecot, the SMTP sink and a database,
`mailbot once` run through the CLI, and helpers to write patient emails and read replies."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

from mailbot.cli import main as mailbot_main
from mailbot.resources import default_rules_dir

OFFICE_ADDRESS = "second.opinion@hospital.example.org"


def write_config(path: Path, *, imap, smtp, db_url: str, storage: Path, delivery: str = "",
                 scheduler: str = "") -> Path:
    path.write_text(f"""
[office]
name = "IEO Second Opinion"
address = "{OFFICE_ADDRESS}"
case_prefix = "SO"
timezone = "Europe/Rome"
languages = ["en", "it"]

[imap]
host = "{imap.host}"
port = {imap.port}
security = "{imap.security}"
username = "{imap.username}"
password_env = "TEST_IMAP_PASSWORD"
poll_seconds = 1

[smtp]
host = "{smtp.host}"
port = {smtp.port}
security = "none"

[delivery]
retry_base_seconds = 1
retry_max_seconds = 2
{delivery}
[scheduler]
outage_retry_max_seconds = 2
{scheduler}

[database]
url = "{db_url}"

[storage]
dir = "{storage}"

[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"

[rules]
dir = "{default_rules_dir()}"
""", encoding="utf-8")
    return path


def patient_mail(sender: str, subject: str, body: str, attachments: list[tuple[str, bytes]] = (), *,
                 in_reply_to: str = "", references: str = "", ctype: str = "application/pdf") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = OFFICE_ADDRESS
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="patient.example.net")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    msg.set_content(body)
    for name, data in attachments:
        kind = ctype
        if name.endswith((".jpg", ".jpeg")):
            kind = "image/jpeg"
        elif name.endswith(".docx"):
            kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        maintype, subtype = kind.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def plain_text(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_text(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def attachment_names(msg: EmailMessage) -> list[str]:
    return [part.get_filename() for part in msg.iter_attachments()]


class Office:
    """One running office: deliver mail into Dovecot, run `mailbot once`, read what was sent."""

    def __init__(self, tmp_path: Path, imap_account, smtp_sink, db_url: str, monkeypatch, **extra: str):
        """`extra`: delivery="key = value lines", scheduler="..." added to those sections."""
        self.imap = imap_account
        self.sink = smtp_sink
        monkeypatch.setenv("TEST_IMAP_PASSWORD", imap_account.password)
        self.config = write_config(tmp_path / "config.toml", imap=imap_account.imap_config("none"),
                                   smtp=smtp_sink, db_url=db_url, storage=tmp_path / "documents", **extra)
        self.storage = tmp_path / "documents"
        self._seen = 0

    def deliver(self, raw: bytes) -> None:
        self.imap.deliver(raw)

    def once(self) -> int:
        return mailbot_main(["--config", str(self.config), "once"])

    def cli(self, *args: str) -> int:
        return mailbot_main(["--config", str(self.config), *args])

    def new_replies(self) -> list[EmailMessage]:
        """Messages the sink received since the last call."""
        fresh = self.sink.messages[self._seen:]
        self._seen = len(self.sink.messages)
        return [email.message_from_bytes(m.content, policy=policy.default) for m in fresh]

    def app(self):
        from mailbot.app import build_app
        from mailbot.config import load_config
        return build_app(load_config(self.config))
