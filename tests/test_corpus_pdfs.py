"""Every PDF of the shared robustness corpus is inspected without an exception and judged as
MANIFEST.tsv expects (readable, encrypted or broken); documented exceptions below."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from mailbot.documents.inspect import inspect_document
from corpus import CORPUS, corpus_files, shared_corpus  # noqa: F401  (the fixture)

MANIFEST = CORPUS / "MANIFEST.tsv"
pytestmark = pytest.mark.usefixtures("shared_corpus")

# Where our verdict differs from the manifest's expectation on purpose: file -> (verdict, reason).
EXCEPTIONS = {
    "pdfjs__issue19484_1.pdf": (
        "broken", "the empty password is accepted but the page tree is invalid: unreadable, so broken"),
}


def _manifest() -> dict[str, dict[str, str]]:
    if not MANIFEST.is_file():
        return {}
    with MANIFEST.open(newline="", encoding="utf-8") as handle:
        return {Path(row["file"]).name: row for row in csv.DictReader(handle, delimiter="\t")
                if row["kind"] == "pdf"}


ROWS = _manifest()
FILES = [p.name for p in corpus_files("pdfs", "*.pdf")]


def _expected_verdict(row: dict[str, str]) -> str | None:
    """ok | encrypted | broken, or None where the manifest has no firm expectation ("odd")."""
    name = Path(row["file"]).name
    if name in EXCEPTIONS:
        return EXCEPTIONS[name][0]
    expectation = row["expectation"]
    if expectation == "encrypted" and "opens with empty password" in row["note"]:
        return "ok"  # encrypted, but readable without a password: usable as is
    return expectation if expectation in ("ok", "encrypted", "broken") else None


def _note_number(note: str, label: str) -> int | None:
    match = re.search(rf"{label}=(\d+)", note)
    return int(match.group(1)) if match else None


def test_manifest_lists_every_pdf() -> None:
    assert FILES, "no PDFs in the corpus"
    assert set(FILES) == set(ROWS)
    assert set(EXCEPTIONS) <= set(ROWS)


@pytest.mark.parametrize("name", FILES)
def test_corpus_pdf(name: str) -> None:
    row = ROWS[name]
    data = (CORPUS / row["file"]).read_bytes()
    found = inspect_document(name, data)

    assert found.kind == "pdf" and found.is_pdf
    assert found.size == len(data)
    verdict = found.problem or "ok"
    assert verdict in ("ok", "encrypted", "broken"), found
    # The flags agree with the verdict.
    assert found.opens == (verdict == "ok")
    assert found.encrypted == (verdict == "encrypted")
    assert found.broken == (verdict == "broken")
    assert len(found.text) <= 200_000
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in found.fields.items())

    expected = _expected_verdict(row)
    if expected is None:  # "odd": opens, but some later step fails in pypdf; must stay usable
        assert verdict == "ok", (found.detail, row["note"])
        return
    assert verdict == expected, (found.detail, row["note"])
    if verdict == "ok":
        pages = _note_number(row["note"], "pages")
        if pages is not None:
            assert found.pages == pages
        fields = _note_number(row["note"], "AcroForm fields")
        if fields is not None:
            assert len(found.fields) == fields
        assert found.has_text == (sum(ch.isalpha() for ch in found.text) >= 40)
    else:
        assert found.pages == 0 and found.text == "" and found.detail


def test_known_text_layers_are_read() -> None:
    crazyones = inspect_document("x.pdf", (CORPUS / "pdfs" / "pypdf__crazyones.pdf").read_bytes())
    assert crazyones.has_text and "crazy ones" in crazyones.text.lower()
    encrypted_but_open = inspect_document(
        "x.pdf", (CORPUS / "pdfs" / "pdfjs__issue9972-1.pdf").read_bytes())
    assert encrypted_but_open.opens and len(encrypted_but_open.fields) == 6
