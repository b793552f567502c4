"""Settings from KIDRATE_* environment variables: read once, validated, then read-only.

Every variable is documented in the README with its default; this module is the only place that
reads the environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A KIDRATE_* variable has a value the app cannot run with."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero")
    return value


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
    testing: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"


def _secret_key_for(instance_path: Path) -> str:
    """Outside production, keep a generated key in the instance folder so sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
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
    }
    known = {f.name for f in fields(Settings)}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    values.update(overrides)

    if values["default_locale"] not in {"sv", "en"}:
        raise ConfigError("KIDRATE_DEFAULT_LOCALE must be sv or en")
    if not values["secret_key"]:
        if mode == "production":
            raise ConfigError("KIDRATE_SECRET_KEY must be set in production")
        values["secret_key"] = _secret_key_for(Path(values["instance_path"]))  # type: ignore[arg-type]
    if not str(values["exit_url"]).startswith("https://"):
        raise ConfigError("KIDRATE_EXIT_URL must be an https:// address")
    if len(str(values["secret_key"])) < 32:
        raise ConfigError("KIDRATE_SECRET_KEY must be at least 32 characters")
    return Settings(**values)  # type: ignore[arg-type]
