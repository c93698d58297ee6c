"""Where the `fernwart` client finds its collector: FERNWART_URL/FERNWART_TOKEN, else a YAML config file.

The file (``--config``, default ``~/.config/fernwart/client.yaml``)::

    url: https://collector.example:8750
    token: fwu_...          # the technician's API token; the file must then be private (chmod 600)
    timeout: 15             # seconds per request, optional

Variables win over the file, key by key, so a shared file may name the collector while each technician
keeps the token in the environment.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path("~/.config/fernwart/client.yaml")
DEFAULT_TIMEOUT = 15.0
_KEYS = ("url", "token", "timeout")


class ConfigError(Exception):
    """The client cannot be configured; the message names the file or variable and what to do."""


@dataclass(frozen=True)
class Config:
    url: str
    token: str
    timeout: float = DEFAULT_TIMEOUT


def load(path: Path | None, environ: Mapping[str, str]) -> Config:
    """Return the configuration from `environ` and the config file.

    An explicit `path` must exist; the default file may be missing. Raise ConfigError for a missing URL or
    token, unknown keys, bad values, or a file holding a token that group or others may read.
    """
    explicit = path is not None
    file = (path or DEFAULT_PATH).expanduser()
    values = _read(file) if explicit or file.exists() else {}
    url = environ.get("FERNWART_URL") or values.get("url")
    token = environ.get("FERNWART_TOKEN") or values.get("token")
    where = f"'url:' in {file}" if explicit or file.exists() else f"'url:' in {file} (missing)"
    if not url:
        raise ConfigError(f"no collector URL: set FERNWART_URL or {where}")
    if not token:
        raise ConfigError(f"no API token: set FERNWART_TOKEN or {where.replace('url:', 'token:')}")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"collector URL {url!r} must start with http:// or https://")
    timeout = values.get("timeout", DEFAULT_TIMEOUT)
    try:
        seconds = float(timeout)
    except ValueError:
        raise ConfigError(f"{file}: timeout must be a number of seconds, got {timeout!r}") from None
    if seconds <= 0:
        raise ConfigError(f"{file}: timeout must be more than 0 seconds")
    return Config(url.rstrip("/"), token, seconds)


def _read(file: Path) -> dict[str, str]:
    try:
        text = file.read_text(encoding="utf-8")
        mode = file.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"cannot read config {file}: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{file}: expected a mapping with url and token")
    unknown = sorted(str(k) for k in document if k not in _KEYS)
    if unknown:
        raise ConfigError(f"{file}: unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}")
    if document.get("token") and os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{file} holds an API token but group or others may read it "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {file}"
        )
    return {str(k): str(v) for k, v in document.items() if v is not None}
