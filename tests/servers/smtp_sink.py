"""An aiosmtpd server on 127.0.0.1 that keeps what it receives and fails on request.

`fail_next(n, code)` answers the next n DATA commands with an error (451: try later, 550: never),
`refuse_recipient(addr)` answers RCPT TO for that address with 550. The TLS variant offers
STARTTLS and AUTH (after STARTTLS) with a fixed username/password.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from . import free_port


@dataclass
class SinkMessage:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # as received, CRLF line ends

    @property
    def email(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass
class _Handler:
    messages: list[SinkMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    failures: list[int] = field(default_factory=list)  # codes for the next DATA commands
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            code = self.failures.pop(0) if self.failures else None
            if code is None:
                self.messages.append(SinkMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                                 bytes(envelope.content)))
        if code is not None:
            enhanced = "4.3.0" if code < 500 else "5.7.1"
            text = "try again later" if code < 500 else "message refused"
            return f"{code} {enhanced} Test sink: {text}"
        return "250 2.0.0 OK: queued"


class SmtpSink:
    """Handle for tests: `host`, `port`, `messages`, `clear()`, `fail_next()`, `refuse_recipient()`."""

    host = "127.0.0.1"

    def __init__(self, *, tls_cert: tuple[Path, Path] | None = None,
                 username: str = "", password: str = "", port: int | None = None):
        """`port`: listen there (a sink started again where a stopped one was), else a free one."""
        self.port = port or free_port()
        self._handler = _Handler()
        self.username, self.password = username, password
        self.ca_file = str(tls_cert[0]) if tls_cert else ""
        kwargs = {}
        if tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
            kwargs.update(tls_context=context, require_starttls=False)
        if username:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=bool(tls_cert))
        self._controller = Controller(self._handler, hostname=self.host, port=self.port, **kwargs)
        self.auth_logins: list[str] = []

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.username
              and auth_data.password.decode() == self.password)
        if ok:
            self.auth_logins.append(self.username)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[SinkMessage]:
        return self._handler.messages

    def clear(self) -> None:
        self._handler.messages.clear()
        self._handler.failures.clear()
        self._handler.refused.clear()

    def fail_next(self, n: int = 1, code: int = 451) -> None:
        """Answer the next `n` DATA commands with `code` (4xx temporary, 5xx permanent)."""
        self._handler.failures.extend([code] * n)

    def refuse_recipient(self, address: str) -> None:
        """Answer RCPT TO:<address> with 550 from now on."""
        self._handler.refused.add(address.lower())

    def smtp_config(self, **overrides):
        """An SmtpConfig for this sink (plain, or STARTTLS + AUTH for the TLS variant)."""
        from mailbot.config import SmtpConfig

        values = dict(host=self.host, port=self.port, timeout_seconds=10,
                      security="starttls" if self.ca_file else "none",
                      ca_file=self.ca_file, username=self.username, password=self.password)
        values.update(overrides)
        return SmtpConfig(**values)
