"""Throughput of the intake pipeline (parse, assess PDFs, route, decide, commit, render).

    python bench/intake_bench.py [--messages 200] [--database-url URL]

Runs on a fresh SQLite database (or the given URL) with the shipped rules and a directory
outbox; reports messages per second for realistic patient mails (3 PDFs each) and for the
shared robustness corpus. Nothing here asserts a time: compare runs by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mailbot.app import build_app  # noqa: E402
from mailbot.config import load_config  # noqa: E402
from office import patient_mail  # noqa: E402
from pdf_factory import HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, text_pdf  # noqa: E402
from test_cli import local_config  # noqa: E402


def timed(app, messages: list[bytes]) -> list[float]:
    times = []
    for raw in messages:
        start = time.perf_counter()
        app.intake.process(raw)
        times.append(time.perf_counter() - start)
    return times


def report(label: str, times: list[float]) -> None:
    total = sum(times)
    print(f"{label:<28} {len(times):>5} msgs  {len(times) / total:8.1f} msg/s  "
          f"median {statistics.median(times) * 1000:7.1f} ms  max {max(times) * 1000:8.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = local_config(Path(tmp))
        if args.database_url:
            config.write_text(config.read_text().replace("sqlite:///mailbot.db", args.database_url))
        app = build_app(load_config(config))
        docs = [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST, pages=3)),
                ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
                ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER, pages=2))]
        body = ("patient_name: Patient {n}\npatient_birth_date: 1960-01-01\nrequestor_role: patient\n"
                "condition: breast cancer\n")
        mails = [patient_mail(f"P{n} <p{n}@patient.example.net>", "Second opinion", body.format(n=n), docs)
                 for n in range(args.messages)]
        report("patient mails (3 PDFs)", timed(app, mails))
        corpus = Path(os.environ.get("MAILBOT_CORPUS") or ROOT.parent / "shared" / "corpus") / "emails"
        if corpus.is_dir():
            report("shared corpus", timed(app, [p.read_bytes() for p in sorted(corpus.glob("*.eml"))]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
