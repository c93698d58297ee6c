from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from fernwart.agent import __version__
from fernwart.agent.config import load_config
from fernwart.agent.enroll import EnrollError, default_checks, enroll
from fernwart.agent.instance import instance_id
from fernwart.agent.transport import CredentialsRefused
from tests.agent.collector_stub import CollectorStub


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_enroll_writes_private_token_and_a_loadable_config(
    collector: CollectorStub, tmp_path: Path, standins: None,
) -> None:
    config_path = tmp_path / "etc" / "agent.yaml"
    done = enroll(collector.url, "fwe_one", config_path, hostname="web01", listening_ports=lambda: {22, 80})
    (request,) = collector.requests
    assert request.path == "/api/v1/enroll"
    assert request.body["token"] == "fwe_one" and request.body["hostname"] == "web01"
    assert request.body["agent_version"] == __version__ and request.body["os"]
    assert "Authorization" not in request.headers
    assert done.token_path == tmp_path / "etc" / "agent.token"
    assert done.token_path.read_text() == "fwa_secret\n"
    assert mode(done.token_path) == 0o600
    config = load_config(config_path)
    assert (config.collector, config.host_id, config.heartbeat_interval) == (collector.url, "host-1", 30)
    assert config.token_file == done.token_path
    assert [c.type for c in config.checks] == ["cpu", "memory", "disk", "load", "tcp"]
    assert done.checks == ("cpu", "memory", "disk", "load", "ssh")
    assert config.checks[4].options.port == 22
    # no temp files left behind; the state directory holds the instance id, sent with the request
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["agent.token", "agent.yaml", "state"]
    assert [p.name for p in (config_path.parent / "state").iterdir()] == ["instance.json"]
    assert request.headers["X-Fernwart-Instance"] == instance_id(config_path.parent / "state")
    assert set(request.body["facts"]) == {
        "agent_version", "os", "kernel", "hostname", "addresses", "ssh_host_keys",
    }


def test_ssh_check_only_when_port_22_listens() -> None:
    assert "tcp" not in [c["type"] for c in default_checks({80, 443})]
    assert "tcp" in [c["type"] for c in default_checks({22})]


def test_refuses_existing_config_without_spending_the_token(collector: CollectorStub, tmp_path: Path) -> None:
    config_path = tmp_path / "agent.yaml"
    config_path.write_text("keep me")
    with pytest.raises(EnrollError, match="exists; pass --force"):
        enroll(collector.url, "fwe_one", config_path, listening_ports=set)
    assert collector.requests == []
    assert config_path.read_text() == "keep me"


def test_force_replaces_config_and_a_wider_token_file(
    collector: CollectorStub, tmp_path: Path, standins: None,
) -> None:
    config_path = tmp_path / "agent.yaml"
    config_path.write_text("old")
    token = tmp_path / "agent.token"
    token.write_text("fwa_old")
    os.chmod(token, 0o644)
    enroll(collector.url, "fwe_one", config_path, force=True, listening_ports=set)
    assert token.read_text() == "fwa_secret\n" and mode(token) == 0o600
    assert yaml.safe_load(config_path.read_text())["host_id"] == "host-1"


def test_refused_enrollment_writes_nothing(collector: CollectorStub, tmp_path: Path) -> None:
    collector.responder = lambda r: (401, {"error": "enrollment token expired"})
    with pytest.raises(CredentialsRefused, match="enrollment token expired"):
        enroll(collector.url, "fwe_old", tmp_path / "agent.yaml", listening_ports=set)
    assert list(tmp_path.iterdir()) == []


def test_unavailable_check_types_are_left_out(
    collector: CollectorStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standins: None,
) -> None:
    from fernwart.checks import registry

    monkeypatch.setitem(registry.CHECK_TYPES, "load", "tests.agent.no_such_module.LoadCheck")
    done = enroll(collector.url, "fwe_one", tmp_path / "agent.yaml", listening_ports=set)
    assert done.checks == ("cpu", "memory", "disk")
    assert [c.name for c in load_config(tmp_path / "agent.yaml").checks] == ["cpu", "memory", "disk"]


@pytest.mark.parametrize(
    ("proxy", "env", "expected"),
    [
        ("https://u:pw-secret@proxy.lan:3128", {},
         "--proxy https://proxy.lan: expected an http:// proxy URL"),
        (None, {"HTTPS_PROXY": "socks5://u:pw-secret@proxy.lan"},
         "HTTPS_PROXY in the environment: socks5://proxy.lan: expected an http:// proxy URL"),
    ],
)
def test_an_unusable_proxy_is_refused_before_anything_is_sent(
    collector: CollectorStub, tmp_path: Path, proxy: str | None, env: dict[str, str], expected: str,
) -> None:
    with pytest.raises(EnrollError) as caught:
        enroll(collector.url, "fwe_one", tmp_path / "agent.yaml", proxy=proxy, env=env, listening_ports=set)
    assert str(caught.value).startswith(expected) and "pw-secret" not in str(caught.value)
    assert collector.requests == [] and not (tmp_path / "agent.yaml").exists()


def test_a_proxy_without_credentials_keeps_the_config_world_readable(
    collector: CollectorStub, tmp_path: Path, standins: None,
) -> None:
    # the stub listens on 127.0.0.1; NO_PROXY sends the request there directly, the config keeps the proxy
    config_path = tmp_path / "agent.yaml"
    enroll(collector.url, "fwe_one", config_path, proxy="http://proxy.lan:3128",
           env={"NO_PROXY": "127.0.0.1"}, listening_ports=set)
    assert yaml.safe_load(config_path.read_text())["proxy"] == "http://proxy.lan:3128"
    assert mode(config_path) == 0o644
    assert load_config(config_path, env={}).proxies.proxy_for("https", "collector.example") is not None
