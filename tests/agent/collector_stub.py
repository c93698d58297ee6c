"""A tiny collector stand-in: http.server on 127.0.0.1 in a thread, answering from a test's script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Answer = tuple[int, Any] | tuple[int, Any, dict[str, str]]  # status, JSON body[, extra headers]
Responder = Callable[[Request], Answer]


def accept_all(request: Request) -> Answer:
    """Answer 200 as the collector does for reports, 201 with credentials for enrollment."""
    if request.path == "/api/v1/enroll":
        return 201, {"host_id": "host-1", "agent_token": "fwa_secret", "heartbeat_interval": 30}
    return 200, {"accepted": len(request.body.get("results", [])), "duplicates": 0}


@dataclass
class CollectorStub:
    """Records every request; `responder` decides each answer (status, JSON body)."""

    responder: Responder = accept_all
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def reports(self) -> list[Request]:
        return [r for r in self.requests if r.path == "/api/v1/reports"]

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers at shutdown

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                request = Request(method, self.path, dict(self.headers), body)
                stub.requests.append(request)
                status, answer, *extra = stub.responder(request)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="collector-stub", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
