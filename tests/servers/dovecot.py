"""A private Dovecot 2.3 instance in a temp dir, one per test session (stopping takes ~3 s).

Runs `dovecot -F -c CONF` with its own base_dir/state_dir/log, a passwd-file user, Maildir storage,
a plain (STARTTLS-capable) and an implicit-TLS listener on free 127.0.0.1 ports and a self-signed
certificate. As root, mail is stored as the `dovecot` user; as any other user, everything runs as
that user. Test helpers talk IMAP, so they work the same way in both cases.

With `introspection_url`, the instance also takes OAuth2 logins (SASL XOAUTH2 and OAUTHBEARER)
through Dovecot's `oauth2` passdb, which POSTs each token to that RFC 7662 endpoint; the
password passdb is then limited to PLAIN/LOGIN, so a password is never accepted as a token.
"""

from __future__ import annotations

import copy
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Callable
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from . import free_port, make_self_signed_cert

INSTALL_HINT = "Dovecot not installed: apt-get install dovecot-imapd dovecot-core"
SECOND_USER, SECOND_PASSWORD = "second.opinion.rome", "r0me-s3cret"


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None)


def _die_with_parent() -> None:
    """Linux: SIGTERM the server when the test process dies without its teardown (e.g. killed)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class DovecotServer:
    """Handle on the running instance: connection facts plus mailbox helpers for tests."""

    host = "127.0.0.1"

    def __init__(self, binary: str, username: str = "second.opinion", password: str = "s3cret-pass",
                 introspection_url: str = ""):
        self.binary = binary
        self.introspection_url = introspection_url
        self.username = username
        self.password = password
        # every login the instance knows: the office's, and a second office's mailbox
        self.users = {username: password, SECOND_USER: SECOND_PASSWORD}
        self.root = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
        os.chmod(self.root, 0o755)  # dovecot's auth/mail processes must reach their files
        self.port = free_port()
        self.ssl_port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self.mail_root = self.root / "mail"
        self.ca_file: str = ""
        self._proc: subprocess.Popen | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> "DovecotServer":
        cert, key = make_self_signed_cert(self.root, "dovecot")
        self.ca_file = str(cert)
        (self.root / "users").write_text("".join(f"{user}:{{PLAIN}}{secret}::::::\n"
                                                 for user, secret in self.users.items()))
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        as_root = os.geteuid() == 0
        if as_root:
            dovecot = pwd.getpwnam("dovecot")
            os.chown(self.mail_root, dovecot.pw_uid, dovecot.pw_gid)
        if self.introspection_url:
            (self.root / "dovecot-oauth2.conf.ext").write_text(
                f"introspection_mode = post\nintrospection_url = {self.introspection_url}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
        self.conf.write_text(self._config(cert, key, as_root))
        check = subprocess.run([self.binary, "-c", str(self.conf), "-n"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"dovecot rejected its test config:\n{check.stderr}")
        return self._launch(timeout)

    def restart(self, down_seconds: float = 0.0, timeout: float = 15.0,
                until: Callable[[], bool] | None = None) -> "DovecotServer":
        """Stop the server (every session dropped, the ports closed), stay down `down_seconds` (and
        until `until()` holds, at most a minute: a loaded machine can be slow to notice), start it
        again on the same ports with the same mail."""
        if self._proc is not None and self._proc.poll() is None:
            self.kick()   # the master's exit alone lets running imap processes serve on
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(timeout=15)
        time.sleep(down_seconds)
        deadline = time.monotonic() + 60
        while until is not None and not until() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self._launch(timeout)

    def _launch(self, timeout: float) -> "DovecotServer":
        with open(self.root / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen([self.binary, "-F", "-c", str(self.conf)],
                                          stdout=subprocess.DEVNULL, stderr=stderr,
                                          preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                with self.connect():  # the port opens before auth is ready: wait for a LOGIN
                    return self
            except (OSError, IMAPClientError) as exc:
                last_error = exc
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not accept a login within {timeout}s ({last_error}):\n{self.log_tail()}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _config(self, cert: Path, key: Path, as_root: bool) -> str:
        r = self.root
        if as_root:
            identity = "mail_uid = dovecot\nmail_gid = dovecot\nfirst_valid_uid = 1\n"
            login_chroot = anvil_chroot = ""
        else:
            user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
            identity = (f"default_login_user = {user}\ndefault_internal_user = {user}\n"
                        f"default_internal_group = {group}\nfirst_valid_uid = {os.getuid()}\n"
                        f"last_valid_uid = {os.getuid()}\n")
            login_chroot = anvil_chroot = "  chroot =\n"
        return f"""\
# Private test instance written by tests/servers/dovecot.py
base_dir = {r}/run
state_dir = {r}/state
instance_name = mailbot-test-{os.getpid()}
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.introspection_url else ""}
auth_failure_delay = 0
{identity}mail_location = maildir:{self.mail_root}/%u
mail_max_userip_connections = 500
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
{"  mechanisms = plain login" + chr(10) if self.introspection_url else ""}}}
{self._oauth2_passdb()}
userdb {{
  driver = static
  args = home={self.mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
{login_chroot}}}
service anvil {{
{anvil_chroot}  # auth cannot reach this socket, so it disables its per-IP penalty (up to 15 s of
  # extra delay on every login after a wrong-password test)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def _oauth2_passdb(self) -> str:
        if not self.introspection_url:
            return ""
        return (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.root}/dovecot-oauth2.conf.ext\n}}\n")

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def doveadm(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["doveadm", "-c", str(self.conf), *args], input=stdin,
                              capture_output=True, check=False)

    # -- helpers for tests ----------------------------------------------------------------------

    def account(self, username: str = SECOND_USER) -> "DovecotServer":
        """The same running server, seen as another of its users: deliver, messages, reset...
        work on that user's mailbox (never stop() it: that stops the server)."""
        other = copy.copy(self)
        other.username, other.password = username, self.users[username]
        return other

    def connect(self) -> IMAPClient:
        """A fresh logged-in plain IMAP connection (use as a context manager)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            client.login(self.username, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def imap_config(self, security: str = "none", **overrides):
        """An ImapConfig for this server (security none/starttls/ssl, ca_file set)."""
        from mailbot.config import ImapConfig

        values = dict(host=self.host, port=self.ssl_port if security == "ssl" else self.port,
                      security=security, username=self.username, password=self.password,
                      ca_file=self.ca_file, timeout_seconds=10)
        values.update(overrides)
        return ImapConfig(**values)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        """APPEND `raw` (unseen) to `folder`, creating it if needed; returns the new UID."""
        with self.connect() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw)
        text = response.decode() if isinstance(response, bytes) else str(response)
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        if "APPENDUID" in text:
            return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        return -1

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every message in `folder` in UID order ([] when the folder is missing)."""
        with self.connect() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search(["ALL"]))
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [fetched[uid][b"BODY[]"] for uid in uids]

    def flags(self, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
        """Flags of every message in `folder` in UID order (to check that \\Seen is never set)."""
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search(["ALL"]))
            fetched = client.get_flags(uids) if uids else {}
        return [tuple(fetched[uid]) for uid in uids]

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.connect() as client:
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]

    def folders(self) -> list[str]:
        with self.connect() as client:
            return sorted(name for _flags, _sep, name in client.list_folders())

    def kick(self) -> None:
        """Drop every IMAP session of the test user (simulates a server restart)."""
        self.doveadm("kick", self.username)

    def reset(self) -> None:
        """Wipe the user's mail: every folder but INBOX deleted, INBOX emptied."""
        with self.connect() as client:
            for _flags, _sep, name in sorted(client.list_folders(), key=lambda f: -len(f[2])):
                if name.upper() != "INBOX":
                    try:
                        client.delete_folder(name)
                    except IMAPClientError:
                        pass  # e.g. a parent already gone
            client.select_folder("INBOX")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
