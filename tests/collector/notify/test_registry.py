"""The transport registry: lazy lookup, building from config, and refusing bad config clearly."""

from __future__ import annotations

from typing import Any

import pytest

from fernwart.collector.notify.email import EmailTransport
from fernwart.collector.notify.registry import TRANSPORTS, TransportConfigError, UnknownTransport, build, load
from fernwart.collector.notify.webhook import WebhookTransport

EMAIL = {"type": "email", "host": "smtp.provider.example", "from_address": "fernwart@provider.example"}


def test_every_registered_transport_loads_and_names_itself() -> None:
    for name in TRANSPORTS:
        assert load(name).name == name


def test_build_email_with_defaults() -> None:
    transport = build(EMAIL)
    assert isinstance(transport, EmailTransport)
    assert transport.config.security == "starttls"
    assert transport.config.effective_port == 587


def test_build_webhook() -> None:
    with build({"type": "webhook", "secret": "s" * 16, "timeout": 3}) as transport:  # type: ignore[attr-defined]
        assert isinstance(transport, WebhookTransport)
        assert transport.config.timeout == 3


@pytest.mark.parametrize("config", [{}, {"type": "pager"}, {"type": None}])
def test_unknown_transport_names_the_known_ones(config: dict[str, Any]) -> None:
    with pytest.raises(UnknownTransport, match="known transports: email, webhook"):
        build(config)


@pytest.mark.parametrize(("config", "message"), [
    ({**EMAIL, "hostname": "x"}, "email transport: unknown key 'hostname'"),
    ({"type": "email", "host": "x"}, "email transport: missing key 'from_address'"),
    ({**EMAIL, "security": "ssl"}, "security: Input should be 'none', 'starttls' or 'tls'"),
    ({**EMAIL, "port": 0}, "port: Input should be greater than or equal to 1"),
    ({**EMAIL, "username": "u"}, "username and password go together"),
    ({**EMAIL, "security": "none", "username": "u", "password": "p"}, "refusing to send a password"),
    ({**EMAIL, "from_address": "Fernwart <f@x.example>"}, "from_address: Value error, not a bare email"),
    ({**EMAIL, "ca_file": "/nonexistent/ca.pem"}, "email transport: .*No such file"),
    ({"type": "webhook", "secret": "short"}, "secret: Value error, must be at least 16 characters"),
    ({"type": "webhook", "secret": "s" * 16, "url": "https://x"}, "unknown key 'url'"),
])
def test_bad_config_is_refused_with_the_place(config: dict[str, Any], message: str) -> None:
    with pytest.raises(TransportConfigError, match=message):
        build(config)


def test_refusal_never_echoes_a_secret() -> None:
    with pytest.raises(TransportConfigError) as caught:
        build({**EMAIL, "security": "none", "username": "u", "password": "hunter2-secret"})
    assert "hunter2-secret" not in str(caught.value)
