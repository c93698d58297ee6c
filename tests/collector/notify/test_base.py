"""The notification contract: payload JSON, delivery record properties, error texts."""

from __future__ import annotations

import pydantic
import pytest

from fernwart.collector.notify.base import NotificationPayload, PermanentError, TransportError
from tests.collector.notify.conftest import make_notification


def test_payload_json_is_plain_values() -> None:
    payload = make_notification(check=None).payload_json()
    assert payload["kind"] == "escalated"
    assert payload["occurred_at"] == "2026-03-02T09:30:00Z"
    assert payload["resolution_due"] == "2026-03-02T13:30:00Z"
    assert payload["check"] is None
    assert payload["schema_version"] == 1
    assert NotificationPayload.model_validate(payload) == make_notification(check=None).payload


def test_payload_refuses_unknown_fields_and_kinds() -> None:
    fields = make_notification().payload_json()
    with pytest.raises(pydantic.ValidationError):
        NotificationPayload.model_validate({**fields, "colour": "red"})
    with pytest.raises(pydantic.ValidationError):
        NotificationPayload.model_validate({**fields, "kind": "exploded"})


def test_notification_id_comes_from_payload() -> None:
    assert make_notification(notification_id="abc").id == "abc"


def test_errors_carry_code_and_pause() -> None:
    error = TransportError("HTTP 429", response_code=429, retry_after=7.0)
    assert (str(error), error.response_code, error.retry_after) == ("HTTP 429", 429, 7.0)
    assert not isinstance(PermanentError("x"), TransportError)
