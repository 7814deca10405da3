"""mailbot as a real process, logging in with OAuth2 to Dovecot and the SMTP sink: tokens that
expire between runs, a rotated refresh token that survives the restart, a revoked grant that
alerts the admins once while the other service keeps working, and `mailbot auth check`."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import time
from email import policy
from pathlib import Path

from sqlalchemy import select

from conftest import OAUTH_MAILBOX
from mailbot.store.database import open_database
from mailbot.store.models import OAuthToken, OutboxMessage
from office import patient_mail
from oauth_setup import ADMINS, oauth_env, oauth_table, write_oauth_config

ROOT = Path(__file__).resolve().parents[1]


def mailbot(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`mailbot --config CONFIG ARGS` in a process of its own: every run is a restart."""
    return subprocess.run([sys.executable, "-m", "mailbot", "--config", str(config), *args],
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)


def logins(server, mechanism: str = "XOAUTH2") -> int:
    return server.log_tail(100000).count(f"method={mechanism},")


def admin_alerts(sink) -> list:
    found = [email.message_from_bytes(m.content, policy=policy.default) for m in sink.messages]
    return [m for m in found if "mailbox login revoked" in m["Subject"] or "casella revocato" in m["Subject"]]


def rows(db_url: str, model):
    with open_database(db_url)() as session:
        return list(session.execute(select(model)).scalars())


def test_once_twice_across_token_expiry_with_the_rotated_token_after_restart(tmp_path, oauth_imap, oauth_sink, idp, db_url):
    configured = idp.new_grant(OAUTH_MAILBOX)
    env = oauth_env(idp, TEST_RT=configured)
    config = write_oauth_config(tmp_path, imap=oauth_imap, smtp=oauth_sink, idp=idp, db_url=db_url)
    imap_logins_before = logins(oauth_imap)   # the server's log covers the whole test session
    oauth_imap.deliver(patient_mail("Maria <maria@example.net>", "Info", "How do I ask for a second opinion?"))
    first = mailbot(config, env, "once")
    assert first.returncode == 0, first.stderr
    assert len(oauth_sink.messages) == 1 and oauth_imap.messages("INBOX") == []

    time.sleep(idp.lifetime + 0.2)   # every token of the first run has expired
    oauth_imap.deliver(patient_mail("Luca <luca@example.net>", "Info", "Which documents do you need?"))
    second = mailbot(config, env, "once")
    assert second.returncode == 0, second.stderr
    assert len(oauth_sink.messages) == 2 and oauth_imap.messages("INBOX") == []

    # Each run fetched one token for both services; the second run could only do so with the
    # refresh token the first one stored: the configured one was voided by the rotation.
    assert idp.refreshes == 2 and idp.current_refresh_token(OAUTH_MAILBOX) != configured
    (token1_user, _, token1), (token2_user, _, token2) = oauth_sink.oauth_logins
    assert token1 != token2 and token1_user == token2_user == OAUTH_MAILBOX
    assert logins(oauth_imap) - imap_logins_before == 2
    assert "maria" not in (first.stderr + second.stderr).lower()


def test_revoked_imap_grant_alerts_the_admins_once_and_smtp_keeps_working(tmp_path, oauth_imap, oauth_sink, idp):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    imap_rt, smtp_rt = idp.new_grant(OAUTH_MAILBOX), idp.new_grant(OAUTH_MAILBOX)
    env = oauth_env(idp, IMAP_RT=imap_rt, SMTP_RT=smtp_rt)
    config = write_oauth_config(tmp_path, imap=oauth_imap, smtp=oauth_sink, idp=idp, db_url=db_url,
                                imap_table=oauth_table("imap", idp, grant_env="IMAP_RT"),
                                smtp_table=oauth_table("smtp", idp, grant_env="SMTP_RT"))
    assert mailbot(config, env, "once").returncode == 0
    idp.revoke_grant(imap_rt)            # e.g. a password reset revoked what the IMAP login uses
    oauth_imap.deliver(patient_mail("Maria <maria@example.net>", "Info", "Hello"))
    runs = [mailbot(config, env, "once") for _ in range(2)]
    assert all(run.returncode == 3 for run in runs)   # the mailbox could not be read: a service unreachable
    alerts = admin_alerts(oauth_sink)
    assert sorted(a["To"] for a in alerts) == sorted(ADMINS)   # one alert: each admin once
    assert all(OAUTH_MAILBOX in a.get_body(("plain",)).get_content() for a in alerts)
    assert "The admins were sent an alert" in runs[0].stderr and OAUTH_MAILBOX in runs[0].stderr
    assert "The admins were sent an alert" not in runs[1].stderr
    assert len(oauth_imap.messages("INBOX")) == 1      # not read, not lost
    (imap_row, *_) = [r for r in rows(db_url, OAuthToken) if r.blocked_reason]
    assert imap_row.blocked_reason == "invalid_grant"

    check = mailbot(config, env, "auth", "check")
    assert check.returncode == 3
    imap_line, smtp_line = check.stdout.splitlines()
    assert imap_line.startswith("imap: FAIL") and "invalid_grant" in imap_line
    assert smtp_line.startswith("smtp: OK") and OAUTH_MAILBOX in smtp_line and "XOAUTH2" in smtp_line


def test_revoked_smtp_grant_does_not_stop_reading_mail(tmp_path, oauth_imap, oauth_sink, idp):
    db_url = f"sqlite:///{tmp_path}/db.sqlite"
    imap_rt, smtp_rt = idp.new_grant(OAUTH_MAILBOX), idp.new_grant(OAUTH_MAILBOX)
    env = oauth_env(idp, IMAP_RT=imap_rt, SMTP_RT=smtp_rt)
    config = write_oauth_config(tmp_path, imap=oauth_imap, smtp=oauth_sink, idp=idp, db_url=db_url,
                                imap_table=oauth_table("imap", idp, grant_env="IMAP_RT"),
                                smtp_table=oauth_table("smtp", idp, grant_env="SMTP_RT", mechanism="oauthbearer"))
    idp.revoke_grant(smtp_rt)
    oauth_imap.deliver(patient_mail("Maria <maria@example.net>", "Info", "Hello"))
    for _ in range(2):
        mailbot(config, env, "once")
    assert oauth_imap.messages("INBOX") == [] and len(oauth_imap.messages("Processed")) == 1
    assert oauth_sink.messages == []
    queued = rows(db_url, OutboxMessage)
    assert sorted(m.recipients[0] for m in queued if m.purpose == "admin/notice") == sorted(ADMINS)
    assert all(m.status == "queued" for m in queued)   # reply and alerts wait for SMTP to work again


def test_auth_check_says_as_whom_and_how(tmp_path, oauth_imap, oauth_sink, idp):
    env = oauth_env(idp, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    config = write_oauth_config(tmp_path, imap=oauth_imap, smtp=oauth_sink, idp=idp,
                                db_url=f"sqlite:///{tmp_path}/db.sqlite")
    check = mailbot(config, env, "auth", "check")
    assert check.returncode == 0, check.stderr
    imap_line, smtp_line = check.stdout.splitlines()
    assert imap_line.startswith("imap: OK") and f"as {OAUTH_MAILBOX} (XOAUTH2, token from generic)" in imap_line
    assert smtp_line.startswith("smtp: OK") and f"as {OAUTH_MAILBOX} (XOAUTH2, token from generic)" in smtp_line

    oauth_sink.stop()                      # a server that cannot be reached
    check = mailbot(config, env, "auth", "check")
    assert check.returncode == 3 and check.stdout.splitlines()[1].startswith("smtp: FAIL")

    broken = {**env}
    del broken["TEST_CLIENT_SECRET"]       # a config error: the variable a key names is missing
    check = mailbot(config, broken, "auth", "check")
    assert check.returncode == 2 and "TEST_CLIENT_SECRET" in check.stderr


def test_daemon_logs_in_again_with_a_refreshed_token(tmp_path, oauth_imap, oauth_sink, idp):
    """`mailbot run`: the server drops the session after the token expired; the daemon's next
    login uses a refreshed token, and mail keeps flowing."""
    env = oauth_env(idp, TEST_RT=idp.new_grant(OAUTH_MAILBOX))
    config = write_oauth_config(tmp_path, imap=oauth_imap, smtp=oauth_sink, idp=idp,
                                db_url=f"sqlite:///{tmp_path}/db.sqlite")
    before = logins(oauth_imap)
    proc = subprocess.Popen([sys.executable, "-m", "mailbot", "--config", str(config), "run"],
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for n, name in enumerate(("Maria <maria@example.net>", "Luca <luca@example.net>"), start=1):
            if n == 2:
                time.sleep(idp.lifetime + 0.2)   # the first token is dead now
                oauth_imap.kick()                # and the server drops the daemon's session
            oauth_imap.deliver(patient_mail(name, "Info", "How do I ask for a second opinion?"))
            deadline = time.monotonic() + 30
            while len(oauth_sink.messages) < n and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            assert len(oauth_sink.messages) == n, proc.stderr.read() if proc.poll() is not None else ""
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    assert logins(oauth_imap) - before >= 2 and idp.refreshes >= 2
    assert oauth_imap.messages("INBOX") == []


def test_auth_check_with_password_logins(tmp_path, imap_account, smtp_sink_tls, monkeypatch, capsys):
    from office import Office

    office = Office(tmp_path, imap_account, smtp_sink_tls, f"sqlite:///{tmp_path}/db.sqlite", monkeypatch)
    text = office.config.read_text().replace('security = "none"\n\n[delivery]', (
        f'security = "starttls"\nusername = "{smtp_sink_tls.username}"\npassword_env = "TEST_SMTP_PASSWORD"\n'
        f'ca_file = "{smtp_sink_tls.ca_file}"\n\n[delivery]'))
    office.config.write_text(text)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", smtp_sink_tls.password)
    assert office.cli("auth", "check") == 0
    imap_line, smtp_line = capsys.readouterr().out.splitlines()
    assert imap_line.startswith("imap: OK") and f"as {imap_account.username} (password)" in imap_line
    assert smtp_line.startswith("smtp: OK") and f"as {smtp_sink_tls.username} (password)" in smtp_line
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong")
    assert office.cli("auth", "check") == 3
    assert capsys.readouterr().out.startswith("imap: FAIL")
