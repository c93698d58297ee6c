"""The collector's notification queue, delivered through a real SMTP server process and an HTTP receiver."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from fernwart.collector.notify.webhook import verify_signature
from fernwart.collector.services import auth, contracts, notifications
from tests.collector.helpers import harness, result
from tests.collector.notify.conftest import Receiver, SmtpServer

CONTRACT = Path(__file__).parent.parent / "domain" / "example_contract.yaml"
SECRET = "a-webhook-secret-of-some-length"


@pytest.mark.smtp
def test_ticket_pages_go_out_by_mail_and_webhook_and_every_attempt_is_visible(
    database_url: str,
    smtp_server: Callable[..., SmtpServer],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    smtp = smtp_server()
    document = yaml.safe_load(CONTRACT.read_text())
    document["customers"][0]["contract"]["escalation"][0]["contact"] = [
        "oncall@provider.example",
        receiver.url,
    ]
    config = tmp_path / "notify.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "from_address": "fernwart@provider.example",
                },
                "webhook": {"secret": SECRET, "allow_http": True, "allow_networks": ["127.0.0.0/8"]},
            }
        )
    )
    transports = notifications.load_transports(config)
    receiver.answer(503)  # the first webhook attempt fails and is retried later
    with harness(database_url) as h:
        with h.sessions() as db:
            contracts.apply(db, document, "test", h.clock.now)
            db.commit()
        h.enroll("erp01", customer="Muster GmbH")
        h.report("erp01", [result("erp-db", 2, h.clock.now, "database down", max_attempts=1)])
        ticket = h.get("/api/v1/tickets")[0]
        with h.sessions() as db:
            assert notifications.deliver_due(db, transports, h.clock.now) == 1  # mail ok, webhook 503
            db.commit()
        h.clock.advance(minutes=1)
        with h.sessions() as db:
            assert notifications.deliver_due(db, transports, h.clock.now) == 1  # the webhook retry
            db.commit()
        with h.sessions() as db:
            assert notifications.deliver_due(db, transports, h.clock.now) == 0  # nothing left, nothing twice
        attempts = h.get(f"/api/v1/tickets/{ticket['id']}/notifications")
        with h.sessions() as db:
            customer_token = auth.create_user(db, "muster-it", "level1", h.clock.now, customer="Muster GmbH")
            db.commit()
        seen_by_customer = h.client.get(
            f"/api/v1/tickets/{ticket['id']}/notifications",
            headers={"Authorization": f"Bearer {customer_token}"},
        ).json()
    assert [(a["transport"], a["attempt"], a["outcome"]) for a in attempts] == [
        ("email", 1, "delivered"),
        ("webhook", 1, "retryable"),
        ("webhook", 2, "delivered"),
    ]
    assert attempts[1]["response_code"] == 503
    assert attempts[1]["error"] == "HTTP 503 Service Unavailable"  # the receiver's answer text is not kept
    assert [(a["outcome"], a["target"], a["error"], a["response_code"]) for a in seen_by_customer] == [
        ("delivered", "", "", None), ("retryable", "", "", None), ("delivered", "", "", None)
    ]  # a customer account sees that its provider was paged, not where to or what the receiver said

    ((mail, envelope),) = smtp.messages()
    assert envelope["rcpt_tos"] == ["oncall@provider.example"]
    assert "ticket opened" in mail["Subject"] and "erp01" in mail["Subject"]
    assert "database down" in mail.get_content()
    # due times in the contract's zone with UTC beside them, to the minute: no raw ISO, no microseconds
    text = mail.get_content()
    assert re.search(r"Response due: \d{4}-\d\d-\d\d \d\d:\d\d CET \(\d\d:\d\d UTC\)\r?\n", text)
    assert not re.search(r"\d\d:\d\d:\d\d\.\d|\+00:00", text)

    assert len(receiver.requests) == 2
    last = receiver.requests[-1]
    headers = {k.lower(): v for k, v in last.headers.items()}
    payload = json.loads(last.body)
    assert payload["kind"] == "ticket_opened" and payload["priority"] == "P1" and payload["host"] == "erp01"
    assert payload["notification_id"] == json.loads(receiver.requests[0].body)["notification_id"]
    assert verify_signature(
        SECRET,
        last.body,
        headers["x-fernwart-timestamp"],
        headers["x-fernwart-signature"],
        now=datetime.now(UTC),  # the transport signs with the real time
    )
