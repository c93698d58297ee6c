"""The one wrapper through which notifications leave the collector over HTTP.

One place for timeouts, TLS verification, redirects and reading answers: redirects are never followed
(a redirected POST is ambiguous; configure the final URL), TLS is always verified (against `ca_file`
when given), and at most `RESPONSE_LIMIT` bytes of an answer are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import requests

from fernwart.collector.notify.base import PermanentError, TransportError

RESPONSE_LIMIT = 4096
USER_AGENT = "Fernwart-Collector/0.1 (+notifications)"


@dataclass(frozen=True)
class HttpResponse:
    """A finished HTTP exchange: status, the parsed `Retry-After` (seconds) and the start of the body."""

    status: int
    retry_after: float | None
    text: str


class HttpClient:
    """Send requests through one owned `requests.Session`; close it with `close()` or `with`.

    Pass `session` to inject a fake or a prepared session (the client then still closes it).
    """

    def __init__(self, *, session: requests.Session | None = None, ca_file: str | None = None) -> None:
        self.session = session if session is not None else requests.Session()
        self.verify: str | bool = ca_file if ca_file else True

    def post(
        self, url: str, body: bytes, headers: dict[str, str], *, timeout: float, now: datetime
    ) -> HttpResponse:
        """POST `body` to `url` and return the answer, whatever its status.

        Raises PermanentError for a URL requests cannot use or a TLS certificate that does not verify,
        and TransportError for refused connections, resets and timeouts (connect or read). `now` is
        used to turn an HTTP-date `Retry-After` into seconds.
        """
        all_headers = {"User-Agent": USER_AGENT, **headers}
        try:
            with self.session.post(
                url,
                data=body,
                headers=all_headers,
                timeout=timeout,
                verify=self.verify,
                allow_redirects=False,
                stream=True,
            ) as response:
                raw = response.raw.read(RESPONSE_LIMIT, decode_content=True) if response.raw else b""
                return HttpResponse(
                    status=response.status_code,
                    retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
                    text=raw.decode(response.encoding or "utf-8", errors="replace"),
                )
        except requests.exceptions.SSLError as exc:
            raise PermanentError(f"TLS error talking to {url}: {_reason(exc)}") from exc
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ) as exc:
            raise PermanentError(f"unusable request to {url}: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise TransportError(f"timed out after {timeout:g}s: {url}") from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"connection failed: {url}: {_reason(exc)}") from exc

    def close(self) -> None:
        """Close the session and its pooled connections; safe to call twice."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


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


def _reason(exc: requests.exceptions.RequestException) -> str:
    # requests wraps urllib3's MaxRetryError, whose `reason` holds the useful text ("Connection refused").
    wrapped = exc.args[0] if exc.args else None
    return str(getattr(wrapped, "reason", None) or exc)
