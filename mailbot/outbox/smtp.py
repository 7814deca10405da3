"""The production Transport: SMTP submission with aiosmtplib behind a small synchronous facade.

The outbox flushes messages in batches from synchronous code (and maybe from inside an asyncio
program), so the client runs on a private event loop in its own thread; one connection is reused
for a batch and reopened when the server dropped it. Failures are sorted for the outbox's retry
logic: connection trouble and 4xx are temporary, 5xx is permanent; connection trouble (and 421)
also marks the error `unreachable`, so the queue stops the batch instead of trying every row.
Errors name addresses and message ids only, never content.
"""

from __future__ import annotations

import asyncio
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

from mailbot.config import SmtpConfig
from mailbot.errors import SendError

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


class SmtpTransport:
    """Delivers through the server in `config`; call close() when the batch is done."""

    def __init__(self, config: SmtpConfig):
        self.config = config
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
            username=c.username or None, password=c.secret() if c.username else None,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

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
