"""The `oauth_tokens` rows: the latest refresh token of a grant, and whether an admin must act.

Each call is its own short transaction, so a rotated refresh token is on disk the moment the
provider hands it out, and a crash right after cannot lose it. Blocking a grant (revoked,
client refused) and queueing the admins' alert happen in one transaction, under the row's lock
and a fixed alert Message-ID: one alert per blocking, even with several daemons on one database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from cryptography.fernet import MultiFernet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.auth.crypto import InvalidToken
from mailbot.store.models import OAuthToken

log = logging.getLogger(__name__)

# queue the admins' alert in the caller's transaction: (session, reason, blocked_count)
AlertQueuer = Callable[[Session, str, int], None]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TokenStore:
    def __init__(self, sessions: sessionmaker[Session], account: str, label: str,
                 cipher: MultiFernet | None, alert: AlertQueuer | None = None):
        self.sessions, self.account, self.label = sessions, account, label
        self.cipher, self.alert = cipher, alert

    def _row(self, session: Session, *, lock: bool = False) -> OAuthToken | None:
        query = select(OAuthToken).where(OAuthToken.account == self.account)
        if lock:
            query = query.with_for_update()
        return session.execute(query).scalar_one_or_none()

    def _row_or_new(self, session: Session, seed: str) -> OAuthToken:
        row = self._row(session, lock=True)
        if row is None:
            row = OAuthToken(account=self.account, label=self.label, seed=seed, updated_at=_now(),
                             blocked_count=0)
            session.add(row)
        elif row.seed != seed:   # an admin configured a new refresh token: the old chain is void
            row.seed, row.refresh_token, row.blocked_reason, row.blocked_at = seed, None, None, None
        return row

    def load(self, seed: str) -> str | None:
        """The stored refresh token descending from the configured one (`seed`), else None."""
        with self.sessions() as session:
            row = self._row(session)
        if row is None or row.seed != seed or row.refresh_token is None or self.cipher is None:
            return None
        try:
            return self.cipher.decrypt(row.refresh_token).decode()
        except InvalidToken:
            log.warning("%s: the stored refresh token cannot be decrypted with the key in token_key_env "
                        "(was the key changed? list the old key after the new one); using the configured one",
                        self.label)
            return None

    def save(self, seed: str, refresh_token: str) -> None:
        """Store a rotated refresh token now (encrypted)."""
        assert self.cipher is not None, "a refresh token is stored only with token_key_env"
        self._write(lambda session: self._store(session, seed, refresh_token))

    def _store(self, session: Session, seed: str, refresh_token: str) -> None:
        row = self._row_or_new(session, seed)
        row.refresh_token = self.cipher.encrypt(refresh_token.encode())
        row.updated_at = _now()

    def block(self, seed: str, reason: str) -> bool:
        """Record that an admin must act; True (and the alert queued) only the first time."""
        def mark(session: Session) -> bool:
            row = self._row_or_new(session, seed)
            if row.blocked_reason == reason:
                return False
            row.blocked_reason, row.blocked_at = reason, _now()
            row.blocked_count = (row.blocked_count or 0) + 1
            session.flush()
            if self.alert is not None:
                self.alert(session, reason, row.blocked_count)
            return True
        try:
            return self._write(mark)
        except IntegrityError:   # another daemon blocked it (and alerted) a moment before us
            return False

    def unblock(self, seed: str) -> bool:
        """The grant works (again): True when it had been blocked."""
        with self.sessions() as session:
            row = self._row(session)
            if row is None or row.blocked_reason is None or row.seed != seed:
                return False
        def clear(session: Session) -> bool:
            row = self._row(session, lock=True)
            if row is None or row.blocked_reason is None:
                return False
            row.blocked_reason, row.blocked_at = None, None
            return True
        return self._write(clear)

    def _write(self, change):
        """Run `change(session)` and commit; one retry when a concurrent insert of the row won."""
        for attempt in (1, 2):
            with self.sessions() as session:
                try:
                    result = change(session)
                    session.commit()
                    return result
                except IntegrityError:
                    session.rollback()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")


def token_states(sessions: sessionmaker[Session]) -> list[OAuthToken]:
    """Every stored grant, for `mailbot status`: label, updated_at, blocked_reason/blocked_at."""
    with sessions() as session:
        return list(session.execute(select(OAuthToken).order_by(OAuthToken.label)).scalars())
