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

    def download(self, path: str, **params: str | None) -> tuple[bytes, str | None]:
        """Return the body of GET `path` as bytes and the file name the collector suggests, if any."""
        response = self._send("GET", path, params={k: v for k, v in params.items() if v is not None})
        disposition = response.headers.get("content-disposition", "")
        _, found, name = disposition.partition('filename="')
        return response.content, (name.split('"', 1)[0] or None) if found else None

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{method} {path}: the collector answered {response.status_code} without JSON"
            ) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.url}/api/v1{path}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise ApiError(f"the collector at {self.url} did not answer within {self.timeout:g}s") from None
        except requests.ConnectionError:
            raise ApiError(
                f"cannot reach the collector at {self.url} ({method} {url}: connection failed); is it "
                "running, and are FERNWART_URL (or the config file's url) and the port right?"
            ) from None
        except requests.RequestException as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            raise ApiError(f"cannot reach the collector at {self.url}: {reason}") from None
        if not response.ok:
            try:
                body = response.json()
            except ValueError:
                body = None
            error = body.get("error") if isinstance(body, dict) else None
            problems = tuple(body.get("problems") or ()) if isinstance(body, dict) else ()
            message = str(error) if error else f"HTTP {response.status_code} {response.reason}"
            if response.status_code == 404 and error in (None, "Not Found"):  # the path itself is unknown
                message = (
                    f"{method} {url}: 404 Not Found; is {self.url} the collector's address (not a proxy "
                    "or another service), and is the collector as new as this client?"
                )
            raise ApiError(message, response.status_code, problems)
        return response


def _user_agent() -> str:
    return f"fernwart-cli/{__version__}"
