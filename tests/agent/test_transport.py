from __future__ import annotations

from collections.abc import Iterator

import pytest

from fernwart.agent import __version__
from fernwart.agent.transport import CollectorLink, CollectorUnavailable, CredentialsRefused, RequestRejected
from tests.agent.collector_stub import CollectorStub, Request
from tests.support import free_port


@pytest.fixture
def transport(collector: CollectorStub) -> Iterator[CollectorLink]:
    client = CollectorLink(collector.url + "/", "fwa_tok", timeout=(2, 5))
    yield client
    client.close()


def test_posts_json_with_bearer_and_user_agent(collector: CollectorStub, transport: CollectorLink) -> None:
    answer = transport.post_json("/api/v1/reports", {"results": [1, 2]})
    assert answer == {"accepted": 2, "duplicates": 0}
    (request,) = collector.requests
    assert request.path == "/api/v1/reports"
    assert request.headers["Authorization"] == "Bearer fwa_tok"
    assert request.headers["User-Agent"] == f"fernwart-agent/{__version__}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body == {"results": [1, 2]}


def test_no_token_sends_no_authorization(collector: CollectorStub) -> None:
    client = CollectorLink(collector.url)
    try:
        client.post_json("/api/v1/enroll", {})
    finally:
        client.close()
    assert "Authorization" not in collector.requests[0].headers


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 302])
def test_retryable_statuses(collector: CollectorStub, transport: CollectorLink, status: int) -> None:
    collector.responder = lambda r: (status, {"error": "busy"})
    with pytest.raises(CollectorUnavailable) as caught:
        transport.post_json("/api/v1/reports", {})
    assert caught.value.status == status
    assert len(collector.requests) == 1  # a redirect is not followed


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses(collector: CollectorStub, transport: CollectorLink, status: int) -> None:
    collector.responder = lambda r: (status, {"error": "token revoked"})
    with pytest.raises(CredentialsRefused) as caught:
        transport.post_json("/api/v1/reports", {})
    assert (caught.value.status, caught.value.error) == (status, "token revoked")


@pytest.mark.parametrize("status", [400, 413, 422])
def test_permanent_refusals_carry_status_and_error(
    collector: CollectorStub, transport: CollectorLink, status: int,
) -> None:
    def refuse(request: Request) -> tuple[int, object]:
        return status, {"error": "results[0].status: must be 0-3"}

    collector.responder = refuse
    with pytest.raises(RequestRejected) as caught:
        transport.post_json("/api/v1/reports", {})
    assert (caught.value.status, caught.value.error) == (status, "results[0].status: must be 0-3")


def test_connection_refused_is_retryable() -> None:
    client = CollectorLink(f"http://127.0.0.1:{free_port()}", "t", timeout=(1, 1))
    try:
        refused = r"cannot connect \(\[Errno 111\] Connection refused\)"
        with pytest.raises(CollectorUnavailable, match=refused) as caught:
            client.post_json("/api/v1/reports", {})
    finally:
        client.close()
    assert caught.value.status is None


def test_nan_is_refused_before_sending(collector: CollectorStub, transport: CollectorLink) -> None:
    with pytest.raises(ValueError):
        transport.post_json("/api/v1/reports", {"x": float("nan")})
    assert collector.requests == []
