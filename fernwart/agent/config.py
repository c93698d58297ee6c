"""The agent's YAML configuration, validated at start into frozen dataclasses.

    collector: https://collector.example.net:8443
    host_id: 0b6f3c1e-...            # from enrollment
    token_file: agent.token          # default: agent.token beside this file (0600)
    outbox: outbox.sqlite            # default: outbox.sqlite beside this file
    state_dir: state                 # default: state/ beside this file
    heartbeat_interval: 60           # seconds; default 60
    batch_size: 200                  # results per report, 1-1000; default 200
    report_delay: 5                  # seconds a fresh result waits for others to share its report, 0-60
    ca_file: collector-ca.pem        # CA bundle the collector's certificate must verify against
                                     # (enroll --ca copies it here); default: the system's CA store
    proxy: http://proxy.lan:3128     # HTTP proxy (user:password@ allowed); default: HTTPS_PROXY etc.
    no_proxy: collector.lan          # hosts reached directly; default: NO_PROXY (see agent.proxy)
    playbooks: playbooks             # the playbooks this agent holds; default: playbooks/ beside this file
    allow_repairs: false             # run repair playbooks too (diagnostics only by default)
    playbook_signing_key: k.pub      # an Ed25519 public key: hold only the playbooks it signed
    token_max_age: 2592000           # seconds before the agent token is rotated, >= 3600; default 30 days
    checks:
      - name: disk-root              # unique, [A-Za-z0-9_.:@-]{1,128}, not "host"
        type: disk                   # a type from checks.registry
        interval: 300                # whole seconds >= 1
        timeout: 20                  # seconds, <= interval; default min(interval, 30)
        max_attempts: 3              # 1-100; default 3
        warning: "80"                # Monitoring Plugins range; default: the type's
        critical: "90"
        path: /                      # further keys: the type's own options
        on_ticket: disk-full         # a diagnostic playbook the collector runs when this check opens a
                                     # ticket; its parameters come from the check's options of the same
                                     # name (a path parameter from `path`), or give them:
                                     # on_ticket: {playbook: disk-full, params: {depth: 2}}

TLS verification cannot be turned off: ``tls_verify: false`` is refused (``tls_verify: PATH``, the old
spelling of `ca_file`, and ``tls_verify: true`` are still read). Relative paths are resolved against the
config file's directory. Every error raises ConfigError whose
message names the file, the check (by name and index) and the key, and says what was expected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from fernwart import protocol
from fernwart.agent.proxy import ProxySettings, no_proxy_text
from fernwart.checks.base import Check
from fernwart.checks.options import OptionError, build
from fernwart.checks.ranges import Range, RangeError
from fernwart.checks.registry import UnknownCheckType, load
from fernwart.playbook.model import NAME
from fernwart.playbook.signing import SignatureError, key_id

MAX_BATCH = 1000  # the protocol's limit on results per report
TOP_LEVEL_KEYS = (
    "collector", "host_id", "token_file", "outbox", "state_dir", "heartbeat_interval", "batch_size",
    "report_delay", "ca_file", "tls_verify", "proxy", "no_proxy", "token_max_age", "checks", "playbooks",
    "allow_repairs",
    "playbook_signing_key",
)
DEFAULT_TOKEN_MAX_AGE = 30 * 86400
COMMON_CHECK_KEYS = (
    "name", "type", "interval", "timeout", "max_attempts", "warning", "critical", "on_ticket",
)
DEFAULT_TIMEOUT_CAP = 30.0


CheckClass = type[Any]  # named, because CheckConfig's field `type` shadows the builtin in its body


class ConfigError(ValueError):
    """Raised for a config that cannot run; the message names the file, the check and the key."""


@dataclass(frozen=True)
class CheckConfig:
    """One configured check: schedule, thresholds and the type's validated options."""

    name: str
    type: str
    interval: int
    timeout: float
    max_attempts: int
    warning: Range | None
    critical: Range | None
    options: Any
    check_class: CheckClass = field(repr=False, compare=False)
    on_ticket: str | None = None  # a diagnostic playbook to run when this check opens a ticket
    on_ticket_params: Mapping[str, Any] = field(default_factory=dict)
    raw_options: Mapping[str, Any] = field(default_factory=dict)  # the type's options as written

    def make(self) -> Check:
        """Return a fresh instance of this check; thresholds left None fall back to the type's defaults."""
        check: Check = self.check_class(self.options, self.warning, self.critical)
        return check


@dataclass(frozen=True)
class AgentConfig:
    """The whole agent configuration; paths are absolute."""

    path: Path
    collector: str
    host_id: str
    token_file: Path
    outbox: Path
    state_dir: Path
    heartbeat_interval: int = 60
    batch_size: int = 200
    report_delay: float = 5.0
    ca_file: Path | None = None
    proxies: ProxySettings = ProxySettings()
    checks: tuple[CheckConfig, ...] = ()
    playbooks: Path | None = None
    allow_repairs: bool = False
    token_max_age: int = DEFAULT_TOKEN_MAX_AGE
    playbook_signing_key: bytes | None = None  # the public key's PEM, read and checked at load


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and validate the config at `path`; raise ConfigError (also for a missing or unreadable file).

    `env` (default os.environ) supplies the proxy variables when the config names no proxy.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    return parse_config(text, path, env)


def parse_config(text: str, path: Path | str, env: Mapping[str, str] | None = None) -> AgentConfig:
    """Validate config `text` as if read from `path` (which anchors relative paths and names the file)."""
    path = Path(path)
    where = str(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of settings at the top level, got {_kind(raw)}")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{where}: {key}: unknown setting; expected one of {', '.join(TOP_LEVEL_KEYS)}")
    base = path.resolve().parent

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {message}")

    collector = raw.get("collector")
    if not isinstance(collector, str) or not _is_http_url(collector):
        raise fail("collector", f"expected an http:// or https:// URL, got {collector!r}")
    host_id = raw.get("host_id")
    if not isinstance(host_id, str) or not host_id.strip():
        raise fail("host_id", f"expected the host id given at enrollment, got {host_id!r}")
    heartbeat = _whole(raw.get("heartbeat_interval", 60), 1, None)
    if heartbeat is None:
        raise fail("heartbeat_interval", f"expected whole seconds >= 1, got {raw['heartbeat_interval']!r}")
    batch_size = _whole(raw.get("batch_size", 200), 1, MAX_BATCH)
    if batch_size is None:
        raise fail("batch_size", f"expected a whole number from 1 to {MAX_BATCH}, got {raw['batch_size']!r}")
    report_delay = raw.get("report_delay", 5)
    if not _is_number(report_delay) or not 0 <= report_delay <= 60:
        raise fail("report_delay", f"expected seconds from 0 to 60, got {report_delay!r}")
    token_max_age = _whole(raw.get("token_max_age", DEFAULT_TOKEN_MAX_AGE), 3600, None)
    if token_max_age is None:
        raise fail("token_max_age", f"expected whole seconds >= 3600, got {raw['token_max_age']!r}")
    ca_file = _ca_file(raw, base, fail)
    no_proxy = raw.get("no_proxy")
    if no_proxy is not None and no_proxy_text(no_proxy) is None:
        raise fail("no_proxy", f"expected host names/addresses (a list or comma-separated), got {no_proxy!r}")
    proxy = raw.get("proxy")
    if proxy is not None and (not isinstance(proxy, str) or not proxy.strip()):
        raise fail("proxy", f"expected an http:// proxy URL or 'direct', got {_kind(proxy)}")
    try:
        proxies = ProxySettings.resolve(proxy, no_proxy_text(no_proxy) if no_proxy is not None else None,
                                        os.environ if env is None else env)
    except ValueError as exc:
        raise fail("proxy", str(exc)) from None
    paths = {}
    allow_repairs = raw.get("allow_repairs", False)
    if not isinstance(allow_repairs, bool):
        raise fail("allow_repairs", f"expected true or false, got {allow_repairs!r}")
    for key, default in (("token_file", "agent.token"), ("outbox", "outbox.sqlite"), ("state_dir", "state"),
                         ("playbooks", "playbooks")):
        value = raw.get(key, default)
        if not isinstance(value, str) or not value:
            raise fail(key, f"expected a file path, got {value!r}")
        paths[key] = base / value
    signing_key = _signing_key(raw.get("playbook_signing_key"), base, fail)
    checks_raw = raw.get("checks", [])
    if checks_raw is None:
        checks_raw = []
    if not isinstance(checks_raw, list):
        raise fail("checks", f"expected a list of checks, got {_kind(checks_raw)}")
    checks: list[CheckConfig] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(checks_raw):
        check = _parse_check(entry, index, where)
        if check.name in seen:
            raise ConfigError(
                f"{where}: check {check.name!r} (checks[{index}]): name: duplicate; "
                f"checks[{seen[check.name]}] already uses it, names must be unique"
            )
        seen[check.name] = index
        checks.append(check)
    return AgentConfig(
        path=path.resolve(), collector=collector.rstrip("/"), host_id=host_id.strip(),
        token_file=paths["token_file"], outbox=paths["outbox"], state_dir=paths["state_dir"],
        heartbeat_interval=heartbeat, batch_size=batch_size,
        report_delay=float(report_delay), ca_file=ca_file, proxies=proxies, checks=tuple(checks),
        playbooks=paths["playbooks"], allow_repairs=allow_repairs,
        token_max_age=token_max_age, playbook_signing_key=signing_key,
    )


def _ca_file(raw: dict[str, Any], base: Path, fail: Callable[[str, str], ConfigError]) -> Path | None:
    """Return the CA bundle to verify the collector against (None: the system's store); refuse no checks."""
    legacy = raw.get("tls_verify", True)
    if legacy is False:
        raise fail("tls_verify", "turning TLS verification off is not supported; pin the collector's CA "
                                 "instead (ca_file: PATH, or fernwart-agent enroll --ca FILE)")
    if legacy is not True and (not isinstance(legacy, str) or not legacy):
        raise fail("tls_verify", f"expected true or the path of a CA bundle, got {legacy!r}; use ca_file:")
    key, value = ("ca_file", raw["ca_file"]) if raw.get("ca_file") is not None else ("tls_verify", legacy)
    if value is True:
        return None
    if not isinstance(value, str) or not value:
        raise fail(key, f"expected the path of a PEM CA bundle, got {value!r}")
    ca = base / value
    if not ca.is_file():
        raise fail(key, f"CA bundle {str(ca)!r} does not exist")
    return ca


def _signing_key(value: Any, base: Path, fail: Any) -> bytes | None:
    """Read and check the public key file `value` names (None when signing is not configured)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise fail("playbook_signing_key", f"expected the path of an Ed25519 public key, got {value!r}")
    key_file = base / value
    try:
        pem = key_file.read_bytes()[:16384]
    except OSError as exc:
        raise fail("playbook_signing_key", f"cannot read {str(key_file)!r}: {exc.strerror or exc}") from None
    try:
        key_id(pem)  # checks the key's form; verifying needs cryptography, in a child (playbooks.trust)
    except SignatureError as exc:
        raise fail("playbook_signing_key", str(exc)) from None
    return pem


def _parse_check(entry: Any, index: int, where: str) -> CheckConfig:
    """Validate one `checks:` entry; errors name it by name when it has a usable one, else by index."""
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{where}: checks[{index}]: expected a mapping with name, type, interval, got {_kind(entry)}"
        )
    name = entry.get("name")
    label = f"check {name!r} (checks[{index}])" if isinstance(name, str) and name else f"checks[{index}]"

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}: {label}: {key}: {message}")

    if not isinstance(name, str) or not protocol.CHECK_NAME.fullmatch(name):
        raise fail("name", f"expected {protocol.CHECK_NAME_RULE}, got {name!r}")
    if name == protocol.HOST_CHECK:
        raise fail("name", f"{name!r} is reserved; choose another name")
    type_name = entry.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise fail("type", f"expected a check type name, got {type_name!r}")
    try:
        check_class = load(type_name)
    except UnknownCheckType as exc:
        raise fail("type", str(exc)) from None
    except (ImportError, AttributeError) as exc:
        raise fail("type", f"check type {type_name!r} is registered but cannot be loaded: {exc}") from None
    interval = _whole(entry.get("interval"), 1, None)
    if interval is None:
        raise fail("interval", f"expected whole seconds >= 1, got {entry.get('interval')!r}")
    timeout_raw = entry.get("timeout")
    if timeout_raw is None:
        timeout = min(float(interval), DEFAULT_TIMEOUT_CAP)
    else:
        if not _is_number(timeout_raw) or not 0 < timeout_raw <= interval:
            raise fail("timeout", f"expected seconds > 0 and <= interval ({interval}), got {timeout_raw!r}")
        timeout = float(timeout_raw)
    max_attempts = _whole(entry.get("max_attempts", 3), 1, 100)
    if max_attempts is None:
        raise fail("max_attempts", f"expected a whole number from 1 to 100, got {entry['max_attempts']!r}")
    thresholds: dict[str, Range | None] = {}
    for key in ("warning", "critical"):
        value = entry.get(key)
        if value is None:
            thresholds[key] = None
            continue
        if not getattr(check_class, "accepts_thresholds", True):
            raise fail(key, f"check type {type_name!r} takes no thresholds (give them in its options)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise fail(key, f"expected a range like 10, 10:, ~:10, 10:20 or @10:20, got {value!r}")
        try:
            thresholds[key] = Range.parse(value)
        except RangeError as exc:
            raise fail(key, f"{exc}; expected a range like 10, 10:, ~:10, 10:20 or @10:20") from None
    on_ticket, on_ticket_params = _on_ticket(entry.get("on_ticket"), fail)
    type_options = {k: v for k, v in entry.items() if k not in COMMON_CHECK_KEYS}
    try:
        options = build(check_class.Options, type_options)
    except OptionError as exc:
        raise fail(exc.key, f"{exc.message} (check type {type_name!r})") from None
    check = CheckConfig(
        name=name, type=type_name, interval=interval, timeout=timeout, max_attempts=max_attempts,
        warning=thresholds["warning"], critical=thresholds["critical"], options=options,
        check_class=check_class, on_ticket=on_ticket, on_ticket_params=on_ticket_params,
        raw_options=type_options,
    )
    try:
        check.make()  # a type may validate its options as a whole, or its default thresholds
    except OptionError as exc:
        raise fail(exc.key, exc.message) from None
    except (ValueError, TypeError) as exc:
        raise fail("type", f"check type {type_name!r} refuses these options: {exc}") from None
    return check


def _on_ticket(value: Any, fail: Any) -> tuple[str | None, dict[str, Any]]:
    """Validate `on_ticket:` (a playbook name, or {playbook, params}); the collector checks the rest."""
    if value is None:
        return None, {}
    if isinstance(value, str):
        value = {"playbook": value}
    if not isinstance(value, dict) or set(value) - {"playbook", "params"}:
        raise fail("on_ticket",
                   f"expected a playbook name or {{playbook: NAME, params: {{...}}}}, got {value!r}")
    name, params = value.get("playbook"), value.get("params") or {}
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise fail("on_ticket", f"playbook: expected a playbook name, got {name!r}")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, int, bool)) for k, v in params.items()
    ):
        raise fail("on_ticket", f"params: expected a mapping of names to values, got {params!r}")
    return name, dict(params)


def _whole(value: Any, low: int, high: int | None) -> int | None:
    """Return `value` when it is a whole number within [low, high], else None (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    number = int(value)
    if number < low or (high is not None and number > high):
        return None
    return number


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
