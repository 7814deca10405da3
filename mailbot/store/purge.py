"""Purging a case: everything of it goes, one audit line stays.

Three steps, so that a crash anywhere leaves at most orphan files, never a row pointing at a
missing file:

1. `purge_case(session, files, case, now=..., outcome=...)`, in the caller's transaction: deletes
   the case's documents, inbound messages, events, outbox mail, payments, reminders (every table
   with a foreign key to `cases`) and the case row, adds one `AuditLine`, and returns the digests
   of the files that no remaining row refers to. Nothing is touched on disk yet.
2. The caller commits.
3. `delete_unreferenced_files(files, digests)` removes those files. If the process dies before
   this, `sweep_orphan_files(session, files)` finds and removes them later.

Files are content-addressed and shared: an update case copies its parent's document rows, and a
patient may send the same PDF for two cases. A file goes only when no `Document.sha256`, no
`Document.searchable_sha256` and no `InboundMessage.raw_sha256` of any remaining row names it.

`scrub_database(session)` (SQLite only) truncates the write-ahead log after the commit, so old
page images of the purged rows do not linger in the `-wal` file; `purge_case` also turns on
SQLite's `secure_delete` so freed pages are zeroed in the database file.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone, tzinfo
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from mailbot.store.files import FileStore, writer_alive
from mailbot.store.models import AuditLine, Base, Case, Document, Event, InboundMessage

log = logging.getLogger(__name__)

DIGEST = re.compile(r"[0-9a-f]{64}\Z")
ORPHAN_MIN_AGE_SECONDS = 3600.0


class Purged(list):
    """The file digests that became unreferenced (a plain list of str for the caller to pass to
    `delete_unreferenced_files` after the commit), plus the `audit` line written. `audit` is None
    when the case had already been purged by another worker (nothing was done)."""

    def __init__(self, digests: Iterable[str] = (), audit: AuditLine | None = None):
        super().__init__(digests)
        self.audit = audit


def _date(value: datetime | None, zone: tzinfo) -> str | None:
    return value.astimezone(zone).date().isoformat() if value is not None else None


def _case_fk_tables(exclude: set[str]):
    """(table, column) for every table with a foreign key to cases.id, e.g. events, outbox,
    payments, reminders, and any table added later."""
    cases = Base.metadata.tables["cases"]
    for table in Base.metadata.sorted_tables:
        if table.name in exclude:
            continue
        for fk in table.foreign_keys:
            if fk.column is cases.c.id:
                yield table, fk.parent


def purge_case(session: Session, files: FileStore, case: Case, *, now: datetime, outcome: str,
               zone: tzinfo = timezone.utc) -> Purged:
    """Delete everything of `case` in the caller's transaction and write ONE audit line.

    The audit line holds the ref, `now`, action "purged" and detail {opened, closed (dates only,
    in `zone`), state, outcome, documents, messages (counts)}: no names, addresses, filenames or
    form data. `outcome` is the caller's reason ("expired", "retention", ...); keep it free of
    personal data too.

    Returns the digests of files that no remaining row refers to; delete them with
    `delete_unreferenced_files` only AFTER the commit. `files` is not touched here.

    Documents of other cases that were copied from this case (an update carries its parent's
    document rows, which still name the parent's inbound message) are kept: they are re-pointed
    to the other case's own first inbound message before this case's messages are deleted.
    Other cases may keep naming this ref in `parent_ref`: the ref is not personal data, and it is
    what the audit line is filed under.
    """
    del files  # nothing on disk changes before the commit
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
    session.flush()
    case_id = case.id
    # Lock the row (PostgreSQL): a second worker purging the same case waits, then finds nothing.
    locked = session.execute(select(Case).where(Case.id == case_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if locked is None:
        return Purged()
    case = locked
    ref, state, opened_at, closed_at = case.ref, case.state, case.opened_at, case.closed_at

    inbound = _case_messages(session, case_id)
    documents = session.execute(select(Document.id, Document.sha256, Document.searchable_sha256)
                                .where(Document.case_id == case_id)).all()
    candidates = {sha for _, sha, _ in documents} | {made for _, _, made in documents if made} | set(inbound.values())
    keep_stub = _repoint_borrowed_documents(session, case_id, inbound)

    _delete_rows(session, case_id, inbound, keep_stub)

    still_used = _still_used(session, candidates)
    audit = AuditLine(ref=ref, at=now, action="purged", detail={
        "opened": _date(opened_at, zone), "closed": _date(closed_at, zone), "state": state,
        "outcome": outcome, "documents": len(documents), "messages": len(inbound)})
    session.add(audit)
    session.flush()
    log.info("purged case %s (%d documents, %d messages)", ref, len(documents), len(inbound))
    return Purged(sorted(candidates - still_used), audit)


def _delete_rows(session: Session, case_id: int, inbound: dict[int, str], keep_stub: set[int]) -> None:
    """Every row of the case (any table with a cases foreign key), its messages but the stubs
    other cases still need, and the case row itself."""
    session.execute(delete(Document).where(Document.case_id == case_id)
                    .execution_options(synchronize_session=False))
    for table, column in _case_fk_tables({"cases", "documents", "inbound_messages"}):
        session.execute(table.delete().where(column == case_id))
    doomed = [i for i in inbound if i not in keep_stub]
    if doomed:
        session.execute(delete(InboundMessage).where(InboundMessage.id.in_(doomed))
                        .execution_options(synchronize_session=False))
    for stub in keep_stub:   # anonymised: no address, ids, names; its raw file goes
        session.execute(update(InboundMessage).where(InboundMessage.id == stub).values(
            case_id=None, message_id="", from_addr="", raw_sha256="", role="", summary={})
            .execution_options(synchronize_session=False))
    session.execute(delete(Case).where(Case.id == case_id).execution_options(synchronize_session=False))
    _forget(session, case_id, set(inbound))


def _case_messages(session: Session, case_id: int) -> dict[int, str]:
    """The case's inbound messages (id -> raw digest): filed to it, or named by its events
    (defensive: a linked message whose case_id was cleared)."""
    inbound = dict(session.execute(select(InboundMessage.id, InboundMessage.raw_sha256)
                                   .where(InboundMessage.case_id == case_id)).all())
    linked: set[int] = set()
    for (detail,) in session.execute(select(Event.detail).where(Event.case_id == case_id)):
        value = (detail or {}).get("inbound_id")
        if isinstance(value, int) and value not in inbound:
            linked.add(value)
    if linked:
        inbound.update(session.execute(select(InboundMessage.id, InboundMessage.raw_sha256).where(
            InboundMessage.id.in_(linked), InboundMessage.case_id.is_(None))).all())
    return inbound


def _repoint_borrowed_documents(session: Session, case_id: int, inbound: dict[int, str]) -> set[int]:
    """Other cases' document rows that still name one of our messages (copied by an update) are
    re-pointed to their own case's first message; returns the messages that must stay as stubs."""
    keep_stub: set[int] = set()
    if not inbound:
        return keep_stub
    borrowed = session.execute(select(Document.id, Document.case_id, Document.inbound_id).where(
        Document.inbound_id.in_(list(inbound)), Document.case_id != case_id)).all()
    own_first: dict[int, int | None] = {}
    for doc_id, other_case, old_inbound in borrowed:
        if other_case not in own_first:
            own_first[other_case] = session.execute(
                select(InboundMessage.id).where(InboundMessage.case_id == other_case)
                .order_by(InboundMessage.id).limit(1)).scalar_one_or_none()
        target = own_first[other_case]
        if target is not None:
            session.execute(update(Document).where(Document.id == doc_id).values(inbound_id=target)
                            .execution_options(synchronize_session=False))
        else:   # cannot happen through the pipeline; never lose another case's documents
            keep_stub.add(old_inbound)
    return keep_stub


def _still_used(session: Session, candidates: set[str]) -> set[str]:
    """Which of these digests some remaining row still refers to."""
    used: set[str] = set()
    if candidates:
        wanted = list(candidates)
        used.update(session.execute(select(Document.sha256).where(Document.sha256.in_(wanted))).scalars())
        used.update(session.execute(
            select(Document.searchable_sha256).where(Document.searchable_sha256.in_(wanted))).scalars())
        used.update(session.execute(
            select(InboundMessage.raw_sha256).where(InboundMessage.raw_sha256.in_(wanted))).scalars())
    return used


def _forget(session: Session, case_id: int, inbound_ids: set[int]) -> None:
    """Drop deleted rows from the identity map and expire the rest of what the bulk statements
    changed, without loading anything (a load of a deleted row would fail)."""
    for obj in list(session.identity_map.values()):
        state = sa_inspect(obj)
        loaded = state.dict
        gone = (isinstance(obj, Case) and loaded.get("id") == case_id) or \
            loaded.get("case_id") == case_id or \
            (isinstance(obj, InboundMessage) and loaded.get("id") in inbound_ids)
        if gone:
            session.expunge(obj)
        elif isinstance(obj, (Document, InboundMessage)):
            session.expire(obj)


def delete_unreferenced_files(files: FileStore, digests: Iterable[str]) -> int:
    """Remove the files `purge_case` reported, AFTER its transaction committed. Returns how many
    files were removed. Idempotent; names that are not digests are ignored."""
    removed = 0
    for digest in digests:
        if not DIGEST.match(digest or ""):
            continue
        path = files.path_for(digest)
        if path.exists():
            files.delete(digest)
            removed += 1
    return removed


def referenced_digests(session: Session) -> set[str]:
    used = set(session.execute(select(Document.sha256).distinct()).scalars())
    used.update(session.execute(select(Document.searchable_sha256).where(
        Document.searchable_sha256.is_not(None)).distinct()).scalars())
    used.update(session.execute(select(InboundMessage.raw_sha256).distinct()).scalars())
    return used


def sweep_orphan_files(session: Session, files: FileStore, *,
                       min_age_seconds: float = ORPHAN_MIN_AGE_SECONDS) -> int:
    """Delete stored files that no row refers to; returns how many. Safe at any time.

    Files (and `.tmp*` leftovers of interrupted writes) younger than `min_age_seconds` (an hour)
    are left alone: `FileStore.put` writes a file before the transaction that refers to it
    commits, so a fresh unreferenced file may be about to be referenced. A temporary file whose
    writer (the pid in its name) is no longer running goes at once: nobody will finish it.
    Names that are neither digests nor temporary files are not ours and are left alone too.
    """
    root = files.root
    if not root.is_dir():
        return 0
    used = referenced_digests(session)
    cutoff = time.time() - min_age_seconds
    removed = 0
    for sub in sorted(root.iterdir()):
        if not sub.is_dir() or len(sub.name) != 2:
            continue
        for path in sorted(sub.iterdir()):
            name = path.name
            temporary = ".tmp" in name and DIGEST.match(name.split(".", 1)[0] or "")
            if not (temporary or DIGEST.match(name)) or not path.is_file():
                continue
            if not temporary and name in used:
                continue
            try:
                dead_writer = temporary and not writer_alive(name.split(".tmp", 1)[1])
                if not dead_writer and path.stat().st_mtime > cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
    if removed:
        log.info("removed %d orphan files", removed)
    return removed


def scrub_database(session: Session) -> None:
    """After the purge committed: on SQLite, checkpoint and truncate the write-ahead log so old
    copies of the deleted rows do not remain in the `-wal` file. (PostgreSQL keeps dead tuples
    until VACUUM and in its own WAL; that is the database administrator's side, see the docs.)"""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.commit()
    session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    session.commit()
