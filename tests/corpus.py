"""Where the shared robustness corpus is: $MAILBOT_CORPUS, else the first `shared/corpus` found
in a folder above this checkout (the main checkout and its worktrees sit at different depths)."""

from __future__ import annotations

import os
from pathlib import Path


def find_corpus() -> Path:
    if os.environ.get("MAILBOT_CORPUS"):
        return Path(os.environ["MAILBOT_CORPUS"])
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "shared" / "corpus" / "MANIFEST.tsv").is_file():
            return parent / "shared" / "corpus"
    return here.parents[2] / "shared" / "corpus"


CORPUS = find_corpus()
