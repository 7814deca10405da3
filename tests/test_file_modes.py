"""Everything mailbot creates is 0600 in 0700 folders, whatever the umask.

Real `mailbot` subprocesses started under the usual umask 022: `once` against Dovecot and the
SMTP sink on SQLite, the daemon while it holds its database open (SQLite removes -wal and -shm
when the last connection closes, so after `once` has exited there are none to check), and the
demo (Maildir, directory outbox, config).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from mailbot.private_files import private_dirs, private_file, write_private
from mailbot.store.database import open_database, sqlite_file
from mailbot.store.files import FileStore
from office import patient_mail, write_config
from pdf_factory import HISTOLOGY_BREAST, text_pdf

MARIA = "Maria Rossi <maria.rossi@patient.example.net>"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _modes_under(root: Path) -> dict[str, int]:
    found = {".": _mode(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = _mode(path)
    return found


def _assert_private_tree(root: Path, *, skip: tuple[str, ...] = ()) -> int:
    """Every file 0600, every folder 0700 under `root`; returns how many were checked."""
    checked = 0
    for name, mode in _modes_under(root).items():
        if name.startswith(skip):
            continue
        path = root / name if name != "." else root
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{name}: {oct(mode)}, expected {oct(expected)}"
        checked += 1
    return checked


def _mailbot(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailbot", *args], env=env,
                            preexec_fn=lambda: os.umask(0o022), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def _office(tmp_path: Path, imap_account, smtp_sink) -> tuple[Path, dict[str, str]]:
    private = tmp_path / "office"      # made by mailbot: everything under it must be private
    config = write_config(tmp_path / "config.toml", imap=imap_account.imap_config("none"), smtp=smtp_sink,
                          db_url=f"sqlite:///{private}/var/db/mailbot.db", storage=private / "store" / "documents")
    env = {**os.environ, "TEST_IMAP_PASSWORD": imap_account.password}
    return config, env


def test_once_under_umask_022_leaves_only_private_files(tmp_path, imap_account, smtp_sink):
    config, env = _office(tmp_path, imap_account, smtp_sink)
    imap_account.deliver(patient_mail(MARIA, "Second opinion", "Hello",
                                      [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    proc = _mailbot(["--config", str(config), "once"], env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert len(smtp_sink.messages) == 1          # the reply went out: the run did real work
    root = tmp_path / "office"
    modes = _modes_under(root)
    assert modes["var"] == modes["var/db"] == 0o700
    assert modes["var/db/mailbot.db"] == 0o600
    assert any(name.startswith("store/documents/") and len(name) > 60 for name in modes)  # raw mail, PDF
    assert _assert_private_tree(root) >= 8


def test_database_wal_and_shm_are_private_while_the_daemon_runs(tmp_path, imap_account, smtp_sink):
    config, env = _office(tmp_path, imap_account, smtp_sink)
    imap_account.deliver(patient_mail(MARIA, "Second opinion", "Hello",
                                      [("histology_report_2026-03-02.pdf", text_pdf(HISTOLOGY_BREAST))]))
    proc = _mailbot(["--config", str(config), "run"], env)
    db = tmp_path / "office" / "var" / "db" / "mailbot.db"
    try:
        for _ in range(600):
            if smtp_sink.messages and db.with_name("mailbot.db-wal").exists() and \
                    db.with_name("mailbot.db-shm").exists():
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.1)
        assert smtp_sink.messages, "the daemon did not answer"
        for name in ("mailbot.db", "mailbot.db-wal", "mailbot.db-shm"):
            assert _mode(db.with_name(name)) == 0o600, name
        assert _assert_private_tree(tmp_path / "office") >= 8
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_demo_output_is_private_under_umask_022(tmp_path):
    out = tmp_path / "demo" / "output"
    proc = _mailbot(["demo", "--dir", str(out)], dict(os.environ))
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert any(out.joinpath("outbox").glob("*.eml"))
    assert _mode(tmp_path / "demo") == 0o700
    assert _assert_private_tree(out) >= 20


# --- the library on its own (no CLI umask) ------------------------------------------------------

def test_library_code_sets_modes_itself(tmp_path):
    old = os.umask(0o022)
    try:
        private_file(tmp_path / "a" / "b" / "db.sqlite")
        write_private(tmp_path / "c" / "config.toml", b"x")
        FileStore(tmp_path / "d" / "store").put(b"%PDF- patient data")
        open_database(f"sqlite:///{tmp_path}/e/f/mailbot.db")
        (tmp_path / "g").mkdir(mode=0o755)          # an existing folder of the site: left alone
        private_dirs(tmp_path / "g" / "h")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "g") == 0o755
    for name, mode in _modes_under(tmp_path).items():
        if name in (".", "g"):
            continue
        assert mode == (0o700 if (tmp_path / name).is_dir() else 0o600), name


def test_an_old_world_readable_database_is_tightened(tmp_path):
    db = tmp_path / "mailbot.db"
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).write_bytes(b"")
        os.chmod(db.with_name(db.name + suffix), 0o644)
    open_database(f"sqlite:///{db}")
    for suffix in ("", "-wal", "-shm"):
        assert _mode(db.with_name(db.name + suffix)) == 0o600, suffix


def test_sqlite_file_of_a_url():
    assert sqlite_file("sqlite:////var/lib/mailbot/mailbot.db") == Path("/var/lib/mailbot/mailbot.db")
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None
