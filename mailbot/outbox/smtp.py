"""The production Transport: SMTP submission with aiosmtplib behind a small synchronous facade.

The outbox flushes messages in batches from synchronous code (and maybe from inside an asyncio
program), so the client runs on a private event loop in its own thread; one connection is reused
for a batch and reopened when the server dropped it. Failures are sorted for the outbox's retry
logic: connection trouble and 4xx are temporary, 5xx is permanent; connection trouble (and 421)
also marks the error `unreachable`, so the queue stops the batch instead of trying every row.
Errors name addresses and message ids only, never content. With smtp.auth = "oauth2" the login
is SASL XOAUTH2 or OAUTHBEARER with a token from a mailbot.auth TokenSource (a refused token is
refreshed once).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import threading
from typing import Awaitable, TypeVar

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

from mailbot.auth.base import AccessToken, TokenError, TokenSource
from mailbot.config import SmtpConfig
from mailbot.errors import ConfigError, SendError

log = logging.getLogger(__name__)
T = TypeVar("T")


class PartialDeliveryError(SendError):
    """Delivered to some recipients, refused for `refused` ({address: "code text"}).

    Permanent, because retrying would deliver a second copy to those who already have it.
    """

    def __init__(self, message_id: str, refused: dict[str, str], delivered: list[str]):
        self.refused = refused
        self.delivered = delivered
        listed = "; ".join(f"{addr} ({why})" for addr, why in refused.items())
        super().__init__(f"message {message_id} was delivered to {len(delivered)} recipient(s) but "
                         f"refused for: {listed}", permanent=True)


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_file:
        context.load_verify_locations(cafile=config.ca_file)
    if not config.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _auth_oauthbearer(smtp: aiosmtplib.SMTP, user: str, token: str) -> None:
    """RFC 7628 OAUTHBEARER (aiosmtplib has only XOAUTH2): on an error challenge the client
    answers %x01 to get the final reply."""
    gs2 = "n,a=" + user.replace("=", "=3D").replace(",", "=2C") + ","
    initial = base64.b64encode(f"{gs2}\x01auth=Bearer {token}\x01\x01".encode())
    response = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", initial)
    if response.code == 334:
        response = await smtp.execute_command(base64.b64encode(b"\x01"))
    if response.code != 235:
        raise SMTPAuthenticationError(response.code, response.message)


class SmtpTransport:
    """Delivers through the server in `config`; call close() when the batch is done."""

    def __init__(self, config: SmtpConfig, *, tokens: TokenSource | None = None):
        """`tokens`: where access tokens come from when smtp.auth = "oauth2"."""
        if config.auth == "oauth2" and tokens is None:
            raise ConfigError("smtp.auth = \"oauth2\" needs a token source (open the transport with "
                              "mailbot.outbox.open_transport)")
        self.config = config
        self._tokens = tokens
        self.logged_in_with = ""    # how the last connection logged in, for `mailbot auth check`
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._smtp: aiosmtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"SMTP {self.config.host}:{self.config.port}"

    # -- the private event loop -------------------------------------------------------------------

    def _call(self, coroutine: Awaitable[T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="mailbot-smtp",
                                            daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # -- Transport protocol -----------------------------------------------------------------------

    def send(self, *, sender: str, recipients: list[str], message_id: str, raw: bytes) -> None:
        if not recipients:
            raise SendError(f"message {message_id} has no recipients", permanent=True)
        bad = [a for a in [sender, *recipients] if "@" not in a or any(c in a for c in "\r\n<>")]
        if bad:
            raise SendError(f"message {message_id}: not a plain envelope address: "
                            f"{', '.join(map(repr, bad))}", permanent=True)
        self._call(self._send(sender, list(recipients), message_id, raw))

    def check_login(self) -> str:
        """Connect and log in now; returns how ("no AUTH", "password", or the SASL mechanism)."""
        self._call(self._check_login())
        return self.logged_in_with

    async def _check_login(self) -> None:
        try:
            await self._connection()
        except SMTPAuthenticationError as exc:
            raise SendError(f"{self.where}: login refused ({exc.code} {exc.message}); check "
                            "smtp.username and the password") from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(f"{self.where}: TLS certificate not trusted ({exc.verify_message}); set "
                            "smtp.ca_file to the server's CA certificate") from None
        except (SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise SendError(f"{self.where}: cannot connect: {exc}") from None

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self._call(self._disconnect(polite=True))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            if not self._loop.is_running():
                self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> "SmtpTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- on the loop ------------------------------------------------------------------------------

    async def _connection(self) -> aiosmtplib.SMTP:
        """The open connection if it still answers NOOP, else a new one."""
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.noop()
                return self._smtp
            except (SMTPException, OSError):
                log.info("%s: connection went stale; reconnecting", self.where)
        await self._disconnect(polite=False)
        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.host, port=c.port, timeout=c.timeout_seconds,
            use_tls=c.security == "ssl",
            start_tls=True if c.security == "starttls" else False,
            tls_context=_tls_context(c) if c.security != "none" else None,
            username=c.username if c.username and self._tokens is None else None,
            password=c.secret() if c.username and self._tokens is None else None,
        )
        await smtp.connect()
        try:
            if self._tokens is not None:
                await self._oauth_login(smtp)
            else:
                self.logged_in_with = "password" if c.username else "no AUTH"
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    # -- OAuth2 login -----------------------------------------------------------------------------

    async def _oauth_login(self, smtp: aiosmtplib.SMTP) -> None:
        """SASL XOAUTH2 or OAUTHBEARER; a refused token is refreshed once, a second refusal is
        final. 454 (or 4xx) means the server cannot check tokens now: temporary."""
        user = self.config.username
        mechanism = self.config.oauth2.mechanism.upper()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if mechanism.lower() not in smtp.server_auth_methods:
            raise SendError(f"{self.where}: server does not offer AUTH {mechanism} (it offers: "
                            f"{', '.join(smtp.server_auth_methods) or 'no AUTH'}); set "
                            "smtp.oauth2.mechanism or check smtp.security (AUTH may need TLS)")
        for attempt in (1, 2):
            token = await self._token(force_refresh=attempt == 2)
            try:
                if mechanism == "OAUTHBEARER":
                    await _auth_oauthbearer(smtp, user, token.value)
                else:
                    await smtp.auth_xoauth2(user, token.value)
            except SMTPAuthenticationError as exc:
                said = f"{exc.code} {exc.message}"
                if exc.code < 500:
                    raise SendError(f"{self.where}: the server cannot check OAuth2 tokens just now "
                                    f"({said}); will retry later") from None
                if attempt == 2:
                    raise SendError(
                        f"{self.where}: {mechanism} login refused twice, the second time with a fresh "
                        f"token from {token.provider} ({said}). Check that smtp.username is the mailbox "
                        f"the token is for and that the app may send as it (see the README's Microsoft "
                        f"365 / Google Workspace sections); `mailbot auth check` shows the login.") from None
                log.info("%s: %s token refused (%s); refreshing it once", self.where, mechanism, said)
            else:
                self.logged_in_with = f"{mechanism}, token from {token.provider}" + (
                    f" for {token.identity}" if token.identity else "")
                return

    async def _token(self, force_refresh: bool) -> AccessToken:
        """Tokens may need an HTTP round trip: fetched off the event loop."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, lambda: self._tokens.token(force_refresh=force_refresh))
        except TokenError as exc:
            raise SendError(f"{self.where}: no OAuth2 token: {exc}") from None

    async def _disconnect(self, polite: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if polite and smtp.is_connected:
                await smtp.quit()
        except (SMTPException, OSError):
            pass
        finally:
            smtp.close()

    async def _send(self, sender: str, recipients: list[str], message_id: str, raw: bytes) -> None:
        what = f"message {message_id}"
        try:
            smtp = await self._connection()
        except SMTPAuthenticationError as exc:
            # A setup problem, not this message's: keep it queued until the password is fixed.
            raise SendError(f"{self.where}: login refused ({exc.code} {exc.message}); check "
                            "smtp.username and the password", unreachable=True) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(f"{self.where}: TLS certificate not trusted ({exc.verify_message}); set "
                            "smtp.ca_file to the server's CA certificate", unreachable=True) from None
        except (SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise SendError(f"{self.where}: cannot connect to send {what}: {exc}",
                            unreachable=True) from None
        except SendError as exc:   # an OAuth2 login problem: the setup's, not this message's
            exc.unreachable = True
            raise
        options = ["BODY=8BITMIME"] if not raw.isascii() and smtp.supports_extension("8bitmime") else []
        try:
            refused, _reply = await smtp.sendmail(sender, recipients, raw, mail_options=options)
        except ValueError as exc:  # aiosmtplib refuses an address it cannot send safely
            raise SendError(f"{what}: bad sender or recipient address: {exc}", permanent=True) from None
        except SMTPRecipientsRefused as exc:
            codes = {r.recipient: r.code for r in exc.recipients}
            listed = "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
            raise SendError(f"{self.where}: every recipient of {what} was refused: {listed}",
                            permanent=all(code >= 500 for code in codes.values())) from None
        except SMTPResponseException as exc:
            if exc.code == 421 or exc.code < 400:
                await self._disconnect(polite=False)
            raise SendError(f"{self.where}: {what} refused ({exc.code} {exc.message})",
                            permanent=exc.code >= 500, unreachable=exc.code == 421) from None
        except (SMTPException, OSError, asyncio.TimeoutError) as exc:
            await self._disconnect(polite=False)
            raise SendError(f"{self.where}: connection failed while sending {what}: {exc}",
                            unreachable=True) from None
        if refused:
            delivered = [r for r in recipients if r not in refused]
            log.warning("%s: %s delivered to %d recipient(s), refused for %d",
                        self.where, what, len(delivered), len(refused))
            raise PartialDeliveryError(
                message_id, {addr: f"{resp.code} {resp.message}" for addr, resp in refused.items()},
                delivered)
        log.info("%s: sent %s to %d recipient(s)", self.where, what, len(recipients))
