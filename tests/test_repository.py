"""The repository stands on its own: no comment or docstring points a reader at a document that
is not in it (the product spec, style notes, the issue tracker)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ELSEWHERE = re.compile(r"\bSPEC\b\s*§|\b(SPEC|STYLE|NOTES|LAYOUT)\.md\b|\b[Ii]ssue\s+\d+")
CHECKED = ["mailbot", "tests", "deploy", "scripts", "bench", ".ci", "config.example.toml", "README.md",
           "pyproject.toml"]


def checked_files():
    for name in CHECKED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            if "__pycache__" in file.parts or file.suffix in (".eml", ".json", ".pdf", ".pyc") or file == Path(__file__):
                continue
            yield file


def test_no_comment_points_at_a_document_outside_the_repository():
    found = []
    for file in checked_files():
        for number, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if ELSEWHERE.search(line):
                found.append(f"{file.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
