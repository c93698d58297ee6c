"""The one outbound HTTP wrapper of Fernwart, on the standard library's http.client and ssl.

The agent's transport to the collector, the ``http`` check and the collector's webhook notifications all
go through `HttpClient`, so timeouts, TLS verification and error wording live here only. It does what
they need and no more (requests would cost the agent about 16 MB of its memory budget):

- one request per call; redirects are never followed (the callers have their own redirect policies);
- a connect timeout and a read timeout (one number means both); a read timeout bounds each socket read;
- TLS verified against the system's trust store, or against a CA bundle given as `verify`; verification
  is off only when `verify` is False; the certificate must match the URL's host name;
- the body is read up to `body_limit` bytes; a longer one is cut and `HttpResponse.truncated` is set;
- through an HTTP proxy when the client's `ProxyChooser` names one for the URL: https by a CONNECT
  tunnel (TLS and the certificate check still end to end with the server), http as absolute-form
  requests; credentials of the proxy go preemptively as Basic ``Proxy-Authorization`` and are never part
  of a message or a repr; a proxy's 407 or refused tunnel raises `HttpProxyError`;
- with ``keep_alive=True`` an idle connection per (scheme, host, port, verify, proxy) is kept and reused; a
  reused connection that the server closed meanwhile is retried once on a fresh one, before any answer
  was read (the collector's ingest is idempotent, so a repeated POST does no harm);
- with an `AddressPolicy` the host name is resolved first, every address it resolves to is checked, and
  the connection goes to a checked address (so a second lookup cannot swap in another one: no DNS
  rebinding); the collector's webhooks use this to refuse loopback, private, link-local and metadata
  addresses (server-side request forgery).

Every failure without an HTTP answer raises `HttpError` (or its subclasses `HttpConnectError`,
`AddressRefused`, `HttpProxyError`, `HttpTimeout`, `HttpTlsError`) with a one-line message; an HTTP answer
of any status is returned (except a proxy's 407).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

DEFAULT_BODY_LIMIT = 16 * 1024 * 1024
Timeout = float | tuple[float, float]  # seconds: both, or (connect, read)
PROXY_AUTH_REQUIRED = 407
_TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: (\d{3})\s*(.*)")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class HttpError(Exception):
    """Raised when a request got no HTTP answer; the message says why in one line."""


class HttpConnectError(HttpError):
    """The connection could not be made: name resolution, refused, unreachable."""


class AddressRefused(HttpConnectError):
    """The host resolves to an address that the client's `AddressPolicy` does not permit; nothing was sent."""


class HttpProxyError(HttpConnectError):
    """The proxy refused: it wants (other) credentials (407), or it would not open the tunnel."""


class HttpTimeout(HttpError):
    """Connecting or reading took longer than the timeout."""


class HttpTlsError(HttpError):
    """The TLS handshake failed, e.g. an untrusted certificate or a host name mismatch."""


@dataclass(frozen=True)
class HttpResponse:
    """A complete answer: status, headers (case-insensitive `get`) and the body read so far."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    truncated: bool = False

    def text(self) -> str:
        """Return the body decoded with the charset of its Content-Type (UTF-8 when none is given)."""
        charset = self.headers.get_content_charset() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Return the body parsed as JSON; raise ValueError when it is not JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy at `host`:`port`, with the Basic credentials it wants (never shown in its repr)."""

    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """Return ``host:port`` (an IPv6 host in brackets), fit for messages: no credentials."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def authorization(self) -> dict[str, str]:
        """Return the ``Proxy-Authorization`` header for the credentials, or nothing when there are none."""
        if self.username is None:
            return {}
        pair = f"{self.username}:{self.password or ''}".encode()
        return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


class ProxyChooser(Protocol):
    """Says which proxy, if any, a request to `scheme`://`host` goes through."""

    def proxy_for(self, scheme: str, host: str) -> Proxy | None: ...


_Key = tuple[str, str, int, bool | str, Proxy | None]


def _kind(address: IpAddress) -> str | None:
    """Return why `address` is not a public unicast address (e.g. "loopback"), or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _kind(address.ipv4_mapped)
    for kind, test in (
        ("loopback", address.is_loopback),
        ("link-local (cloud metadata lives here)", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    ):
        if test:
            return kind
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a request may connect to: public unicast ones, plus those inside `allow`."""

    allow: tuple[IpNetwork, ...] = ()

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> AddressPolicy:
        """Return a policy that also permits the given CIDR networks; raise ValueError for a bad one."""
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: IpAddress) -> str | None:
        """Return why `address` is refused, or None when a connection to it is permitted."""
        kind = _kind(address)
        if kind is None or any(address in network for network in self.allow):
            return None
        return kind

    def resolve(self, host: str, port: int) -> list[str]:
        """Return the addresses of `host` to connect to, in resolver order, when every one is permitted.

        Raises AddressRefused when any address is refused (a name that resolves to both a public and a
        private address is refused as a whole), HttpConnectError when the name does not resolve.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HttpConnectError(f"cannot resolve {host!r} ({exc})") from None
        addresses: list[str] = []
        for *_, sockaddr in infos:
            text = str(sockaddr[0]).split("%", 1)[0]
            refusal = self.refusal(ipaddress.ip_address(text))
            if refusal is not None:
                raise AddressRefused(
                    f"refused to connect to {host} ({text}): the address is {refusal}; "
                    "allow-list its network to permit it"
                )
            if text not in addresses:
                addresses.append(text)
        if not addresses:
            raise HttpConnectError(f"cannot resolve {host!r}")
        return addresses


def _pin(connection: http.client.HTTPConnection, addresses: list[str]) -> None:
    """Make `connection` connect to one of the checked `addresses` instead of resolving its host again.

    The host name stays the connection's `host`, so the Host header, TLS SNI and certificate checks use it.
    """

    def create_connection(
        address: tuple[str, int], timeout: float | None = None, source: tuple[str, int] | None = None
    ) -> socket.socket:
        last: OSError | None = None
        for candidate in addresses:
            try:
                return socket.create_connection((candidate, address[1]), timeout, source)
            except OSError as exc:
                last = exc
        assert last is not None
        raise last

    connection._create_connection = create_connection  # type: ignore[attr-defined]


class HttpClient:
    """Sends HTTP(S) requests; safe to share between threads (each request uses its own connection).

    With `policy`, every connection is made only to addresses the policy permits (see `AddressPolicy`);
    with `proxies`, requests go through the proxy it chooses per URL. The two exclude each other (through
    a proxy the client never sees the server's address), so giving both raises ValueError.
    """

    def __init__(
        self, *, headers: Mapping[str, str] | None = None, keep_alive: bool = False,
        policy: AddressPolicy | None = None, proxies: ProxyChooser | None = None,
    ) -> None:
        if policy is not None and proxies is not None:
            raise ValueError("an address policy cannot check requests that go through a proxy")
        self.headers = dict(headers or {})
        self.policy = policy
        self.proxies = proxies
        self._keep_alive = keep_alive
        self._idle: dict[_Key, http.client.HTTPConnection] = {}
        self._contexts: dict[bool | str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
        timeout: Timeout = 30.0, verify: bool | str = True, body_limit: int = DEFAULT_BODY_LIMIT,
    ) -> HttpResponse:
        """Send one request to `url` and return the answer; raise HttpError when none came back."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise HttpError(f"bad port in {url!r}: {exc}") from None
        proxy = self.proxies.proxy_for(parts.scheme, parts.hostname) if self.proxies is not None else None
        key: _Key = (parts.scheme, parts.hostname, port, verify if parts.scheme == "https" else False, proxy)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {**self.headers, **(headers or {})}
        if proxy is not None and parts.scheme == "http":
            target = f"http://{parts.netloc.rpartition('@')[2]}{target}"  # absolute-form, as proxies want
            sent.update(proxy.authorization())
        if not self._keep_alive:
            sent.setdefault("Connection", "close")
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        connection = self._take(key)
        if connection is not None:
            try:
                return self._exchange(key, connection, method, target, body, sent, read_timeout, body_limit)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                pass  # the server closed the idle connection meanwhile: once more on a fresh one
        connection = self._connect(key, connect_timeout)
        try:
            return self._exchange(key, connection, method, target, body, sent, read_timeout, body_limit)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            raise HttpError(f"connection closed without an answer ({_os_reason(exc)})") from exc

    def close(self) -> None:
        """Close the idle connections; the client stays usable."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for connection in idle:
            connection.close()

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            return self._idle.pop(key, None)

    def _connect(self, key: _Key, timeout: float) -> http.client.HTTPConnection:
        scheme, host, port, verify, proxy = key
        peer_host, peer_port = (proxy.host, proxy.port) if proxy is not None else (host, port)
        peer = f"the proxy {proxy.address}" if proxy is not None else f"{host}:{port}"
        through = f" to the proxy {proxy.address}" if proxy is not None else ""
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = self._context(verify)
            connection = http.client.HTTPSConnection(peer_host, peer_port, timeout=timeout, context=context)
            if proxy is not None:  # CONNECT first; SNI and the certificate check then use `host`
                connection.set_tunnel(host, port, headers=proxy.authorization())
        else:
            connection = http.client.HTTPConnection(peer_host, peer_port, timeout=timeout)
        if self.policy is not None:
            _pin(connection, self.policy.resolve(host, port))
        try:
            connection.connect()
        except ssl.SSLError as exc:
            connection.close()
            raise HttpTlsError(f"TLS failed ({_ssl_reason(exc, verify)})") from exc
        except TimeoutError as exc:
            connection.close()
            raise HttpTimeout(f"connecting to {peer} timed out") from exc
        except OSError as exc:
            connection.close()
            refused = _TUNNEL_REFUSED.match(str(exc)) if proxy is not None else None
            if proxy is not None and refused is not None:
                raise _proxy_refusal(proxy, int(refused[1]), refused[2], f"{host}:{port}") from exc
            raise HttpConnectError(f"cannot connect{through} ({_os_reason(exc)})") from exc
        return connection

    def _exchange(
        self, key: _Key, connection: http.client.HTTPConnection, method: str, target: str,
        body: bytes | None, headers: dict[str, str], read_timeout: float, body_limit: int,
    ) -> HttpResponse:
        reusable = False
        try:
            if connection.sock is not None:
                connection.sock.settimeout(read_timeout)
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            proxy = key[4]
            if proxy is not None and key[0] == "http" and _refused_by_proxy(proxy, response):
                # before the body: a proxy that closes with our request body unread resets the connection
                raise _proxy_refusal(proxy, response.status, response.reason, f"{key[1]}:{key[2]}")
            data = response.read(body_limit) if method != "HEAD" else b""
            truncated = not response.isclosed() and method != "HEAD"
            reusable = self._keep_alive and not truncated and not response.will_close
            return HttpResponse(response.status, response.reason, response.headers, data, truncated)
        except TimeoutError as exc:
            raise HttpTimeout("timed out waiting for the answer") from exc
        except ssl.SSLError as exc:
            raise HttpTlsError(f"TLS failed ({_ssl_reason(exc, key[3])})") from exc
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            raise  # `request` decides: retry a reused connection, report a fresh one
        except http.client.HTTPException as exc:
            raise HttpError(f"bad answer: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise HttpError(f"connection failed ({_os_reason(exc)})") from exc
        finally:
            if reusable:
                with self._lock:
                    previous = self._idle.pop(key, None)
                    self._idle[key] = connection
                if previous is not None:
                    previous.close()
            else:
                connection.close()

    def _context(self, verify: bool | str) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(verify)
            if context is None:
                if verify is False:
                    context = ssl.create_default_context()
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                else:
                    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
                self._contexts[verify] = context
            return context


def _refused_by_proxy(proxy: Proxy, response: http.client.HTTPResponse) -> bool:
    """Tell whether an answer to an absolute-form request is the proxy refusing our credentials.

    A 407 always is; so is a 401 asking for Basic credentials when we sent the proxy some (tinyproxy
    answers wrong proxy credentials so). The collector's own 401 asks for a Bearer token, if anything.
    """
    if response.status == PROXY_AUTH_REQUIRED:
        return True
    challenge = response.headers.get("WWW-Authenticate", "")
    return response.status == 401 and proxy.username is not None and challenge.lower().startswith("basic")


def _proxy_refusal(proxy: Proxy, status: int, reason: str, target: str) -> HttpProxyError:
    """Return the error for a proxy's refusal of `target`, naming the proxy but never its credentials.

    A tunnel refused with 401 is taken as the 407 it means (tinyproxy answers wrong credentials so).
    """
    answer = f"HTTP {status} {reason.strip()}".rstrip()
    if status in (401, PROXY_AUTH_REQUIRED):
        wants = ("refused the user name and password in the proxy URL" if proxy.username is not None
                 else "wants a user name and password; give them in the proxy URL (http://user:password@host:port)")
        return HttpProxyError(f"the proxy {proxy.address} {wants} ({answer})")
    return HttpProxyError(f"the proxy {proxy.address} refused to connect to {target} ({answer})")


def _ssl_reason(exc: ssl.SSLError, verify: bool | str = True) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        trusted = f"the CA bundle {verify}" if isinstance(verify, str) else "the system's CA store"
        return f"certificate verify failed: {exc.verify_message}; trusting {trusted}"
    return str(exc.reason or exc)


def _os_reason(exc: OSError) -> str:
    if exc.errno is not None and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return str(exc) or type(exc).__name__


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the pause a `Retry-After` header asks for, in seconds (never negative).

    Accepts delta-seconds and HTTP-dates; returns None for a missing or unparsable header.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
