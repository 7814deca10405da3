"""config.toml -> Config. Unknown keys and bad values are errors naming file and key."""

from __future__ import annotations

import logging
import os
import re
import tomllib
from datetime import time as dt_time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from mailbot.errors import ConfigError
from mailbot.rulebook.payment import checked_bic, checked_iban

log = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _secret(section: BaseModel, name: str) -> str:
    """A `name` value, or the environment variable named by `name_env`."""
    direct = getattr(section, name)
    if direct:
        return direct
    var = getattr(section, f"{name}_env")
    if not var:
        return ""
    value = os.environ.get(var)
    if value is None:
        raise ConfigError(f"environment variable {var} (named by {name}_env) is not set")
    return value


def email_address(value: str) -> str:
    """`value` if it is a plain email address (no display name), else ValueError saying why."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not an email address: {exc}") from None
    return value


class OfficeConfig(Section):
    name: str = "Second Opinion Office"
    address: str                       # From: of every message; a plain address, checked
    case_prefix: str = Field(default="SO", pattern=r"^[A-Z]{1,6}$")
    timezone: str = "Europe/Rome"
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = ["en", "it"]   # templates must exist
    # documents confidently written in another language need an official translation
    accepted_languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = ["en", "it"]
    max_attachment_mb: int = Field(default=25, ge=1, le=200)
    max_replies_per_address_per_day: int = Field(default=10, ge=1)

    @field_validator("address")
    @classmethod
    def _plain_address(cls, value: str) -> str:
        return email_address(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("languages", "accepted_languages")
    @classmethod
    def _some_language(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one language")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


class ServerSection(Section):
    """A mail server connection: plain text (security = "none") only to this machine."""

    @model_validator(mode="after")
    def _plain_only_on_loopback(self):
        if self.security == "none" and self.host not in LOOPBACK_HOSTS:
            raise ValueError("security = \"none\" is allowed only for a loopback host")
        return self


LOGIN_MECHANISMS = ("xoauth2", "oauthbearer")
DEFAULT_SCOPES = {  # what a token must allow, per provider (Microsoft: client credentials / refresh token)
    "microsoft_app": "https://outlook.office365.com/.default",
    "microsoft_user": "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
    "google": "https://mail.google.com/",
    "generic": "",
}


class OAuth2Config(Section):
    """`[imap.oauth2]` / `[smtp.oauth2]`: where the login's access tokens come from.

    Secrets only by environment variable: the client secret, the refresh token (the one an admin
    got at consent; rotated ones are stored encrypted in the database) and the key they are
    encrypted with.
    """

    provider: Literal["microsoft", "google", "generic"]
    client_id: str = Field(min_length=1)
    client_secret_env: str = ""
    refresh_token_env: str = ""      # empty for Microsoft client credentials (a shared mailbox)
    token_key_env: str = ""          # Fernet key(s), comma-separated, newest first
    tenant: str = ""                 # microsoft: the tenant id or domain
    authority: str = "https://login.microsoftonline.com"   # microsoft
    token_url: str = ""              # generic (google: its own endpoint unless set)
    scope: str = ""                  # empty: the provider's default (DEFAULT_SCOPES)
    mechanism: Literal["xoauth2", "oauthbearer"] = "xoauth2"
    ca_file: str = ""                # CA bundle for the token endpoint's https (default: the system's)

    @model_validator(mode="after")
    def _complete_for_provider(self) -> "OAuth2Config":
        if self.provider == "microsoft":
            if not self.tenant:
                raise ValueError("tenant: required for provider \"microsoft\" (the tenant id or domain)")
            if not self.authority.startswith("https://"):
                raise ValueError("authority: must be an https:// URL (msal refuses anything else)")
            if not (self.client_secret_env or self.refresh_token_env):
                raise ValueError("client_secret_env: required for client credentials (or give "
                                 "refresh_token_env for a delegated login)")
        if self.provider == "google" and not (self.refresh_token_env and self.client_secret_env):
            raise ValueError("refresh_token_env and client_secret_env: both required for provider \"google\"")
        if self.provider == "generic":
            if not self.token_url:
                raise ValueError("token_url: required for provider \"generic\"")
            if not (self.refresh_token_env or self.client_secret_env):
                raise ValueError("refresh_token_env: required for provider \"generic\" (or "
                                 "client_secret_env for client credentials)")
        if self.token_url and not _https_or_loopback(self.token_url):
            raise ValueError("token_url: must be https:// (plain http only to a loopback host)")
        if self.refresh_token_env and not self.token_key_env:
            raise ValueError("token_key_env: required with refresh_token_env (rotated refresh tokens "
                             "are stored in the database, encrypted with this key)")
        return self

    @property
    def uses_refresh_token(self) -> bool:
        return bool(self.refresh_token_env)

    @property
    def scopes(self) -> list[str]:
        key = self.provider
        if self.provider == "microsoft":
            key = "microsoft_user" if self.uses_refresh_token else "microsoft_app"
        return (self.scope or DEFAULT_SCOPES[key]).split()

    def client_secret(self) -> str:
        return _env_secret(self.client_secret_env, "client_secret_env")

    def refresh_token(self) -> str:
        return _env_secret(self.refresh_token_env, "refresh_token_env")

    def token_keys(self) -> str:
        return _env_secret(self.token_key_env, "token_key_env")

    def read_secrets(self) -> None:
        """Read every secret now, so a missing variable or a bad key stops the start."""
        self.client_secret(), self.refresh_token()
        if self.token_key_env:
            from mailbot.auth.crypto import token_cipher

            token_cipher(self.token_keys(), f"the variable {self.token_key_env} (named by token_key_env)")


def _env_secret(var: str, key: str) -> str:
    if not var:
        return ""
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"environment variable {var} (named by {key}) is not set")
    return value


def _https_or_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


class LoginSection(ServerSection):
    """The login part shared by [imap] and [smtp]: a password (default) or OAuth2 tokens."""

    auth: Literal["password", "oauth2"] = "password"
    oauth2: OAuth2Config | None = None

    @model_validator(mode="after")
    def _auth_matches_settings(self):
        if self.auth == "oauth2":
            if self.oauth2 is None:
                raise ValueError("auth = \"oauth2\" needs an oauth2 table (provider, client_id, ...)")
            if not self.username:
                raise ValueError("username: required with auth = \"oauth2\" (the mailbox address)")
            if self.password or self.password_env:
                raise ValueError("password / password_env: not used with auth = \"oauth2\"; remove them")
        elif self.oauth2 is not None:
            raise ValueError("oauth2: given, but auth is \"password\"; set auth = \"oauth2\" to use it")
        return self

    def read_secrets(self) -> None:
        if self.oauth2 is not None:
            self.oauth2.read_secrets()
        else:
            self.secret()


class ImapConfig(LoginSection):
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str
    password: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: int = Field(default=60, ge=1)
    idle: bool = True
    timeout_seconds: int = Field(default=30, ge=1)
    ca_file: str = ""          # trust this CA (or self-signed cert) in addition to the system's
    verify_certificate: bool = True

    def secret(self) -> str:
        return "" if self.auth == "oauth2" else _secret(self, "password")


class MaildirConfig(Section):
    path: str
    poll_seconds: int = Field(default=5, ge=1)


class MailboxEntry(Section):
    """One `[[mailboxes]]` entry: a name for the log, and where its mail is read (IMAP or Maildir)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$")
    hospital: str = ""    # rules/hospitals.toml id: its mail is for that hospital unless it names another
    imap: ImapConfig | None = None
    maildir: MaildirConfig | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "MailboxEntry":
        if (self.imap is None) == (self.maildir is None):
            raise ValueError("give exactly one of imap or maildir in each [[mailboxes]] entry")
        return self


class SmtpConfig(LoginSection):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    password_env: str = ""
    timeout_seconds: int = Field(default=30, ge=1)
    ca_file: str = ""
    verify_certificate: bool = True

    def secret(self) -> str:
        return _secret(self, "password") if self.username and self.auth == "password" else ""


class DirectoryOutboxConfig(Section):
    dir: str


SUPPORTED_DATABASES = ("sqlite", "postgresql", "postgresql+psycopg")


class DatabaseConfig(Section):
    url: str = "sqlite:///var/mailbot.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in SUPPORTED_DATABASES:
            shown = scheme or value.split("/", 1)[0][:40]
            raise ValueError(f"unsupported database {shown!r}: use sqlite:///PATH or "
                             "postgresql+psycopg://USER@HOST/DB")
        return value


class StorageConfig(Section):
    dir: str = "var/documents"


class RulesConfig(Section):
    dir: str = "rules"


class OcrConfig(Section):
    """OCR of phone photos and scans with Tesseract (when it is installed)."""
    enabled: bool = True
    page_seconds: int = Field(default=60, ge=5, le=600)        # a page that takes longer is skipped
    pages_per_message: int = Field(default=30, ge=1, le=1000)  # pages read for one message at most
    seconds_per_message: int = Field(default=300, ge=10)       # time spent on OCR for one message at most
    queue_seconds: int = Field(default=60, ge=5)               # how often `run` reads queued long scans


class TemplatesConfig(Section):
    dir: str = ""              # the office's own wording: a file here replaces the packaged one


class PaymentConfig(Section):
    """The account every paying patient is shown: a typo here sends their money astray, so the
    IBAN's check digits, length and country and the BIC's form are checked (schwifty)."""

    beneficiary: str = Field(min_length=1)
    iban: str
    bic: str

    @field_validator("iban")
    @classmethod
    def _real_iban(cls, value: str) -> str:
        return checked_iban(value)

    @field_validator("bic")
    @classmethod
    def _real_bic(cls, value: str) -> str:
        return checked_bic(value)


class SecurityConfig(Section):
    require_authenticated_staff: bool = False
    authserv_id: str = ""      # the authserv-id our receiving server writes in Authentication-Results

    @model_validator(mode="after")
    def _need_server_id(self) -> "SecurityConfig":
        if self.require_authenticated_staff and not self.authserv_id:
            raise ValueError("require_authenticated_staff needs authserv_id (your receiving server's name)")
        return self


class RemindersConfig(Section):
    missing_documents_days: list[int] = [14, 30, 60]   # after the case was opened
    payment_days: list[int] = [7, 14]                   # after triage approval
    triage_working_days: int = Field(default=2, ge=1)
    report_working_days: int = Field(default=5, ge=1)
    remind_working_days_before: int = Field(default=1, ge=0)   # staff reminder when this close to the deadline

    @field_validator("missing_documents_days", "payment_days")
    @classmethod
    def _positive_sorted(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError("days must be positive")
        return sorted(set(value))


class RetentionConfig(Section):
    incomplete_days: int = Field(default=90, ge=1)      # incomplete cases are deleted this long after opening
    warn_days_before: int = Field(default=10, ge=0)
    closed_days: int = Field(default=3650, ge=1)        # closed cases are purged this long after closing


class SchedulerConfig(Section):
    deadlines_seconds: int = Field(default=300, ge=5)
    retention_seconds: int = Field(default=3600, ge=5)
    outbox_seconds: int = Field(default=30, ge=1)
    housekeeping_seconds: int = Field(default=86400, ge=5)   # orphan files and stale temporary files
    outage_retry_max_seconds: int = Field(default=120, ge=1)  # backoff cap while a service is down


class DigestConfig(Section):
    """`[digest]`: the admins' daily summary mail at `time` (office time), in each admin's
    language; sent once a day by whichever process gets there first, late if none ran at the
    time. Without the section, no digest."""

    time: str = Field(default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    @property
    def at(self) -> dt_time:
        hours, minutes = self.time.split(":")
        return dt_time(int(hours), int(minutes))


MAX_RETRY_SECONDS = 1800   # a queued message is tried at least every 30 minutes


class OutboxPolicy(Section):
    """Temporary failures are retried for as long as it takes; the admins hear of a delay once."""

    max_attempts: int | None = Field(default=None, ge=1)   # deprecated: accepted and ignored
    retry_base_seconds: int = Field(default=60, ge=1)      # doubles after each failed attempt...
    retry_max_seconds: int = Field(default=MAX_RETRY_SECONDS, ge=1, le=MAX_RETRY_SECONDS)  # ...up to this
    alert_after_minutes: int = Field(default=240, ge=1)    # undelivered this long: admins are told once


class Config(Section):
    office: OfficeConfig
    imap: ImapConfig | None = None
    maildir: MaildirConfig | None = None
    mailboxes: list[MailboxEntry] = []    # several mailboxes, one database (instead of [imap]/[maildir])
    smtp: SmtpConfig | None = None
    outbox: DirectoryOutboxConfig | None = None
    delivery: OutboxPolicy = OutboxPolicy()
    security: SecurityConfig = SecurityConfig()
    reminders: RemindersConfig = RemindersConfig()
    retention: RetentionConfig = RetentionConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    digest: DigestConfig | None = None
    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    rules: RulesConfig = RulesConfig()
    templates: TemplatesConfig = TemplatesConfig()
    ocr: OcrConfig = OcrConfig()
    payment: PaymentConfig

    base_dir: Path = Path(".")  # the config file's folder; relative paths are resolved against it
    _per_mailbox: list | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_source_one_sink(self) -> "Config":
        if self.mailboxes:
            if self.imap is not None or self.maildir is not None:
                raise ValueError("give [[mailboxes]] or one [imap] / [maildir], not both")
            names = [m.name for m in self.mailboxes]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"mailboxes: the name {twice[0]!r} is used twice; give each mailbox its own")
        elif (self.imap is None) == (self.maildir is None):
            raise ValueError("give exactly one of [imap] or [maildir] (or several [[mailboxes]])")
        if (self.smtp is None) == (self.outbox is None):
            raise ValueError("give exactly one of [smtp] or [outbox]")
        return self

    def mailbox_configs(self) -> list[tuple[str, "Config"]]:
        """(service name, a config reading only that mailbox) for each mailbox: "mailbox" for the
        single [imap] / [maildir], "mailbox <name>" for each [[mailboxes]] entry."""
        if not self.mailboxes:
            return [("mailbox", self)]
        if self._per_mailbox is None:   # made once: an OAuth2 token source lives as long as its Config
            self._per_mailbox = [(f"mailbox {m.name}", self.model_copy(
                update={"imap": m.imap, "maildir": m.maildir, "mailboxes": []})) for m in self.mailboxes]
        return list(self._per_mailbox)

    def mailbox_hospitals(self) -> dict[str, str]:
        """Service name -> the hospital a [[mailboxes]] entry serves (`hospital`), where given."""
        return {f"mailbox {m.name}": m.hospital for m in self.mailboxes if m.hospital}

    @property
    def poll_seconds(self) -> int:
        """The shortest poll interval of the mailboxes."""
        return min((c.imap or c.maildir).poll_seconds for _name, c in self.mailbox_configs())

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix):]).resolve())
        return url


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"] if not isinstance(part, int) or True)
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        msg = "unknown key"
    if error["type"] == "value_error":   # "Value error, tenant: required" -> "x.oauth2.tenant: required"
        msg = msg.removeprefix("Value error, ")
        named = re.match(r"([a-z_]+): (.*)", msg, re.S)
        if named:
            key, msg = f"{key}.{named[1]}" if key else named[1], named[2]
    return f"{key}: {msg}" if key else msg


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config PATH or MAILBOT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "base_dir" in data:
        raise ConfigError(f"{path}: base_dir: unknown key")
    data["base_dir"] = path.resolve().parent
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        if len(errors) == 1:   # the usual case: one line, file and key
            raise ConfigError(f"invalid config file {path}: {_describe(errors[0])}") from None
        problems = "\n".join(f"  {path}: {_describe(e)}" for e in errors)
        raise ConfigError(f"invalid config file {path}:\n{problems}") from None
    if config.delivery.max_attempts is not None:
        log.warning("%s: delivery.max_attempts is deprecated and ignored: temporary delivery "
                    "failures are retried until they succeed (see delivery.alert_after_minutes)", path)
    # Read secrets now so a missing variable stops the start, not the first login.
    for section in (config.imap, config.smtp, *(m.imap for m in config.mailboxes)):
        if section is not None:
            try:
                section.read_secrets()
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
    return config
