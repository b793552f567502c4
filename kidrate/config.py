"""Settings from KIDRATE_* environment variables: read once, validated, then read-only.

Every variable is documented in the README with its default; this module is the only place that
reads the environment.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from limits import parse_many

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The municipalities' calendar: a moment stored in naive UTC falls on this zone's date (links, reports,
# exports, the audit log's filters, the dates staff read).
LOCAL_ZONE = ZoneInfo("Europe/Stockholm")


class ConfigError(ValueError):
    """A KIDRATE_* variable has a value the app cannot run with."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _data_key(name: str, raw: str) -> bytes:
    """A data key is 32 random bytes written as URL-safe base64 (`kidrate new-data-key` prints one)."""
    try:
        key = base64.urlsafe_b64decode(raw.strip().encode())
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} must be URL-safe base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must hold 32 bytes (44 characters of URL-safe base64)")
    return key


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero")
    return value


def _non_negative_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be zero or more")
    return value


def _rate(name: str, raw: str) -> None:
    """A rate limit as Flask-Limiter reads it ("10 per minute", "100/hour; 1000/day"), checked at
    start-up rather than on the first request it would apply to."""
    try:
        items = parse_many(raw)
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise ConfigError(f'{name} must be a rate such as "10 per minute", not {raw!r}')


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_path: Path = PROJECT_ROOT / "instance"
    database_url: str = ""
    secret_key: str = ""
    https: bool = False
    base_url: str = "http://127.0.0.1:5000"
    default_locale: str = "sv"
    idle_minutes: int = 30
    link_days: int = 14
    invite_hours: int = 72
    exit_url: str = "https://www.smhi.se/"
    # Staff must use a second factor (TOTP) to sign in.
    require_totp: bool = False
    # Shared store for rate limits across processes; empty: each process counts in memory.
    redis_url: str = ""
    sign_in_limit: str = "10 per minute"
    child_limit: str = "60 per minute"
    # How many proxies in front append to X-Forwarded-For (and set X-Forwarded-Proto): only their word
    # counts. 0: forwarded headers are ignored, so a client cannot pick the address it is counted under.
    trusted_proxies: int = 0
    # Encrypts the child's words and professionals' free text at rest (AES-GCM); older keys still
    # decrypt until `kidrate rotate-key` has re-encrypted everything with the current one.
    data_key: bytes = b""
    old_data_keys: tuple[bytes, ...] = ()
    # Case content is purged this many years after closure; audit events after audit_retention_years.
    retention_years: int = 5
    audit_retention_years: int = 10
    # E-mail notices through the organisation's SMTP server (kidrate/notifications/); no host: none are sent.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_starttls: bool = True
    testing: bool = False

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def production(self) -> bool:
        return self.env == "production"


def _check_smtp(values: dict[str, object], production: bool) -> None:
    """E-mail settings that can work: a sender's address with the host, a user with a password, the
    password never in the clear in production, and links in e-mails to the public https address."""
    host = str(values["smtp_host"])
    port = values["smtp_port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("KIDRATE_SMTP_PORT must be a port number (1-65535)")
    for name in ("smtp_host", "smtp_user", "smtp_password", "smtp_from"):
        if any(c in str(values[name]) for c in "\r\n\0"):
            raise ConfigError(f"KIDRATE_{name.upper()} must be one line")
    if not host:
        return
    if any(c.isspace() for c in host):
        raise ConfigError("KIDRATE_SMTP_HOST must be a host name or address")
    sender = str(values["smtp_from"])
    if "@" not in parseaddr(sender)[1]:
        raise ConfigError("KIDRATE_SMTP_FROM must be the sender's e-mail address when KIDRATE_SMTP_HOST is set")
    if bool(values["smtp_user"]) != bool(values["smtp_password"]):
        raise ConfigError("KIDRATE_SMTP_USER and KIDRATE_SMTP_PASSWORD go together")
    if production and values["smtp_user"] and not values["smtp_starttls"]:
        raise ConfigError("KIDRATE_SMTP_STARTTLS must be on in production when a password is sent")
    if production and not str(values["base_url"]).startswith("https://"):
        raise ConfigError("KIDRATE_BASE_URL must be the public https:// address: e-mails link to it")


def new_data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _generated(instance_path: Path, name: str, make) -> str:
    """Outside production, keep a generated key in the instance folder so it survives restarts."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = make()
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build validated settings from the environment; keyword overrides win (used by tests)."""
    env = os.environ if environ is None else environ
    get = env.get

    mode = get("KIDRATE_ENV", "development")
    if mode not in {"development", "production"}:
        raise ConfigError("KIDRATE_ENV must be development or production")
    instance_path = Path(get("KIDRATE_INSTANCE_PATH", str(PROJECT_ROOT / "instance")))
    values: dict[str, object] = {
        "env": mode,
        "instance_path": instance_path,
        "database_url": get("KIDRATE_DATABASE_URL", f"sqlite:///{instance_path / 'kidrate.sqlite3'}"),
        "secret_key": get("KIDRATE_SECRET_KEY", ""),
        "https": _bool("KIDRATE_HTTPS", get("KIDRATE_HTTPS", "true" if mode == "production" else "false")),
        "base_url": get("KIDRATE_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "default_locale": get("KIDRATE_DEFAULT_LOCALE", "sv"),
        "idle_minutes": _positive_int("KIDRATE_IDLE_MINUTES", get("KIDRATE_IDLE_MINUTES", "30")),
        "link_days": _positive_int("KIDRATE_LINK_DAYS", get("KIDRATE_LINK_DAYS", "14")),
        "invite_hours": _positive_int("KIDRATE_INVITE_HOURS", get("KIDRATE_INVITE_HOURS", "72")),
        "exit_url": get("KIDRATE_EXIT_URL", "https://www.smhi.se/"),
        "require_totp": _bool("KIDRATE_REQUIRE_TOTP",
                              get("KIDRATE_REQUIRE_TOTP", "true" if mode == "production" else "false")),
        "redis_url": get("KIDRATE_REDIS_URL", ""),
        "sign_in_limit": get("KIDRATE_SIGN_IN_LIMIT", "10 per minute"),
        "child_limit": get("KIDRATE_CHILD_LIMIT", "60 per minute"),
        "trusted_proxies": _non_negative_int("KIDRATE_TRUSTED_PROXIES", get("KIDRATE_TRUSTED_PROXIES", "0")),
        "retention_years": _positive_int("KIDRATE_RETENTION_YEARS", get("KIDRATE_RETENTION_YEARS", "5")),
        "audit_retention_years": _positive_int("KIDRATE_AUDIT_RETENTION_YEARS",
                                               get("KIDRATE_AUDIT_RETENTION_YEARS", "10")),
        "smtp_host": get("KIDRATE_SMTP_HOST", "").strip(),
        "smtp_port": _positive_int("KIDRATE_SMTP_PORT", get("KIDRATE_SMTP_PORT", "587")),
        "smtp_user": get("KIDRATE_SMTP_USER", ""),
        "smtp_password": get("KIDRATE_SMTP_PASSWORD", ""),
        "smtp_from": get("KIDRATE_SMTP_FROM", "").strip(),
        "smtp_starttls": _bool("KIDRATE_SMTP_STARTTLS", get("KIDRATE_SMTP_STARTTLS", "true")),
    }
    if get("KIDRATE_DATA_KEY"):
        values["data_key"] = _data_key("KIDRATE_DATA_KEY", get("KIDRATE_DATA_KEY", ""))
    values["old_data_keys"] = tuple(
        _data_key("KIDRATE_OLD_DATA_KEYS", part) for part in get("KIDRATE_OLD_DATA_KEYS", "").split(",") if part.strip()
    )
    known = {f.name for f in fields(Settings)}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    values.update(overrides)

    if values["default_locale"] not in {"sv", "en"}:
        raise ConfigError("KIDRATE_DEFAULT_LOCALE must be sv or en")
    _rate("KIDRATE_SIGN_IN_LIMIT", str(values["sign_in_limit"]))
    _rate("KIDRATE_CHILD_LIMIT", str(values["child_limit"]))
    if isinstance(values["trusted_proxies"], bool) or not isinstance(values["trusted_proxies"], int) \
            or values["trusted_proxies"] < 0:
        raise ConfigError("KIDRATE_TRUSTED_PROXIES must be zero or more")
    if values["redis_url"] and not str(values["redis_url"]).startswith(("redis://", "rediss://", "redis+unix://")):
        raise ConfigError("KIDRATE_REDIS_URL must be a redis://, rediss:// or redis+unix:// address")
    if not values["secret_key"]:
        if mode == "production":
            raise ConfigError("KIDRATE_SECRET_KEY must be set in production")
        values["secret_key"] = _generated(Path(values["instance_path"]), "secret_key",  # type: ignore[arg-type]
                                          lambda: secrets.token_urlsafe(48))
    if not values.get("data_key"):
        if mode == "production":
            raise ConfigError("KIDRATE_DATA_KEY must be set in production")
        values["data_key"] = _data_key("instance/data_key", _generated(
            Path(values["instance_path"]), "data_key", new_data_key))  # type: ignore[arg-type]
    _check_smtp(values, mode == "production")
    if not str(values["exit_url"]).startswith("https://"):
        raise ConfigError("KIDRATE_EXIT_URL must be an https:// address")
    if len(str(values["secret_key"])) < 32:
        raise ConfigError("KIDRATE_SECRET_KEY must be at least 32 characters")
    return Settings(**values)  # type: ignore[arg-type]
