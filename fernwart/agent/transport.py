"""The agent's one way out: every request to the collector goes through `CollectorLink`.

One place for the base URL, connect/read timeouts, TLS verification, the proxy, the bearer token and the
User-Agent. TLS is always verified: against the system's CA store, or the CA bundle pinned at enrollment
(`ca_file`); there is no way to turn it off. The proxy is whatever `proxies` chooses per URL (the agent's
`ProxySettings`: config, then HTTPS_PROXY/NO_PROXY); the agent only ever connects outbound.

Answers are sorted into three exceptions, caught where the decision is made (the sender):

- `CollectorUnavailable`: try again later (connection refused, DNS, TLS, a refusing proxy, timeouts, 5xx,
  408, 429);
  its `retry_after` carries the pause a 429 or 503 asked for in `Retry-After` (seconds or an HTTP date);
- `CredentialsRefused`: 401/403, the token is missing, revoked or for another host (keep results, back off);
- `AgentRevoked`: 410, a technician revoked this host: stop sending, keep the outbox;
- `InstanceRefused`: 409 naming ``instance_conflict``: another agent instance holds this host (a cloned
  VM using the same token): stop sending, keep the outbox;
- `RequestRejected`: any other 4xx; the collector will never accept this body (413 included, so the
  sender can split the batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fernwart.agent import __version__
from fernwart.checks.probe import utc_now
from fernwart.httpclient import HttpClient, HttpError, HttpResponse, ProxyChooser, parse_retry_after
from fernwart.protocol import INSTANCE_CONFLICT, INSTANCE_HEADER

RETRYABLE_STATUSES = frozenset({408, 429})
AUTH_STATUSES = frozenset({401, 403})
REVOKED_STATUS = 410
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
ANSWER_LIMIT = 1024 * 1024  # bytes of an answer read; the collector answers with a few hundred


class CollectorError(Exception):
    """Base of every error talking to the collector."""


class CollectorUnavailable(CollectorError):
    """A failure worth retrying later; `status` is None when no HTTP answer came back.

    `retry_after` is the pause in seconds the collector asked for (429/503 with `Retry-After`), else None.
    """

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class CredentialsRefused(CollectorError):
    """The collector refused our credentials (401) or says they belong to another host (403)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error


class AgentRevoked(CollectorError):
    """The collector answered 410: this host was revoked; retrying cannot help."""

    def __init__(self, error: str) -> None:
        super().__init__(f"HTTP 410: {error}")
        self.error = error


class InstanceRefused(CollectorError):
    """The collector answered 409 `instance_conflict`: the host is bound to another agent instance."""

    def __init__(self, error: str) -> None:
        super().__init__(f"HTTP 409: {error}")
        self.error = error


class RequestRejected(CollectorError):
    """The collector refused this request for good (a 4xx other than 401/403/408/429)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error


class CollectorLink:
    """POSTs JSON to the collector at `base_url`; `token` None sends no Authorization (enrollment).

    `ca_file` is the CA bundle to verify the collector's certificate against (None: the system's store);
    `proxies` chooses the proxy per URL (None: always direct).
    """

    def __init__(
        self, base_url: str, token: str | None = None, *, ca_file: Path | str | None = None,
        proxies: ProxyChooser | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT, client: HttpClient | None = None,
        now: Callable[[], datetime] = utc_now, instance_id: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._verify: str | bool = str(ca_file) if ca_file is not None else True  # never False
        self._timeout = timeout
        self._now = now
        self._client = client if client is not None else HttpClient(keep_alive=True, proxies=proxies)
        self._client.headers["User-Agent"] = f"fernwart-agent/{__version__}"
        if instance_id:
            self._client.headers[INSTANCE_HEADER] = instance_id

    def send_json(
        self, method: str, path: str, body: dict[str, Any] | None = None, *,
        read_timeout: float | None = None,
    ) -> dict[str, Any] | None:
        """Send `method` to `path` (a JSON body, or none) and return the JSON answer; None for a 204.

        Errors are sorted as the module docstring says; `read_timeout` lengthens the wait for a long-poll.
        """
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        url = f"{self.base_url}{path}"
        timeout = (self._timeout[0], read_timeout) if read_timeout is not None else self._timeout
        try:
            # redirects are never followed: a redirected POST would turn into a GET
            response = self._client.request(method, url, body=data, headers=headers, timeout=timeout,
                                            verify=self._verify, body_limit=ANSWER_LIMIT)
        except HttpError as exc:
            raise CollectorUnavailable(f"{method} {url}: {exc}") from exc
        status = response.status
        if status == 204:
            return None
        if 200 <= status < 300:
            try:
                answer = response.json()
            except ValueError:
                return {}
            return answer if isinstance(answer, dict) else {}
        error = _error_text(response)
        if status == 409 and _error_code(response) == INSTANCE_CONFLICT:
            raise InstanceRefused(error)
        if status in AUTH_STATUSES:
            raise CredentialsRefused(status, error)
        if status == REVOKED_STATUS:
            raise AgentRevoked(error)
        if status >= 500 or status in RETRYABLE_STATUSES or status < 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
            raise CollectorUnavailable(f"{method} {url}: HTTP {status}: {error}", status, retry_after)
        raise RequestRejected(status, error)

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` to `path` and return the JSON answer of a 2xx (an empty dict if it has none).

        Raises CollectorUnavailable, CredentialsRefused, AgentRevoked or RequestRejected as the module
        docstring sorts them; a body that is not JSON-serialisable (NaN included) raises ValueError before
        anything is sent.
        """
        return self.send_json("POST", path, body) or {}

    def set_token(self, token: str) -> None:
        """Use `token` from the next request on (after a rotation)."""
        self._token = token

    def close(self) -> None:
        """Close the idle keep-alive connection; a later request opens a new one."""
        self._client.close()


def _error_code(response: HttpResponse) -> str | None:
    """Return the ``code`` of a ``{"error": ..., "code": ...}`` answer, else None."""
    try:
        answer = response.json()
    except ValueError:
        return None
    code = answer.get("code") if isinstance(answer, dict) else None
    return code if isinstance(code, str) else None


def _error_text(response: HttpResponse) -> str:
    """Return the collector's ``{"error": ...}`` text, or the start of the body when it is not that shape."""
    try:
        answer = response.json()
    except ValueError:
        return response.text()[:500].strip() or response.reason or "no error text"
    if isinstance(answer, dict) and "error" in answer:
        return str(answer["error"])
    return json.dumps(answer)[:500]
