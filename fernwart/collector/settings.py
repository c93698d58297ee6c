"""Collector settings: from the environment (injectable), overridable by command-line flags.

Fails fast: a malformed value raises SettingsError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from fernwart.checks.status import Status
from fernwart.protocol import RESULT_MAX_AGE


class SettingsError(ValueError):
    """Raised for a setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path = Path("fernwart-data")
    database_url: str = ""
    body_limit: int = 1024 * 1024
    ticket_on: frozenset[Status] = frozenset({Status.CRITICAL})
    resolve_on_recovery: bool = True
    reopen_window: timedelta = timedelta(hours=1)
    job_interval: float = 10.0  # seconds between periodic job runs (staleness sweep)
    run_jobs: bool = True
    public_url: str = ""
    result_max_age: timedelta = RESULT_MAX_AGE  # results observed longer ago are refused (422)
    notify_config: Path | None = None  # transports YAML; default: home / "notify.yaml"
    metrics_token: str = ""  # a bearer token that lets other hosts read /metrics (loopback always may)
    metrics_public: bool = False  # True: anyone who reaches the collector may read /metrics
    auth_failure_limit: int = 10  # failed credential checks per client address and minute before 429
    mass_silence_share: float = (
        0.5  # more than this share of hosts silent at once: one incident
    )
    mass_silence_min_hosts: int = 10  # ... among at least this many hosts
    provider_name: str = "Fernwart"  # the service provider's name in the dashboard's header
    provider_logo: Path | None = None  # its logo (PNG, JPEG, SVG or WebP), served at /brand/logo
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """Return the database URL; the default is an SQLite file under `home`."""
        return self.database_url or f"sqlite:///{(self.home / 'fernwart.sqlite').resolve()}"

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r}: must not be negative")
    return value


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from FERNWART_* variables of `env` (default: the process environment)."""
    env = os.environ if env is None else env
    ticket_on = {Status.CRITICAL}
    if _bool(env, "FERNWART_TICKET_ON_WARNING", False):
        ticket_on.add(Status.WARNING)
    if _bool(env, "FERNWART_TICKET_ON_UNKNOWN", False):
        ticket_on.add(Status.UNKNOWN)
    return Settings(
        home=Path(env.get("FERNWART_HOME") or "fernwart-data"),
        database_url=env.get("FERNWART_DATABASE_URL", ""),
        body_limit=int(_number(env, "FERNWART_BODY_LIMIT", 1024 * 1024)),
        ticket_on=frozenset(ticket_on),
        resolve_on_recovery=_bool(env, "FERNWART_RESOLVE_ON_RECOVERY", True),
        reopen_window=timedelta(seconds=_number(env, "FERNWART_REOPEN_WINDOW", 3600)),
        job_interval=_number(env, "FERNWART_JOB_INTERVAL", 10.0),
        public_url=env.get("FERNWART_PUBLIC_URL", "").rstrip("/"),
        result_max_age=timedelta(
            seconds=_number(env, "FERNWART_RESULT_MAX_AGE", RESULT_MAX_AGE.total_seconds())
        ),
        notify_config=Path(env["FERNWART_NOTIFY_CONFIG"]) if env.get("FERNWART_NOTIFY_CONFIG") else None,
        metrics_token=env.get("FERNWART_METRICS_TOKEN", ""),
        metrics_public=_bool(env, "FERNWART_METRICS_PUBLIC", False),
        auth_failure_limit=max(1, int(_number(env, "FERNWART_AUTH_FAILURE_LIMIT", 10))),
        mass_silence_share=_number(env, "FERNWART_MASS_SILENCE_SHARE", 0.5),
        mass_silence_min_hosts=int(_number(env, "FERNWART_MASS_SILENCE_MIN_HOSTS", 10)),
        provider_name=_provider_name(env),
        provider_logo=_logo(env),
    )


LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
              ".webp": "image/webp"}
PROVIDER_NAME_LIMIT = 100


def _provider_name(env: Mapping[str, str]) -> str:
    raw = env.get("FERNWART_PROVIDER_NAME", "").strip()
    if len(raw) > PROVIDER_NAME_LIMIT or any(ord(c) < 32 for c in raw):
        raise SettingsError(
            f"FERNWART_PROVIDER_NAME: at most {PROVIDER_NAME_LIMIT} characters, no control characters"
        )
    return raw or "Fernwart"


def _logo(env: Mapping[str, str]) -> Path | None:
    raw = env.get("FERNWART_PROVIDER_LOGO", "")
    if not raw:
        return None
    path = Path(raw)
    if path.suffix.lower() not in LOGO_TYPES:
        raise SettingsError(f"FERNWART_PROVIDER_LOGO={raw!r}: expected a .png, .jpg, .svg or .webp file")
    return path
