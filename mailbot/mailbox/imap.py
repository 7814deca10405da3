"""The production Mailbox: an IMAP folder, read with BODY.PEEK and emptied only by MOVE after commit.

Design choices, each for the "no message lost, none processed twice" rule:
- keys are "<uidvalidity>:<uid>", and a key from an older UIDVALIDITY is refused rather than
  applied to whatever message now carries that UID;
- messages are fetched one at a time with BODY.PEEK[] (\\Seen is never state, and a mailbox with
  hundreds of large messages is never downloaded at once);
- a dropped connection is reopened once and the operation retried; UID MOVE/COPY of a UID that
  is already gone is a no-op on the server, so a retried move is harmless.
Errors and logs name the server, folder and keys only, never message contents.
Login is a password, or (imap.auth = "oauth2") SASL XOAUTH2/OAUTHBEARER with a token from a
mailbot.auth TokenSource: a refused token is refreshed once, [UNAVAILABLE] is temporary.
"""

from __future__ import annotations

import logging
import ssl
import time
from datetime import datetime
from typing import Callable, Iterator, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from mailbot.auth.base import AccessToken, TokenError, TokenSource
from mailbot.config import ImapConfig
from mailbot.errors import ConfigError, MailboxError
from mailbot.mailbox.base import WaitingMessage

log = logging.getLogger(__name__)

# imapclient logs every protocol line at DEBUG, fetched message bodies included, and there must be
# no health data in logs: cap it at INFO unless someone configured that logger on purpose.
if logging.getLogger("imapclient").level == logging.NOTSET:
    logging.getLogger("imapclient").setLevel(logging.INFO)

T = TypeVar("T")
DELETED = b"\\Deleted"
MAX_IDLE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE before the server's 30-minute autologout

# A connection-level failure: reconnect and retry once. (ssl.SSLError is an OSError.)
DROPPED = (OSError, IMAPClientAbortError, EOFError)


class _Dropped(ConnectionError):
    """The server said BYE or closed the socket while we were idling."""


def tls_context(ca_file: str = "", verify: bool = True) -> ssl.SSLContext:
    """System trust store plus `ca_file` (a private CA or self-signed cert) when given."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"cannot load imap.ca_file {ca_file!r}: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def parse_key(key: str) -> tuple[int, int]:
    try:
        validity, uid = key.split(":")
        return int(validity), int(uid)
    except ValueError:
        raise MailboxError(f"{key!r} is not an IMAP message key (expected '<uidvalidity>:<uid>')") from None


class ImapMailbox:
    """One IMAP connection to one folder. Not thread-safe: use it from one thread."""

    def __init__(self, config: ImapConfig, *, use_move: bool | None = None,
                 tokens: TokenSource | None = None):
        """`use_move=None` uses UID MOVE when the server offers it; False forces COPY+EXPUNGE.
        `tokens`: where access tokens come from when imap.auth = "oauth2"."""
        if config.auth == "oauth2" and tokens is None:
            raise ConfigError("imap.auth = \"oauth2\" needs a token source (open the mailbox with "
                              "mailbot.mailbox.open_mailbox)")
        self.config = config
        self._tokens = tokens
        self.logged_in_with = ""       # how the last login went: "password" or the SASL mechanism
        self._use_move = use_move
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None
        self._just_selected = False    # the connection was opened (and SELECTed) a moment ago
        self._highest_uid = 0          # highest UID seen, to tell new mail from old in wait_for_mail

    # -- connection -----------------------------------------------------------------------------

    @property
    def where(self) -> str:
        c = self.config
        return f"IMAP {c.host}:{c.port} (user {c.username}, folder {c.folder})"

    def _connect(self) -> IMAPClient:
        c = self.config
        context = tls_context(c.ca_file, c.verify_certificate) if c.security != "none" else None
        untrusted = (f"{self.where}: TLS certificate not trusted ({{}}); set imap.ca_file to the "
                     "server's CA certificate (or imap.verify_certificate = false on a test box)")
        try:
            client = IMAPClient(c.host, c.port, ssl=c.security == "ssl", ssl_context=context,
                                timeout=c.timeout_seconds)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(untrusted.format(exc.verify_message)) from None
        try:
            if c.security == "starttls":
                self._starttls(client, context)
            self._login(client)
            info = self._select(client)
        except BaseException as exc:
            _shutdown_quietly(client)
            if isinstance(exc, LoginError):
                raise MailboxError(f"{self.where}: login refused; check imap.username and the "
                                   "password (imap.password or the variable named by "
                                   "imap.password_env)") from None
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise MailboxError(untrusted.format(exc.verify_message)) from None
            raise
        self._track(info)
        self._just_selected = True
        log.info("connected to %s", self.where)
        return client

    def _login(self, client: IMAPClient) -> None:
        if self._tokens is None:
            client.login(self.config.username, self.config.secret())
            self.logged_in_with = "password"
            return
        mechanism = self.config.oauth2.mechanism.upper()
        for attempt in (1, 2):   # a refused token is refreshed once; a second refusal is final
            token = self._token(force_refresh=attempt == 2)
            try:
                if mechanism == "OAUTHBEARER":
                    client.oauthbearer_login(self.config.username, token.value)
                else:
                    client.oauth2_login(self.config.username, token.value)
            except LoginError as exc:
                said = _login_reply(exc)
                if "[UNAVAILABLE]" in said.upper():
                    raise MailboxError(f"{self.where}: the server cannot check OAuth2 tokens just now "
                                       f"({said}); its identity provider is in trouble; will retry later") from None
                if attempt == 2:
                    raise MailboxError(
                        f"{self.where}: {mechanism} login refused twice, the second time with a fresh "
                        f"token from {token.provider} ({said}). Check that imap.username is the "
                        f"mailbox the token is for, and that the app may use IMAP on it (see the "
                        f"README's Microsoft 365 / Google Workspace sections); `mailbot auth check` "
                        f"shows the login.") from None
                log.info("%s: %s token refused (%s); refreshing it once", self.where, mechanism, said)
            else:
                self.logged_in_with = f"{mechanism}, token from {token.provider}" + (
                    f" for {token.identity}" if token.identity else "")
                return

    def _token(self, force_refresh: bool) -> AccessToken:
        try:
            return self._tokens.token(force_refresh=force_refresh)
        except TokenError as exc:
            raise MailboxError(f"{self.where}: no OAuth2 token: {exc}") from None

    def check_login(self) -> str:
        """Log in (and open the folder) now; returns how: for `mailbot auth check`."""
        self._run("logging in", lambda client: None)
        return self.logged_in_with

    def _track(self, select_info: dict) -> None:
        """Remember the folder's UIDVALIDITY from a SELECT answer; a change voids older keys."""
        validity = int(select_info[b"UIDVALIDITY"])
        if self._uidvalidity is None:
            self._highest_uid = int(select_info.get(b"UIDNEXT", 1)) - 1
        elif validity != self._uidvalidity:
            log.warning("%s: UIDVALIDITY changed from %s to %s; older keys are void",
                        self.where, self._uidvalidity, validity)
            self._highest_uid = 0
        self._uidvalidity = validity

    def _reselect(self, client: IMAPClient) -> None:
        """SELECT again: a long-open session may still see a folder that was since recreated
        (Dovecot then applies old UIDs to the new folder's messages), a fresh SELECT does not."""
        if self._just_selected:
            self._just_selected = False
        else:
            self._track(self._select(client))

    def _select(self, client: IMAPClient) -> dict:
        try:
            return client.select_folder(self.config.folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise MailboxError(f"{self.where}: cannot open the folder ({exc}); check imap.folder") from None

    def _starttls(self, client: IMAPClient, context: ssl.SSLContext) -> None:
        if not client.has_capability("STARTTLS"):
            raise MailboxError(f"{self.where}: server does not offer STARTTLS; "
                               "use imap.security = \"ssl\" with the IMAPS port")
        client.starttls(context)

    def _ensure(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown_quietly(client)

    def _run(self, what: str, operation: Callable[[IMAPClient], T]) -> T:
        """Run `operation`; on a dropped connection reconnect once and retry it."""
        for attempt in (1, 2):
            try:
                try:
                    return operation(self._ensure())
                finally:
                    self._just_selected = False  # later operations SELECT afresh
            except MailboxError:
                raise
            except DROPPED as exc:
                self._drop()
                if attempt == 2:
                    raise MailboxError(f"{self.where}: connection failed while {what}: "
                                       f"{type(exc).__name__}: {exc}; will retry later") from None
                log.warning("%s: connection lost while %s (%s); reconnecting", self.where, what,
                            type(exc).__name__)
            except IMAPClientError as exc:
                raise MailboxError(f"{self.where}: server refused {what}: {exc}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except Exception:
                _shutdown_quietly(client)

    def __enter__(self) -> "ImapMailbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- Mailbox protocol -------------------------------------------------------------------------

    def waiting(self) -> Iterator[WaitingMessage]:
        """Every undeleted message, oldest (lowest UID) first, fetched one at a time."""
        uids = self._run("listing messages", self._list)
        validity = self._uidvalidity
        if uids:
            self._highest_uid = max(self._highest_uid, uids[-1])
        for uid in uids:
            raw = self._run(f"fetching message {validity}:{uid}",
                            lambda client, uid=uid: self._fetch(client, validity, uid))
            if raw is not None:  # None: moved away or expunged by someone else meanwhile
                yield WaitingMessage(key=f"{validity}:{uid}", raw=raw)

    def _list(self, client: IMAPClient) -> list[int]:
        self._reselect(client)
        return sorted(client.search(["UNDELETED"]))

    def _fetch(self, client: IMAPClient, validity: int | None, uid: int) -> bytes | None:
        if self._uidvalidity != validity:
            raise MailboxError(f"{self.where}: folder was recreated (UIDVALIDITY {validity} -> "
                               f"{self._uidvalidity}) while listing; list again")
        data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        return None if data is None else data.get(b"BODY[]")

    def census(self) -> tuple[int, datetime | None, int]:
        """For `mailbot status`: messages waiting in the inbox, when the oldest of them arrived
        (INTERNALDATE, aware), and how many are in the quarantine folder (0 when it does not exist)."""
        def operation(client: IMAPClient) -> tuple[int, datetime | None, int]:
            uids = self._list(client)
            oldest = None
            if uids:
                oldest = (client.fetch([uids[0]], ["INTERNALDATE"]).get(uids[0]) or {}).get(b"INTERNALDATE")
            try:
                quarantined = int(client.folder_status(self.config.quarantine_folder, [b"MESSAGES"])[b"MESSAGES"])
            except IMAPClientAbortError:
                raise
            except IMAPClientError:   # no such folder yet: nothing was ever quarantined
                quarantined = 0
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.astimezone()   # imapclient gives naive local time
            return len(uids), oldest, quarantined
        return self._run("counting messages", operation)

    def move_to_processed(self, key: str) -> None:
        self._move(key, self.config.processed_folder)

    def move_to_quarantine(self, key: str) -> None:
        self._move(key, self.config.quarantine_folder)

    def _move(self, key: str, folder: str) -> None:
        validity, uid = parse_key(key)

        def operation(client: IMAPClient) -> None:
            self._reselect(client)
            if validity != self._uidvalidity:
                raise MailboxError(
                    f"{self.where}: message {key} belongs to an older version of the folder "
                    f"(UIDVALIDITY is now {self._uidvalidity}); not moving it to {folder}, because "
                    f"UID {uid} may now be a different message; it will be listed again under a new key.")
            self._transfer(client, uid, folder)

        self._run(f"moving message {key} to {folder}", operation)
        log.info("%s: moved message %s to %s", self.where, key, folder)

    def _transfer(self, client: IMAPClient, uid: int, folder: str) -> None:
        use_move = client.has_capability("MOVE") if self._use_move is None else self._use_move
        try:
            self._move_or_copy(client, uid, folder, use_move)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            # RFC 3501 servers answer [TRYCREATE]; others just say the folder does not exist.
            if "TRYCREATE" not in str(exc).upper() and client.folder_exists(folder):
                raise
            self._create_folder(client, folder)
            self._move_or_copy(client, uid, folder, use_move)
        if not use_move:
            client.add_flags([uid], [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])
            else:
                client.expunge()  # without UIDPLUS only a plain EXPUNGE exists

    def forget(self, message_ids: list[str]) -> int:
        """Delete the messages with these Message-IDs from the Processed and Quarantine folders
        (a purged case's raw mail). Missing folders or messages are fine: already gone."""
        removed = 0
        for folder in (self.config.processed_folder, self.config.quarantine_folder):
            def operation(client: IMAPClient, folder=folder) -> int:
                if not client.folder_exists(folder):
                    return 0
                client.select_folder(folder)
                uids: set[int] = set()
                for mid in message_ids:
                    uids.update(client.search(["HEADER", "Message-ID", mid]))
                if uids:
                    client.add_flags(sorted(uids), [DELETED], silent=True)
                    if client.has_capability("UIDPLUS"):
                        client.uid_expunge(sorted(uids))
                    else:
                        client.expunge()
                self._uidvalidity = None      # the inbox must be SELECTed again before the next use
                return len(uids)
            removed += self._run(f"forgetting messages in {folder}", operation)
        self._just_selected = False
        return removed

    @staticmethod
    def _move_or_copy(client: IMAPClient, uid: int, folder: str, use_move: bool) -> None:
        if use_move:
            client.move([uid], folder)
        else:
            client.copy([uid], folder)

    def _create_folder(self, client: IMAPClient, folder: str) -> None:
        try:
            client.create_folder(folder)
            log.info("%s: created folder %s", self.where, folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            if "ALREADYEXISTS" not in str(exc).upper():  # created meanwhile by someone else
                raise
        try:
            client.subscribe_folder(folder)  # so mail clients show it; harmless if refused
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            pass

    # -- waiting for new mail ---------------------------------------------------------------------

    def wait_for_mail(self, timeout_seconds: float) -> bool:
        """Block up to `timeout_seconds`; True when new mail arrived, else False.

        Uses IDLE, issued afresh on each call, when the server offers it (and imap.idle is on);
        otherwise sleeps and then checks once. Messages already listed by waiting() do not count,
        so a message stuck in the inbox cannot turn the daemon's loop into a busy loop.
        """
        deadline = time.monotonic() + max(0.0, timeout_seconds)
        return self._run("waiting for new mail", lambda client: self._wait(client, deadline))

    def _wait(self, client: IMAPClient, deadline: float) -> bool:
        # Also after a reconnect: mail that came before IDLE starts is only reported at DONE.
        if self._has_new(client):
            return True
        if self.config.idle and client.has_capability("IDLE"):
            return self._idle(client, deadline)
        time.sleep(max(0.0, deadline - time.monotonic()))  # a retry after a drop does not re-sleep
        return self._has_new(client)

    def _has_new(self, client: IMAPClient) -> bool:
        client.noop()  # let the server announce new messages first: SEARCH only sees known ones
        uids = client.search(["UID", f"{self._highest_uid + 1}:*", "UNDELETED"])
        return any(uid > self._highest_uid for uid in uids)

    def _idle(self, client: IMAPClient, deadline: float) -> bool:
        deadline = min(deadline, time.monotonic() + MAX_IDLE_SECONDS)
        client.idle()
        signalled = False
        try:
            while not signalled and (remaining := deadline - time.monotonic()) > 0:
                responses = client.idle_check(timeout=remaining)
                if not responses and time.monotonic() < deadline - 0.05:
                    raise _Dropped("connection closed during IDLE")  # readable but empty: EOF
                signalled = _signals_mail(responses)
        except BaseException:
            self._drop()  # the connection is mid-IDLE: never reuse it
            raise
        _text, late = client.idle_done()
        _signals_mail(late)  # only to notice a BYE
        return self._has_new(client)


def _signals_mail(responses: list) -> bool:
    """True for an EXISTS (the folder grew); raises _Dropped on BYE."""
    for response in responses:
        if response and response[0] == b"BYE":
            raise _Dropped("server said BYE")
        if len(response) >= 2 and response[1] == b"EXISTS":
            return True
    return False


def _login_reply(exc: LoginError) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " ".join(str(text).split())[:200]


def _shutdown_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # already broken; nothing left to close
        pass
