"""Every real email of the shared corpus (tests/corpus.py) through the whole pipeline (parse,
assess, route, decide, commit, render): none may raise or hang; each ends filed or quarantined;
bounces and auto-replies never get a reply."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from mailbot.app import build_app
from mailbot.config import load_config
from mailbot.store.models import InboundMessage, OutboxMessage
from corpus import CORPUS, shared_corpus  # noqa: F401  (the fixture)
from test_cli import local_config

pytestmark = pytest.mark.usefixtures("shared_corpus")


def manifest() -> list[tuple[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(r["file"], r["expectation"]) for r in rows if r["kind"] == "email"]


def test_every_corpus_email_is_filed_or_quarantined_and_machines_get_no_reply(tmp_path):
    emails = manifest()
    app = build_app(load_config(local_config(tmp_path)))
    dispositions: dict[str, str] = {}
    replied: dict[str, int] = {}
    for name, _expectation in emails:
        outcome = app.intake.process((CORPUS / name).read_bytes())
        dispositions[name] = outcome.disposition
        replied[name] = len(outcome.replies)

    assert len(dispositions) == len(emails) == 356
    allowed = {"filed", "automatic", "quarantined", "stranger", "duplicate"}
    assert set(dispositions.values()) <= allowed
    machine = [name for name, exp in emails if exp in ("bounce", "autoreply")]
    assert [n for n in machine if replied[n]] == []   # fml's list notice included
    assert all(dispositions[n] in ("automatic", "quarantined", "duplicate") for n in machine)
    fml = "emails/sisimai__maildir__bsd__lhost-fml-02.eml"   # Mailing-List:, X-MLServer:, no List-Id
    assert dispositions[fml] in ("automatic", "quarantined") and replied[fml] == 0
    with app.sessions() as s:
        stored = s.execute(select(func.count()).select_from(InboundMessage)).scalar_one()
        queued = s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert stored == sum(1 for d in dispositions.values() if d != "duplicate")
    assert queued == sum(replied.values())
