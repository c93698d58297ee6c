"""The one place the `fernwart` CLI talks HTTP: bearer token, timeouts, JSON, and errors as ApiError.

A thin client: it knows paths and bodies of the collector's API (`/api/v1/...`), nothing of its insides.
"""

from __future__ import annotations

from typing import Any

import requests

from fernwart import __version__


class ApiError(Exception):
    """The collector refused a request or could not be reached.

    `status` is the HTTP status (None when there was no answer); the message is the collector's `error`
    field; `problems` lists the lines of a refused contract.
    """

    def __init__(self, message: str, status: int | None = None, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems


class Client:
    """Calls the collector at `url` as the technician owning `token`; every request has `timeout` seconds."""

    def __init__(self, url: str, token: str, timeout: float = 15.0, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": _user_agent()})

    def get(self, path: str, **params: str | int | None) -> Any:
        """Return the JSON answer of GET `path` (under /api/v1); None-valued params are left out."""
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        """Return the JSON answer of POST `path` with a JSON `body`."""
        return self._request("POST", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        """Return the JSON answer of PUT `path` with a JSON `body`."""
        return self._request("PUT", path, json=body)

    def act(self, ticket_id: int, action: str, message: str = "") -> Any:
        """Return the ticket after POST /tickets/ID/ACTION with `message` (acknowledge, resolve, ...)."""
        return self.post(f"/tickets/{ticket_id}/{action}", {"message": message})

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.url}/api/v1{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise ApiError(f"the collector at {self.url} did not answer within {self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach the collector at {self.url}: {exc.__class__.__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.ok:
            error = body.get("error") if isinstance(body, dict) else None
            problems = tuple(body.get("problems") or ()) if isinstance(body, dict) else ()
            message = str(error) if error else f"HTTP {response.status_code} {response.reason}"
            raise ApiError(message, response.status_code, problems)
        if body is None:
            raise ApiError(f"{method} {path}: the collector answered {response.status_code} without JSON")
        return body


def _user_agent() -> str:
    return f"fernwart-cli/{__version__}"
