"""The `markers` table: one row per key (see models.Marker).

`claim` is for what must happen once: it inserts in the caller's transaction and flushes, so a
second process fails there (IntegrityError) before it queues any mail. `touch` is for what is
only the latest state (the last good cycle): insert or update, whoever comes first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.store.models import Marker

LAST_CYCLE = "last_cycle"


def claim(session: Session, key: str, at: datetime, detail: dict[str, Any] | None = None) -> bool:
    """Insert `key` in the caller's transaction: False when it is already there (the caller
    then does nothing); raises IntegrityError when another process inserts it meanwhile."""
    if session.get(Marker, key) is not None:
        return False
    session.add(Marker(key=key, at=at, detail=dict(detail or {})))
    session.flush()
    return True


def touch(sessions: sessionmaker[Session], key: str, at: datetime, detail: dict[str, Any] | None = None) -> None:
    """Set `key` to `at` (its own short transaction)."""
    values = {"at": at, "detail": dict(detail or {})}
    for _attempt in (1, 2):
        with sessions() as session:
            done = session.execute(update(Marker).where(Marker.key == key).values(**values)).rowcount
            if not done:
                session.add(Marker(key=key, **values))
            try:
                session.commit()
                return
            except IntegrityError:   # another daemon inserted it first: update it then
                session.rollback()


def read(sessions: sessionmaker[Session], key: str) -> Marker | None:
    with sessions() as session:
        return session.execute(select(Marker).where(Marker.key == key)).scalar_one_or_none()
