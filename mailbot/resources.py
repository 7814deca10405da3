"""Where the shipped templates and default rules live (the repository's top-level folders)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def templates_dir() -> Path:
    return ROOT / "templates"


def default_rules_dir() -> Path:
    return ROOT / "rules"
