"""Where the shared robustness corpus is (real mail and PDFs written by others, with a
MANIFEST.tsv; not in this repository for its size and licences): $MAILBOT_CORPUS, else
`../shared/corpus` beside the checkout.

Without it the corpus tests skip, saying how to get it; with MAILBOT_REQUIRE_SERVERS=1 (CI) they
fail instead, as a missing server does, so CI cannot pass without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from servers import require_or_skip

CORPUS_ENV = "MAILBOT_CORPUS"
BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _find() -> Path:
    """$MAILBOT_CORPUS, else `shared/corpus` beside the checkout or beside a folder above it (a
    worktree sits deeper than the main checkout)."""
    if os.environ.get(CORPUS_ENV):
        return Path(os.environ[CORPUS_ENV])
    for folder in Path(__file__).resolve().parents[1:]:
        if (folder / "shared" / "corpus" / "MANIFEST.tsv").is_file():
            return folder / "shared" / "corpus"
    return BESIDE_CHECKOUT


CORPUS = _find()
FOUND = (CORPUS / "MANIFEST.tsv").is_file()
HINT = (f"the shared robustness corpus is not at {CORPUS} (no MANIFEST.tsv): set {CORPUS_ENV}=/path/to/corpus "
        f"(the folder holding MANIFEST.tsv, emails/ and pdfs/) or put it at {BESIDE_CHECKOUT}")


def corpus_files(folder: str, pattern: str) -> list[Path]:
    """The corpus files to parametrize a test with; when the corpus is absent, one stand-in, so
    the test still runs and the `shared_corpus` fixture skips or fails it with the hint."""
    if not FOUND:
        return [CORPUS / folder / "corpus-not-found"]
    return sorted((CORPUS / folder).glob(pattern))


@pytest.fixture
def shared_corpus() -> Path:
    if not FOUND:
        require_or_skip(HINT)
    return CORPUS
