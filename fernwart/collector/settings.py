"""Collector settings: from the environment (injectable), overridable by command-line flags.

Fails fast: a malformed value raises SettingsError naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fernwart.checks.status import Status
from fernwart.protocol import RESULT_MAX_AGE

if TYPE_CHECKING:
    from fernwart.collector.services.housekeeping import Retention


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
    playbooks_dir: Path | None = None  # playbooks the collector runs over SSH; default: home / "playbooks"
    ssh_known_hosts: Path | None = None  # the only host keys trusted; default: home / "ssh" / "known_hosts"
    ssh_key: Path | None = None  # the collector's own private key; default: home / "ssh" / "id_ecdsa"
    ssh_user: str = "fernwart"  # login for hosts whose SSH target names none
    ssh_use_agent: bool = False  # also offer the keys of the SSH agent at SSH_AUTH_SOCK
    ssh_workers: int = 4  # SSH jobs run at once by one collector process (0: none here)
    ssh_connect_timeout: float = 10.0  # seconds for TCP connect, banner and authentication each
    retain_results: timedelta = timedelta(days=31)  # raw results; then downsampled
    retain_five_minute: timedelta = timedelta(days=93)  # 5-minute rollups
    retain_history: timedelta = timedelta(days=3 * 366)  # hourly rollups, state changes (contracts)
    partitions_ahead: int = 7  # days of result partitions made ahead (PostgreSQL)
    housekeeping_interval: float = 3600.0  # seconds between housekeeping runs of the periodic job
    job_recheck: float = 30.0  # seconds a waiting job long-poll goes without a database check (fallback)
    provider_name: str = "Fernwart"  # the service provider's name in the dashboard's header
    provider_logo: Path | None = None  # its logo (PNG, JPEG, SVG or WebP), served at /brand/logo
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """Return the database URL; the default is an SQLite file under `home`."""
        return self.database_url or f"sqlite:///{(self.home / 'fernwart.sqlite').resolve()}"

    @property
    def effective_playbooks_dir(self) -> Path:
        """Return the directory of the playbooks the collector holds for runs over SSH."""
        return self.playbooks_dir or self.home / "playbooks"

    @property
    def effective_ssh_known_hosts(self) -> Path:
        """Return the managed known_hosts file (created 0600 on the first trusted key)."""
        return self.ssh_known_hosts or self.home / "ssh" / "known_hosts"

    @property
    def effective_ssh_key(self) -> Path:
        """Return the collector's private SSH key file (`fernwart-collector ssh key` creates it)."""
        return self.ssh_key or self.home / "ssh" / "id_ecdsa"

    def retention(self) -> Retention:
        """Return the retention housekeeping applies; raise SettingsError for an impossible one."""
        from fernwart.collector.services.housekeeping import Retention

        try:
            return Retention(
                results=self.retain_results,
                five_minute=self.retain_five_minute,
                history=self.retain_history,
                partitions_ahead=self.partitions_ahead,
                result_max_age=self.result_max_age,
            )
        except ValueError as exc:
            raise SettingsError(f"FERNWART_RETAIN_*: {exc}") from None

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
    settings = Settings(
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
        playbooks_dir=_path(env, "FERNWART_PLAYBOOKS_DIR"),
        ssh_known_hosts=_path(env, "FERNWART_SSH_KNOWN_HOSTS"),
        ssh_key=_path(env, "FERNWART_SSH_KEY"),
        ssh_user=env.get("FERNWART_SSH_USER") or "fernwart",
        ssh_use_agent=_bool(env, "FERNWART_SSH_USE_AGENT", False),
        ssh_workers=int(_number(env, "FERNWART_SSH_WORKERS", 4)),
        ssh_connect_timeout=_number(env, "FERNWART_SSH_CONNECT_TIMEOUT", 10.0) or 10.0,
        retain_results=timedelta(days=_number(env, "FERNWART_RETAIN_RESULTS_DAYS", 31)),
        retain_five_minute=timedelta(days=_number(env, "FERNWART_RETAIN_5MIN_DAYS", 93)),
        retain_history=timedelta(days=_number(env, "FERNWART_RETAIN_HISTORY_DAYS", 3 * 366)),
        partitions_ahead=int(_number(env, "FERNWART_PARTITIONS_AHEAD_DAYS", 7)),
        housekeeping_interval=_number(env, "FERNWART_HOUSEKEEPING_INTERVAL", 3600.0),
        job_recheck=max(0.1, _number(env, "FERNWART_JOB_RECHECK", 30.0)),
        provider_name=_provider_name(env),
        provider_logo=_logo(env),
    )
    settings.retention()  # fail fast on an impossible combination
    return settings


def _path(env: Mapping[str, str], name: str) -> Path | None:
    return Path(env[name]) if env.get(name) else None


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
