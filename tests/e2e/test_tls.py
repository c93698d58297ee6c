"""TLS end to end: a real collector serving HTTPS with a certificate of a CA the test makes, real agents.

The agent verifies against the CA pinned at enrollment (`enroll --ca`); a certificate that does not verify
fails enrollment with the cause named, and makes a running agent log it and keep its results until a
certificate that verifies is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.processes import Agent, Api, Collector, plugin_check, wait_for
from tests.tlscerts import CertAuthority, issue, make_ca

pytestmark = pytest.mark.e2e


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    """Return the collector's CA and a second, unrelated CA, each with a loopback server certificate."""
    ours, other = make_ca(tmp_path / "pki", "Provider CA"), make_ca(tmp_path / "pki", "Other CA")
    return {
        "ca": ours, "server": issue(ours, tmp_path / "pki", stem="server"),
        "other_ca": other, "other_server": issue(other, tmp_path / "pki", stem="other-server"),
        "wrong_name": issue(ours, tmp_path / "pki", ("collector.example.net",), stem="wrong-name"),
    }


@pytest.fixture
def collector(tmp_path: Path, pki: dict[str, Any]) -> Iterator[Collector]:
    ca: CertAuthority = pki["ca"]
    served = Collector(tmp_path / "collector", tls=pki["server"], ca=ca.cert_path)
    try:
        served.start()
        yield served
    finally:
        served.stop()


def enrollment_token(collector: Collector) -> str:
    return collector.cli("token", "create", "--customer", "Muster GmbH", "--uses", "1")


def test_agent_with_the_pinned_ca_enrolls_and_reports_over_https(
    collector: Collector, pki: dict[str, Any], tmp_path: Path
) -> None:
    admin = collector.cli("user", "add", "tech", "--role", "level1")
    bundle = tmp_path / "handed-over-ca.pem"
    bundle.write_bytes(pki["ca"].cert_path.read_bytes())
    agent = Agent(tmp_path / "agent")
    done = agent.try_enroll(collector.url, enrollment_token(collector), "tls-host", "--ca", str(bundle))
    assert done.returncode == 0, done.stderr
    assert collector.url.startswith("https://")
    config = yaml.safe_load(agent.config.read_text())
    assert config["ca_file"] == "collector-ca.pem"  # pinned: a copy beside the config
    assert (agent.dir / "collector-ca.pem").read_bytes() == pki["ca"].cert_path.read_bytes()
    bundle.unlink()  # the agent no longer needs the file it was given
    state = tmp_path / "plugin.state"
    agent.set_checks([plugin_check(state)])
    try:
        agent.start()
        api = Api(collector.url, admin)
        api_checks = f"/api/v1/hosts/{agent.host_id}/checks"
        wait_for("the check's first result over HTTPS", lambda: _get(api, api_checks, pki))
    finally:
        agent.stop()
    assert "reporting to https://127.0.0.1" in agent.log.read_text()
    assert f"trusting {agent.dir / 'collector-ca.pem'}" in agent.log.read_text()


def _get(api: Api, path: str, pki: dict[str, Any]) -> Any:
    import requests

    answer = requests.get(f"{api.url}{path}", headers=api.headers, timeout=5, verify=str(pki["ca"].cert_path))
    answer.raise_for_status()
    return answer.json()


@pytest.mark.parametrize(
    ("given_ca", "expected"),
    [
        (None, "certificate verify failed: unable to get local issuer certificate; trusting the system's CA "
               "store); if the collector's certificate comes from your own CA, give that CA with --ca FILE"),
        ("other_ca",
         "certificate verify failed: unable to get local issuer certificate; trusting the CA bundle"),
    ],
)
def test_enrollment_against_a_certificate_that_does_not_verify_names_the_cause(
    collector: Collector, pki: dict[str, Any], tmp_path: Path, given_ca: str | None, expected: str
) -> None:
    agent = Agent(tmp_path / "agent")
    extra = ("--ca", str(pki[given_ca].cert_path)) if given_ca else ()
    done = agent.try_enroll(collector.url, enrollment_token(collector), "tls-host", *extra)
    assert done.returncode == 1
    assert done.stderr.startswith("fernwart-agent: enrollment failed: POST https://127.0.0.1:")
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not agent.config.exists() and not (agent.dir / "agent.token").exists()


def test_a_certificate_for_another_name_is_refused(
    tmp_path: Path, pki: dict[str, Any]
) -> None:
    served = Collector(tmp_path / "collector", tls=pki["wrong_name"], ca=None)
    token = enrollment_token(served)
    agent = Agent(tmp_path / "agent")
    try:
        served.start()
        done = agent.try_enroll(served.url, token, "tls-host", "--ca", str(pki["ca"].cert_path))
    finally:
        served.stop()
    assert done.returncode == 1
    mismatch = "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'"
    assert mismatch in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("ca_text", "expected"),
    [("", "the file is empty"), ("not a certificate\n", "not a PEM CA bundle"), (None, "cannot read")],
)
def test_an_unusable_ca_bundle_is_refused_before_anything_is_sent(
    collector: Collector, tmp_path: Path, ca_text: str | None, expected: str
) -> None:
    bundle = tmp_path / "ca.pem"
    if ca_text is not None:
        bundle.write_text(ca_text)
    token = enrollment_token(collector)
    agent = Agent(tmp_path / "agent")
    done = agent.try_enroll(collector.url, token, "tls-host", "--ca", str(bundle))
    assert done.returncode == 1
    assert done.stderr.startswith(f"fernwart-agent: enrollment failed: --ca {bundle}: "), done.stderr
    assert expected in done.stderr
    good = tmp_path / "good.pem"
    good.write_bytes(collector.ca.read_bytes() if collector.ca else b"")
    again = agent.try_enroll(collector.url, token, "tls-host", "--ca", str(good))
    assert again.returncode == 0, again.stderr  # the single-use token was not spent by the refusal


def test_running_agent_logs_an_unverifiable_certificate_and_keeps_its_results(
    collector: Collector, pki: dict[str, Any], tmp_path: Path
) -> None:
    admin = collector.cli("user", "add", "tech", "--role", "level1")
    agent = Agent(tmp_path / "agent")
    done = agent.try_enroll(collector.url, enrollment_token(collector), "tls-host",
                            "--ca", str(pki["ca"].cert_path))
    assert done.returncode == 0, done.stderr
    state = tmp_path / "plugin.state"
    agent.set_checks([plugin_check(state)], heartbeat_interval=2)
    api = Api(collector.url, admin)
    results = f"/api/v1/hosts/{agent.host_id}/results"
    try:
        agent.start()
        wait_for("the first result", lambda: _get(api, results + "?check=app", pki))
        collector.stop()
        collector.tls = pki["other_server"]  # same port, a certificate of a CA the agent does not trust
        collector.ca = pki["other_ca"].cert_path
        collector.start()
        refused = "certificate verify failed: unable to get local issuer certificate; trusting the CA bundle"
        wait_for("the agent to log the refused certificate", lambda: refused in agent.log.read_text())
        mark = len(_runs(state))
        wait_for("more runs while the certificate does not verify", lambda: len(_runs(state)) >= mark + 3)
        produced_meanwhile = set(_runs(state)[mark:])
        collector.stop()
        collector.tls, collector.ca = pki["server"], pki["ca"].cert_path
        collector.start()

        def stored() -> set[str]:
            rows = _get(api, results + "?check=app&limit=5000", pki)
            return {r["summary"].split("run ")[1] for r in rows}

        # the sender backs off with jitter up to its 60 s cap while the certificate is refused
        wait_for("the results kept in the outbox to arrive", lambda: produced_meanwhile <= stored(),
                 timeout=150)
    finally:
        agent.stop()
    lines = [line for line in agent.log.read_text().splitlines() if refused in line]
    assert lines and all("cannot report to the collector" in line and "kept, retrying in" in line
                         for line in lines)
    assert "Traceback" not in agent.log.read_text()


def _runs(state: Path) -> list[str]:
    log = Path(f"{state}.log")
    return [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []
