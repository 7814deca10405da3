"""OCR with Tesseract: the one place mailbot runs an outside program on a document (shell).

The pure core (documents/photos.py) decides what to read and what the result means; it is handed
`Tesseract.page` as a function (image bytes -> OcrPage). One call is one run of Debian's
`tesseract` CLI, English and Italian, on one page image, that writes both outputs at once: a
text-only PDF page (the invisible text layer the core lays over the original image) and TSV (the
words and their confidence). Measured on this project's machines (bench/ocr_bench.py; README,
Performance): one thread and one run for both outputs is the fastest way to get both (pytesseract
runs Tesseract once per output, so twice as long; ocrmypdf took twice as long a page for a scan
and far longer for a photo, with 110 MB of memory and more dependencies), and it leaves the
decisions (what to read, what counts as readable, how the PDF is made) to the core.

Bounded cost: `OMP_THREAD_LIMIT=1` (Tesseract's own threads only slow a shared machine down), a
time limit per page (the process is killed past it), and a budget per message of pages
(`budget`) and of time (`total_seconds`): once either is spent, no page is started. The image goes in on stdin and the outputs come out in a
private temporary folder under fixed names, removed at once: no document is ever written under
its own name.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mailbot.documents.photos import OcrPage

log = logging.getLogger("mailbot.ocr")

LANGUAGES = "eng+ita"
INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-ita"


def find_tesseract() -> str | None:
    """The tesseract binary, when it is installed with English and Italian; else None."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    langs = set(listed.split())
    return binary if {"eng", "ita"} <= langs else None


@dataclass
class Tesseract:
    binary: str
    page_seconds: float = 60.0     # a page that takes longer is given up
    budget: int = 30               # pages one message may have read; spent by `page`
    total_seconds: float = 300.0   # time one message may spend on OCR; past it, no page is started
    pages_read: int = 0
    seconds: float = 0.0

    def for_message(self) -> "Tesseract":
        """A fresh budget for one message."""
        return Tesseract(self.binary, self.page_seconds, self.budget, self.total_seconds)

    def page(self, image: bytes) -> OcrPage | None:
        """Read one page image (PNG, JPEG, TIFF...). None when the budget is spent, or Tesseract
        failed or ran out of time (the document is then taken as it came)."""
        if self.pages_read >= self.budget or self.seconds >= self.total_seconds:
            return None
        self.pages_read += 1
        start = time.monotonic()
        try:
            return self._run(image)
        except subprocess.TimeoutExpired:
            log.warning("OCR: a page took more than %.0f s and was skipped", self.page_seconds)
            return None
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.warning("OCR: tesseract failed (%s)", type(exc).__name__)
            return None
        finally:
            self.seconds += time.monotonic() - start

    def _run(self, image: bytes) -> OcrPage:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mailbot-ocr-") as folder:
            out = Path(folder) / "page"
            subprocess.run([self.binary, "-", str(out), "-l", LANGUAGES, "-c", "textonly_pdf=1", "pdf", "tsv"],
                           input=image, capture_output=True, timeout=self.page_seconds, check=True, env=env)
            layer = out.with_suffix(".pdf").read_bytes()
            tsv = out.with_suffix(".tsv").read_text(encoding="utf-8", errors="replace")
        text, confidence = _read_tsv(tsv)
        return OcrPage(text=text, confidence=confidence, layer=layer, seconds=time.monotonic() - start)


def _read_tsv(tsv: str) -> tuple[str, float]:
    """The words in reading order (a line break per line) and their mean confidence (-1: none)."""
    lines: dict[tuple[str, str, str, str], list[str]] = {}
    confidences = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        word = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            conf = -1
        if not word or conf < 0:
            continue
        confidences.append(conf)
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(word)
    text = "\n".join(" ".join(words) for words in lines.values())
    return text, (sum(confidences) / len(confidences) if confidences else -1.0)
