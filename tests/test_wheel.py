"""A built package works like the checkout: a wheel built from this source, installed into a
fresh venv outside the checkout, run from another folder, makes its database with
`mailbot db upgrade` and answers a complete request with `mailbot once` (Maildir in, .eml out).

The fresh venv takes mailbot from the wheel only; its dependencies (SQLAlchemy, pypdf, ...)
come from the test environment's site-packages through a .pth file, so the test needs no
package index. A .pth file's own .pth files are not run, so the checkout's editable install
stays invisible: the test checks where `mailbot` is imported from.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from office import patient_mail
from pdf_factory import HISTOLOGY_BREAST, MAMMOGRAPHY_REPORT, ONCOLOGIST_LETTER, filled_request_form, text_pdf

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
[office]
name = "Wheel Test Office"
address = "second.opinion@hospital.example.org"
[maildir]
path = "mail"
[outbox]
dir = "out"
[database]
url = "sqlite:///var/mailbot.db"
[storage]
dir = "var/documents"
[rules]
dir = "rules"
[payment]
beneficiary = "Example Hospital"
iban = "IT60X0542811101000000123456"
bic = "BPMOIT22XXX"
"""

FORM = dict(patient_name="Maria Rossi", patient_birth_date="1968-05-14", requestor_role="patient",
            condition="Breast cancer", consultation_type="oncological", language="en")


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAILBOT_CONFIG")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of a copy of the source (a build writes build/ and *.egg-info beside it)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mailbot", source / "mailbot", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", tmp_path / "wheels", source], cwd=tmp_path)
    (wheel,) = (tmp_path / "wheels").glob("mailbot-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    (purelib / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    return venv


def test_a_wheel_installed_outside_the_checkout_answers_a_complete_request(tmp_path):
    wheel = build_wheel(tmp_path)
    venv = fresh_venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    office = tmp_path / "office"
    elsewhere.mkdir()
    office.mkdir()
    mailbot = venv / "bin" / "mailbot"

    where = run([venv / "bin" / "python", "-c", "import mailbot; print(mailbot.__file__)"], elsewhere).stdout
    assert Path(where.strip()).is_relative_to(venv) and not Path(where.strip()).is_relative_to(ROOT)

    config = office / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    run([mailbot, "rules", "init", office / "rules"], elsewhere)
    assert "schema at revision" in run([mailbot, "--config", config, "db", "upgrade"], elsewhere).stdout
    run([mailbot, "--config", config, "db", "check"], elsewhere)

    box = mailbox.Maildir(office / "mail", create=True)
    box.add(patient_mail("Maria Rossi <maria.rossi@patient.example.net>", "Second opinion request",
                         "Hello, my documents are attached.",
                         [("request_form.pdf", filled_request_form(**FORM)),
                          ("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST)),
                          ("mammography_report_2026-02-20.pdf", text_pdf(MAMMOGRAPHY_REPORT)),
                          ("oncologist_report_2026-03-10.pdf", text_pdf(ONCOLOGIST_LETTER))]))
    out = run([mailbot, "--config", config, "once"], elsewhere).stdout
    assert "processed 1, quarantined 0, errors 0" in out

    replies = [p.read_bytes() for p in (office / "out").glob("*.eml")]
    subjects = [r.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0] for r in replies]
    assert any(s.endswith(b"Your second opinion request is complete") for s in subjects), subjects
    assert any(b"New case for triage" in s for s in subjects), subjects
    assert list(box.keys()) == []
    assert not (elsewhere / "var").exists() and not list(elsewhere.iterdir())   # nothing written in the cwd
