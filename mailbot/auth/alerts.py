"""The admins' alert when a mailbox login needs them (a revoked grant, a refused app secret).

Queued in the outbox in the transaction that records the block, as an admin notice with no
case (templates/admin/notice.*, kinds login_revoked / login_client_refused), under a
Message-ID fixed by the grant and the block count: the outbox's unique Message-ID makes a
second copy impossible. If the SMTP login is the one refused, the alert waits in the outbox
until SMTP works again; the log line says the same thing meanwhile.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from mailbot.config import Config
from mailbot.replies.render import Renderer
from mailbot.resources import templates_dir
from mailbot.rulebook import load_rulebook
from mailbot.store.models import OutboxMessage
from mailbot.workflow.staff import admin_notices

KIND = {"invalid_grant": "login_revoked", "invalid_client": "login_client_refused"}


def login_alert_queuer(config: Config, account: str, mailbox: str, provider: str, services: str):
    """A TokenStore AlertQueuer for one grant: (session, reason, count) -> rows in the outbox."""
    stem = hashlib.sha256(account.encode()).hexdigest()[:12]
    # Only plain values are kept: the token sources must not keep their Config alive.
    rules_dir, office = config.path(config.rules.dir), config.office
    name, address, domain = office.name, office.address, office.domain

    def queue(session: Session, reason: str, count: int) -> None:
        rulebook = load_rulebook(rules_dir)   # only now: this is rare
        renderer = Renderer(templates_dir(), office_name=name, office_address=address)
        now = datetime.now(timezone.utc)
        context = {"mailbox": mailbox, "provider": provider, "services": services, "office_name": name}
        for i, spec in enumerate(admin_notices(rulebook, KIND.get(reason, "login_revoked"), context)):
            message_id = f"<mailbot-login.{stem}.{count}.{i}@{domain}>"
            rendered = renderer.render(spec, case_ref=None, message_id=message_id, date=now)
            session.add(OutboxMessage(
                case_id=None, message_id=message_id, purpose=spec.purpose, sender=address,
                recipients=list(spec.to), subject=rendered.subject, raw=rendered.raw,
                status="queued", next_attempt_at=now, created_at=now))

    return queue
