"""Time spent on OCR: mailbot's way (the tesseract CLI, one run per page giving the text layer
and the word confidences at once, one thread), against pytesseract and ocrmypdf when they are
installed (they are not mailbot's dependencies; `pip install pytesseract ocrmypdf` to compare).

    python bench/ocr_bench.py [--pages 3]

Inputs are made here: a printed page photographed by a phone (turned, blurred, grainy JPEG),
and a scan of `--pages` pages. Prints seconds per run and per page; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mailbot.documents.photos import ocr_scan, photo_to_pdf  # noqa: E402
from mailbot.ocr import Tesseract, find_tesseract  # noqa: E402
from pdf_factory import CT_REPORT, HISTOLOGY_BREAST  # noqa: E402
from photo_factory import jpeg, photographed, printed_page, scanned_pdf_of  # noqa: E402


def timed(label: str, pages: int, action) -> None:
    start = time.perf_counter()
    try:
        action()
    except Exception as exc:   # a tool missing or failing is reported, the others still run
        print(f"{label:<44} failed: {type(exc).__name__}: {exc}"[:160])
        return
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:6.1f} s  ({seconds / pages:.1f} s a page)")


def mailbot_ways(binary: str, photo: bytes, scan: bytes, pages: int) -> None:
    timed("mailbot: photo -> searchable PDF", 1, lambda: photo_to_pdf(photo, Tesseract(binary).page))
    timed(f"mailbot: scan of {pages} pages -> searchable", pages,
          lambda: ocr_scan(scan, pages, Tesseract(binary).page, pages))
    threads = Tesseract(binary)
    os.environ.pop("OMP_THREAD_LIMIT", None)

    def default_threads() -> None:
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([threads.binary, "-", f"{folder}/p", "-l", "eng+ita", "pdf", "tsv"], input=photo,
                           capture_output=True, check=True)
    timed("tesseract CLI, its default threads (photo)", 1, default_threads)


def pytesseract_way(photo: bytes) -> None:
    import pytesseract
    from PIL import Image
    image = Image.open(io.BytesIO(photo))

    def both() -> None:   # pytesseract runs tesseract once per output
        pytesseract.image_to_data(image, lang="eng+ita")
        pytesseract.image_to_pdf_or_hocr(image, lang="eng+ita", extension="pdf")
    timed("pytesseract: data + pdf (photo)", 1, both)


def ocrmypdf_way(photo_pdf: bytes, scan: bytes, pages: int) -> None:
    binary = shutil.which("ocrmypdf")
    if binary is None:
        print(f"{'ocrmypdf':<44} not installed")
        return
    with tempfile.TemporaryDirectory() as folder:
        for label, data, count in (("photo", photo_pdf, 1), (f"scan of {pages} pages", scan, pages)):
            source = Path(folder) / "in.pdf"
            source.write_bytes(data)
            timed(f"ocrmypdf: {label}", count, lambda: subprocess.run(
                [binary, "-q", "-l", "eng+ita", "--output-type", "pdf", str(source), f"{folder}/out.pdf"],
                check=True, capture_output=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    binary = find_tesseract()
    if binary is None:
        sys.exit("Tesseract with eng+ita is not installed: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-ita")
    photo = jpeg(photographed(printed_page(HISTOLOGY_BREAST)))
    scan = scanned_pdf_of([printed_page(CT_REPORT)] * args.pages)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    mailbot_ways(binary, photo, scan, args.pages)
    try:
        pytesseract_way(photo)
    except ImportError:
        print(f"{'pytesseract':<44} not installed")
    ocrmypdf_way(photo_to_pdf(photo, None).pdf, scan, args.pages)


if __name__ == "__main__":
    main()
