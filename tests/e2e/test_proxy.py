"""Customer networks: the agent reaches the collector through a real HTTP proxy (tinyproxy) on loopback.

HTTPS goes through a CONNECT tunnel (TLS still verified end to end), plain HTTP as absolute-form requests;
the proxy comes from the environment (HTTPS_PROXY) or the config (`proxy:`, written by `enroll --proxy`);
NO_PROXY bypasses it; a proxy wanting credentials (BasicAuth) gets them from the proxy URL, and a 407 is
a clear message. The proxy's own log proves which requests it relayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.processes import Agent, Collector, agent_env, plugin_check, wait_for
from tests.e2e.tinyproxy import Tinyproxy
from tests.tlscerts import issue, make_ca

pytestmark = pytest.mark.e2e
USER, PASSWORD = "fernwart", "Pr0xy-s3cret"


@pytest.fixture(scope="module")
def https_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    home = tmp_path_factory.mktemp("https-collector")
    ca = make_ca(home / "pki")
    collector = Collector(home, tls=issue(ca, home / "pki"), ca=ca.cert_path)
    try:
        collector.start()
        yield collector
    finally:
        collector.stop()


@pytest.fixture(scope="module")
def http_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    collector = Collector(tmp_path_factory.mktemp("http-collector"))
    try:
        collector.start()
        yield collector
    finally:
        collector.stop()


@pytest.fixture(scope="module")
def open_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path_factory.mktemp("open-proxy"))
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path_factory.mktemp("auth-proxy"), basic_auth=(USER, PASSWORD))
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


def token(collector: Collector) -> str:
    return collector.cli("token", "create", "--customer", "Proxy GmbH", "--uses", "1")


def results(collector: Collector, host_id: str) -> list[dict[str, object]]:
    admin = getattr(collector, "admin", None) or collector.cli("user", "add", "tech", "--role", "level1")
    collector.admin = admin  # type: ignore[attr-defined]
    answer = requests.get(f"{collector.url}/api/v1/hosts/{host_id}/results", params={"check": "app"},
                          headers={"Authorization": f"Bearer {admin}"}, timeout=5,
                          verify=str(collector.ca) if collector.ca else True)
    answer.raise_for_status()
    rows: list[dict[str, object]] = answer.json()
    return rows


def run_until_reported(agent: Agent, collector: Collector, env: dict[str, str], tmp_path: Path) -> None:
    """Run the agent with a 1 s check and the job long-poll until the collector holds a result."""
    (agent.dir / "playbooks").mkdir(exist_ok=True)  # the job worker (long-poll) runs when there is one
    agent.set_checks([plugin_check(tmp_path / "plugin.state")])
    try:
        agent.start(env)
        wait_for("a result through the proxy", lambda: results(collector, agent.host_id), timeout=60)
    finally:
        agent.stop()


def test_https_through_the_environments_proxy_is_a_connect_tunnel(
    https_collector: Collector, open_proxy: Tinyproxy, tmp_path: Path
) -> None:
    env = agent_env({"HTTPS_PROXY": open_proxy.url})
    agent = Agent(tmp_path / "agent")
    assert https_collector.ca is not None
    done = agent.try_enroll(https_collector.url, token(https_collector), "proxied-tls", "--ca",
                            str(https_collector.ca), env=env)
    assert done.returncode == 0, done.stderr
    assert "proxy" not in yaml.safe_load(agent.config.read_text())  # the environment's is not written
    run_until_reported(agent, https_collector, env, tmp_path)
    tunnel = f"CONNECT 127.0.0.1:{https_collector.port} HTTP/1.0"
    assert tunnel in open_proxy.requests()
    assert f"via proxy 127.0.0.1:{open_proxy.port}, trusting" in agent.log.read_text()


def test_plain_http_goes_as_absolute_form_through_a_configured_proxy_with_basic_auth(
    http_collector: Collector, auth_proxy: Tinyproxy, tmp_path: Path
) -> None:
    proxy_url = f"http://{USER}:{PASSWORD}@127.0.0.1:{auth_proxy.port}"
    agent = Agent(tmp_path / "agent")
    done = agent.try_enroll(http_collector.url, token(http_collector), "proxied-http", "--proxy", proxy_url)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(agent.config.read_text())["proxy"] == proxy_url
    assert agent.config.stat().st_mode & 0o777 == 0o600  # it holds the proxy's password
    run_until_reported(agent, http_collector, agent_env(), tmp_path)  # no proxy in the environment
    relayed = auth_proxy.requests()
    base = f"http://127.0.0.1:{http_collector.port}/api/v1"
    assert f"POST {base}/enroll HTTP/1.1" in relayed
    assert f"POST {base}/reports HTTP/1.1" in relayed  # the sender
    assert any(line.startswith(f"GET {base}/agent/jobs?wait=") for line in relayed)  # the job long-poll
    for text in (done.stdout, done.stderr, agent.log.read_text()):
        assert PASSWORD not in text


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "127.0.0.0/8", "*", "localhost, .lan,127.0.0.1"])
def test_no_proxy_bypasses_the_proxy(
    https_collector: Collector, open_proxy: Tinyproxy, tmp_path: Path, no_proxy: str
) -> None:
    before = len(open_proxy.requests())
    env = agent_env({"HTTPS_PROXY": open_proxy.url, "NO_PROXY": no_proxy})
    agent = Agent(tmp_path / "agent")
    assert https_collector.ca is not None
    done = agent.try_enroll(https_collector.url, token(https_collector), f"direct-{abs(hash(no_proxy))}",
                            "--ca", str(https_collector.ca), env=env)
    assert done.returncode == 0, done.stderr
    assert open_proxy.requests()[before:] == []


@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("credentials", [None, f"{USER}:wrong-pw"])
def test_a_proxy_refusing_with_407_is_a_clear_message(
    https_collector: Collector, http_collector: Collector, auth_proxy: Tinyproxy, tmp_path: Path,
    scheme: str, credentials: str | None,
) -> None:
    collector = https_collector if scheme == "https" else http_collector
    proxy = f"http://{credentials + '@' if credentials else ''}127.0.0.1:{auth_proxy.port}"
    agent = Agent(tmp_path / "agent")
    extra = ("--ca", str(collector.ca)) if collector.ca else ()
    done = agent.try_enroll(collector.url, token(collector), "refused", *extra,
                            env=agent_env({f"{scheme.upper()}_PROXY": proxy}))
    assert done.returncode == 1
    wants = ("refused the user name and password in the proxy URL" if credentials else
             "wants a user name and password; give them in the proxy URL (http://user:password@host:port)")
    # tinyproxy answers wrong credentials with 401, missing ones with 407
    answer = "HTTP 401 Unauthorized" if credentials else "HTTP 407 Proxy Authentication Required"
    assert f"the proxy 127.0.0.1:{auth_proxy.port} {wants} ({answer})" in done.stderr
    assert "Traceback" not in done.stderr and "wrong-pw" not in done.stderr
    assert not agent.config.exists()
