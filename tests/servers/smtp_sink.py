"""An aiosmtpd server on 127.0.0.1 that keeps what it receives and fails on request.

`fail_next(n, code)` answers the next n DATA commands with an error (451: try later, 550: never),
`refuse_recipient(addr)` answers RCPT TO for that address with 550; `relay_to(remote, bounce)` makes
it a relay that delivers onwards to another sink and turns that one's refusals into real DSNs. The TLS variant offers
STARTTLS and AUTH (after STARTTLS) with a fixed username/password. The OAuth2 variant
(`introspection_url=...`) requires AUTH XOAUTH2 or OAUTHBEARER on the plain loopback port and
checks each token by POSTing it to that RFC 7662 introspection endpoint, as Dovecot does:
inactive -> 535 (after the JSON error challenge), endpoint failing -> 454 (temporary).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import smtplib
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Callable

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
    relay: tuple[str, int] | None = None               # relay accepted mail onwards, over SMTP
    bounce: Callable[[bytes], None] | None = None      # where the DSNs for refused recipients go

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
        if self.relay is not None:
            self._relay(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        return "250 2.0.0 OK: queued"

    def _relay(self, mail_from: str, recipients: list[str], content: bytes) -> None:
        """Deliver onwards as an MTA does, one recipient at a time; a recipient the next server
        refuses for good gets the sender an RFC 3464 bounce built from that server's reply."""
        for rcpt in recipients:
            try:
                with smtplib.SMTP(*self.relay, timeout=10) as client:
                    client.sendmail(mail_from, [rcpt], content)
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients[rcpt]
                if code >= 500 and self.bounce is not None and mail_from:
                    self.bounce(delivery_status_notification(mail_from, rcpt, code, text.decode(), content))


def delivery_status_notification(mail_from: str, rcpt: str, code: int, text: str, original: bytes,
                                 reporting_mta: str = "relay.test.example", message_id: str = "") -> bytes:
    """The bounce a Postfix-like MTA sends: multipart/report with the returned headers."""
    headers = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    status = text.split(" ", 1)[0] if text[:1] in "45" and "." in text.split(" ", 1)[0] else f"{code // 100}.0.0"
    boundary = "dsn-boundary-" + (message_id or make_msgid()).strip("<>").split("@")[0][:20]
    return (f"""From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>
To: {mail_from}
Subject: Undelivered Mail Returned to Sender
Date: {formatdate(localtime=False)}
Message-ID: {message_id or make_msgid(domain=reporting_mta)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {reporting_mta}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host 127.0.0.1 said: {code} {text} (in reply to RCPT TO command)

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; {reporting_mta}
Arrival-Date: {formatdate(localtime=False)}

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; 127.0.0.1
Diagnostic-Code: smtp; {code} {text}

--{boundary}
Content-Type: text/rfc822-headers

{headers}

--{boundary}--
""").replace("\n", "\r\n").encode()


TEMPORARY = "454 4.7.0 Temporary authentication failure"


@dataclass
class _OAuthHandler(_Handler):
    """Adds the XOAUTH2 and OAUTHBEARER mechanisms (aiosmtpd finds `auth_<MECH>` on the handler)."""

    introspection_url: str = ""
    logins: list[tuple[str, str, str]] = field(default_factory=list)   # (user, mechanism, token)
    refusals: list[str] = field(default_factory=list)                  # mechanisms refused

    async def auth_XOAUTH2(self, server, args):
        return await self._login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._login(server, args, "OAUTHBEARER")

    async def _login(self, server, args, mechanism: str):
        data = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        user, token = _parse_sasl(bytes(data).decode(errors="replace"), mechanism)
        try:
            username = self._introspect(token)
        except (OSError, ValueError):
            return AuthResult(success=False, handled=False, message=TEMPORARY)
        if username is None or username != user:
            self.refusals.append(mechanism)
            error = json.dumps({"status": "invalid_token", "schemes": "bearer", "scope": "smtp"})
            await server.challenge_auth(error)   # the client answers with an empty line / %x01
            return AuthResult(success=False, handled=False)
        self.logins.append((user, mechanism, token))
        return AuthResult(success=True, auth_data=user)

    def _introspect(self, token: str) -> str | None:
        body = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(self.introspection_url, data=body, timeout=5) as response:
            answer = json.load(response)
        return answer.get("username") if answer.get("active") else None


def _parse_sasl(text: str, mechanism: str) -> tuple[str, str]:
    """(user, token) from an XOAUTH2 or OAUTHBEARER initial response."""
    fields = text.split("\x01")
    user, token = "", ""
    if mechanism == "OAUTHBEARER":
        gs2 = fields[0].split(",")
        user = next((p[2:] for p in gs2 if p.startswith("a=")), "").replace("=2C", ",").replace("=3D", "=")
    for f in fields:
        if f.startswith("user="):
            user = f[5:]
        elif f.lower().startswith("auth=bearer "):
            token = f[12:]
    return user, token


class SmtpSink:
    """Handle for tests: `host`, `port`, `messages`, `clear()`, `fail_next()`, `refuse_recipient()`."""

    host = "127.0.0.1"

    def __init__(self, *, tls_cert: tuple[Path, Path] | None = None,
                 username: str = "", password: str = "", introspection_url: str = "",
                 port: int | None = None):
        """`port`: listen there (a sink started again where a stopped one was), else a free one."""
        self.port = port or free_port()
        self._handler = _OAuthHandler(introspection_url=introspection_url) if introspection_url else _Handler()
        self.username, self.password = username, password
        self.ca_file = str(tls_cert[0]) if tls_cert else ""
        kwargs = {}
        if tls_cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls_cert[0]), str(tls_cert[1]))
            kwargs.update(tls_context=context, require_starttls=False)
        if username:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=bool(tls_cert))
        if introspection_url:   # 127.0.0.1 only: AUTH without TLS, and no mail without AUTH
            kwargs.update(auth_require_tls=False, auth_required=True)
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
        """Stop serving (a test may do it early to fake an unreachable server)."""
        if self._controller._thread is not None:
            self._controller.stop()

    @property
    def oauth_logins(self) -> list[tuple[str, str, str]]:
        """(user, mechanism, token) of every accepted OAuth2 login, in order."""
        return self._handler.logins

    @property
    def oauth_refusals(self) -> list[str]:
        return self._handler.refusals

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

    def relay_to(self, remote: "SmtpSink", bounce: Callable[[bytes], None]) -> None:
        """From now on act as a relay: accept mail, keep it, and deliver each recipient onwards to
        `remote` over SMTP; a recipient `remote` refuses (its `refuse_recipient`) makes a DSN to the
        envelope sender, handed to `bounce` (e.g. a Dovecot delivery into the sender's mailbox)."""
        self._handler.relay = (remote.host, remote.port)
        self._handler.bounce = bounce

    def smtp_config(self, **overrides):
        """An SmtpConfig for this sink (plain, or STARTTLS + AUTH for the TLS variant)."""
        from mailbot.config import SmtpConfig

        values = dict(host=self.host, port=self.port, timeout_seconds=10,
                      security="starttls" if self.ca_file else "none",
                      ca_file=self.ca_file, username=self.username, password=self.password)
        values.update(overrides)
        return SmtpConfig(**values)
