"""Wiring: build the shell's parts from a Config. No decisions here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock, SystemClock
from mailbot.config import Config
from mailbot.ocr import INSTALL_HINT, Tesseract, find_tesseract
from mailbot.errors import ConfigError
from mailbot.service import Intake
from mailbot.replies.check import check_templates
from mailbot.replies.render import Renderer
from mailbot.resources import templates_dir
from mailbot.rulebook import load_rulebook
from mailbot.rulebook.models import Rulebook
from mailbot.store.database import open_database
from mailbot.store.files import FileStore

log = logging.getLogger("mailbot")


@dataclass
class App:
    config: Config
    rulebook: Rulebook
    sessions: sessionmaker[Session]
    files: FileStore
    intake: Intake
    clock: Clock


def build_app(config: Config, *, clock: Clock | None = None, rules_dir: Path | None = None) -> App:
    clock = clock or SystemClock()
    rulebook = load_rulebook(rules_dir or config.path(config.rules.dir))
    check_mailbox_hospitals(config, rulebook)
    renderer = _renderer(config)   # every input checked before the database is touched
    sessions = open_database(config.database_url)
    files = FileStore(config.path(config.storage.dir))
    intake = Intake(config, rulebook, sessions, files, renderer, clock, _ocr(config))
    return App(config, rulebook, sessions, files, intake, clock)


_told: set[str] = set()


def _ocr(config: Config) -> Tesseract | None:
    """Tesseract for photos and scans; without it mailbot runs without OCR and says so once."""
    if not config.ocr.enabled:
        return None
    binary = find_tesseract()
    if binary is None:
        if "missing" not in _told:
            _told.add("missing")
            log.warning("OCR off: Tesseract with English and Italian is not installed (%s); photos are made into "
                        "PDFs unread and scans are judged by their names", INSTALL_HINT)
        return None
    return Tesseract(binary, page_seconds=config.ocr.page_seconds, budget=config.ocr.pages_per_message,
                     total_seconds=config.ocr.seconds_per_message)


def check_mailbox_hospitals(config: Config, rulebook: Rulebook) -> None:
    """A [[mailboxes]] entry's `hospital` must be a hospital of rules/hospitals.toml."""
    for i, entry in enumerate(config.mailboxes):
        if entry.hospital and entry.hospital not in rulebook.hospitals:
            known = ", ".join(rulebook.hospitals) or "none: there is no rules/hospitals.toml"
            raise ConfigError(f"config: mailboxes.{i}.hospital: unknown hospital {entry.hospital!r} "
                              f"(hospitals: {known}); fix it or remove the line")


def _renderer(config: Config) -> Renderer:
    """The office's own templates (if any) before the packaged ones; every message it may send
    is tried now, so a bad template stops the start instead of failing patients' mail."""
    override = config.path(config.templates.dir) if config.templates.dir else None
    folders = [override, templates_dir()] if override else [templates_dir()]
    renderer = Renderer(folders, office_name=config.office.name, office_address=config.office.address)
    check_templates(renderer, templates_dir(), override, config.office.languages)
    return renderer
