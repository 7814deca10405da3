"""OAuthTokenSource: a provider's access tokens, cached, refreshed early, rotations stored.

- The token is refreshed before it expires: when less than a quarter of its life, at most five
  minutes, is left (so a 60-minute Microsoft token is renewed 5 minutes early).
- `token(force_refresh=True)` after a server refused the token: the caller does this once.
- A rotated refresh token is stored at once (TokenStore); if the database is down it is kept in
  memory and stored on the next call, never thrown away.
- invalid_grant from a refresh token another process has just rotated is not a revocation: the
  stored token is read again and tried once before the grant is called revoked.
- An AdminActionNeeded blocks the grant in the store (one alert to the admins) and is logged once;
  for `hold_seconds` after it the provider is not asked again, then it is, in case an admin fixed it.
Thread-safe: the IMAP loop, the outbox and the jobs may share one source.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import SQLAlchemyError

from mailbot.auth.base import AccessToken, AdminActionNeeded, GrantRevoked, Provider, TokenError
from mailbot.auth.crypto import fingerprint
from mailbot.auth.store import TokenStore
from mailbot.logsafe import where

log = logging.getLogger(__name__)

MAX_MARGIN_SECONDS = 300.0


class OAuthTokenSource:
    def __init__(self, provider: Provider, *, label: str, refresh_token: str = "",
                 store: TokenStore | None = None, hold_seconds: float = 300.0):
        """`refresh_token`: the configured one ('' for client credentials); `label` names the
        mailbox and provider in logs and errors."""
        self.provider_client = provider
        self.provider = provider.name
        self.label = label
        self.store = store
        self.hold_seconds = hold_seconds
        self._configured = refresh_token
        self._seed = fingerprint(refresh_token) if refresh_token else ""
        self._refresh_token = refresh_token     # the newest we know of
        self._unsaved = False                   # rotated, but the database refused it so far
        self._token: AccessToken | None = None
        self._renew_at = 0.0                    # time.monotonic() from which to refresh
        self._blocked: AdminActionNeeded | None = None
        self._blocked_until = 0.0
        self._failing = False                   # logged a failure, not yet a success
        self._lock = threading.Lock()

    def token(self, force_refresh: bool = False) -> AccessToken:
        with self._lock:
            if self._token is not None and not force_refresh and time.monotonic() < self._renew_at:
                return self._token
            if self._blocked is not None and time.monotonic() < self._blocked_until:
                raise self._blocked
            try:
                self._token = self._refresh()
            except AdminActionNeeded as exc:
                self._token = None
                self._block(exc)
                raise
            except TokenError as exc:
                self._token = None
                if not self._failing:
                    log.warning("%s: %s", self.label, exc)
                self._failing = True
                raise
            self._recovered()
            return self._token

    # -- one refresh ----------------------------------------------------------------------------

    def _refresh(self) -> AccessToken:
        refresh_token = self._current_refresh_token()
        started = time.monotonic()
        try:
            grant = self.provider_client.fetch(refresh_token)
        except GrantRevoked:
            newer = self._stored()
            if not refresh_token or not newer or newer == refresh_token:
                raise
            log.info("%s: refresh token was rotated by another process; using the stored one", self.label)
            refresh_token = newer
            grant = self.provider_client.fetch(refresh_token)
        if grant.refresh_token and grant.refresh_token != refresh_token:
            self._refresh_token, self._unsaved = grant.refresh_token, True
            self._save()
        elif refresh_token:
            self._refresh_token = refresh_token
        lifetime = max(0.0, grant.expires_in)
        self._renew_at = started + lifetime - min(MAX_MARGIN_SECONDS, lifetime / 4)
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
        log.debug("%s: new access token from %s, valid %.0f s", self.label, self.provider, lifetime)
        return AccessToken(grant.access_token, expires_at, self.provider)

    def _current_refresh_token(self) -> str | None:
        if not self._configured:
            return None        # client credentials
        if self._unsaved:
            self._save()
            if self._unsaved:
                return self._refresh_token
        return self._stored() or self._refresh_token

    def _stored(self) -> str | None:
        if self.store is None or not self._seed:
            return None
        try:
            return self.store.load(self._seed)
        except SQLAlchemyError as exc:
            log.warning("%s: cannot read the stored refresh token (%s); using the one in memory",
                        self.label, where(exc))
            return None

    def _save(self) -> None:
        if self.store is None:
            self._unsaved = False
            return
        try:
            self.store.save(self._seed, self._refresh_token)
            self._unsaved = False
        except SQLAlchemyError as exc:
            log.error("%s: the provider rotated the refresh token but the database refused it (%s); "
                      "kept in memory, storing it again on the next refresh. Do not restart mailbot "
                      "until the database works, or the new token is lost.", self.label, where(exc))

    # -- states ---------------------------------------------------------------------------------

    def _block(self, exc: AdminActionNeeded) -> None:
        first = self._blocked is None
        self._blocked, self._blocked_until = exc, time.monotonic() + self.hold_seconds
        alerted = False
        if self.store is not None:
            try:
                alerted = self.store.block(self._seed, exc.reason)
            except Exception as exc2:   # a database or template problem must not hide the login error
                log.error("%s: cannot record the refused grant or alert the admins (%s); will try "
                          "again on the next refusal", self.label, where(exc2))
        if alerted:
            log.error("%s: %s The admins were sent an alert.", self.label, exc)
        elif first:
            log.error("%s: %s", self.label, exc)

    def _recovered(self) -> None:
        was_blocked = self._blocked is not None
        if self.store is not None:
            try:
                was_blocked = self.store.unblock(self._seed) or was_blocked
            except SQLAlchemyError as exc:
                log.warning("%s: cannot clear the refused-grant mark (%s)", self.label, where(exc))
        if was_blocked or self._failing:
            log.info("%s: tokens from %s work again", self.label, self.provider)
        self._blocked, self._failing = None, False
