"""Which HTTP proxy the agent's requests go through: from its config or the environment, as curl decides.

    proxy: http://user:password@proxy.customer.lan:3128   # config; wins over the environment
    proxy: direct                                         # or: no proxy, whatever the environment says
    no_proxy: collector.lan, 10.0.0.0/8                   # config; wins over NO_PROXY

Without `proxy:` in the config the environment is read like curl reads it: ``https_proxy`` (then
``HTTPS_PROXY``) for https URLs, ``http_proxy`` (then ``HTTP_PROXY``) for http URLs, ``all_proxy`` (then
``ALL_PROXY``) for both when the specific one is unset. A configured `proxy:` serves http and https alike.

``no_proxy`` (then ``NO_PROXY``), or the config's `no_proxy:`, lists hosts reached directly, separated by
commas or spaces, as curl matches them: ``*`` alone means every host; a name matches itself and every
name below it (``example.com`` and ``.example.com`` both match ``example.com`` and ``a.example.com``, not
``notexample.com``), case-insensitively; an IP address matches itself and an address range in CIDR
notation (``10.0.0.0/8``, ``fd00::/8``) matches the addresses in it, but only when the URL's host is an
address (names are not resolved for it). Ports in the list are not supported (curl ignores them too).

A proxy URL is ``[http://][user:password@]host[:port]``; the port defaults to 1080 (curl's); the
credentials may be percent-encoded and never appear in a message.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from fernwart.httpclient import Proxy

DEFAULT_PROXY_PORT = 1080
DIRECT = "direct"  # the config's `proxy:` value for "no proxy, ignore the environment"
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_SEPARATORS = re.compile(r"[,\s]+")


def parse_proxy_url(url: str) -> Proxy:
    """Return the proxy `url` names; raise ValueError (never showing the credentials) when it is unusable.

    Only ``http://`` proxies: TLS to the proxy itself is not supported (HTTPS to the collector still runs
    end to end through the proxy's CONNECT tunnel).
    """
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    shown = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.scheme != "http":
        raise ValueError(f"{shown}: expected an http:// proxy URL (TLS to the proxy itself is not "
                         "supported; HTTPS to the collector still runs end to end through its tunnel)")
    if not parts.hostname:
        raise ValueError(f"{shown}: the proxy URL has no host")
    try:
        port = parts.port or DEFAULT_PROXY_PORT
    except ValueError:
        raise ValueError(f"{shown}: the proxy's port is not a number from 1 to 65535") from None
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(parts.hostname, port, username, password)


@dataclass(frozen=True)
class NoProxy:
    """The hosts reached without a proxy (see the module docstring for how they match)."""

    everything: bool = False
    names: tuple[str, ...] = ()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> NoProxy:
        """Parse a ``NO_PROXY`` value; entries that are neither a name nor an address are ignored."""
        if text.strip() == "*":
            return cls(everything=True)
        names: list[str] = []
        networks: list[IpNetwork] = []
        for entry in _SEPARATORS.split(text.strip()):
            entry = entry.strip("[]").lstrip(".").rstrip(".").lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.append(entry)
        return cls(False, tuple(names), tuple(networks))

    def matches(self, host: str) -> bool:
        """Return True when `host` (a URL's host name or address) is to be reached directly."""
        if self.everything:
            return True
        host = host.strip("[]").rstrip(".").lower()
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return any(host == name or host.endswith("." + name) for name in self.names)
        return any(address in network for network in self.networks)


@dataclass(frozen=True)
class ProxySettings:
    """The proxy for http and for https URLs (None: direct) and the hosts that bypass them.

    Implements the HTTP client's `ProxyChooser`.
    """

    https: Proxy | None = None
    http: Proxy | None = None
    bypass: NoProxy = NoProxy()

    @classmethod
    def resolve(
        cls, proxy: str | None = None, no_proxy: str | None = None, env: Mapping[str, str] | None = None,
    ) -> ProxySettings:
        """Return the settings from the config's `proxy`/`no_proxy` (when given) or else from `env`.

        `env` defaults to os.environ. Raises ValueError for an unusable proxy URL; the message names the
        environment variable it came from (a configured one is the caller's to name).
        """
        env = os.environ if env is None else env
        if no_proxy is None:
            no_proxy = _first(env, "no_proxy", "NO_PROXY")[1] or ""
        bypass = NoProxy.parse(no_proxy)
        if proxy is not None:
            configured = None if proxy.strip().lower() == DIRECT else parse_proxy_url(proxy)
            return cls(configured, configured, bypass)
        fallback = _first(env, "all_proxy", "ALL_PROXY")
        https = _from_env(_first(env, "https_proxy", "HTTPS_PROXY"), fallback)
        http = _from_env(_first(env, "http_proxy", "HTTP_PROXY"), fallback)
        return cls(https, http, bypass)

    def proxy_for(self, scheme: str, host: str) -> Proxy | None:
        """Return the proxy a request to `scheme`://`host` goes through, or None to connect directly."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypass.matches(host):
            return None
        return proxy

    def describe(self, scheme: str, host: str) -> str:
        """Return how a request to `host` goes, for log lines: ``via proxy HOST:PORT`` or ``direct``."""
        proxy = self.proxy_for(scheme, host)
        return f"via proxy {proxy.address}" if proxy is not None else "direct"


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str | None]:
    """Return the first of `names` set (not blank) in `env` with its value; (last name, None) if none is."""
    for name in names:
        value = env.get(name)
        if value is not None and value.strip():
            return name, value
    return names[-1], None


def _from_env(chosen: tuple[str, str | None], fallback: tuple[str, str | None]) -> Proxy | None:
    name, url = chosen if chosen[1] is not None else fallback
    if url is None:
        return None
    try:
        return parse_proxy_url(url)
    except ValueError as exc:
        raise ValueError(f"{name} in the environment: {exc}") from None


def no_proxy_text(value: Any) -> str | None:
    """Return a config `no_proxy:` value (a string or a list of strings) as one list text; None if invalid."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    return None
