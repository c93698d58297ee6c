from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fernwart.agent.config import ConfigError, load_config, parse_config
from fernwart.checks.ranges import Range
from tests.agent.fakes import ValueCheck

HEAD = "collector: https://collector.example.net:8443/\nhost_id: host-1\n"


def test_full_config_with_defaults(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    path = write_config(HEAD + """
checks:
  - name: cpu
    type: t_value
    interval: 60
  - name: slow
    type: t_value
    interval: 10
    timeout: 2.5
    max_attempts: 5
    warning: "~:10"
    critical: 5
    value: 42
""")
    config = load_config(path)
    assert config.collector == "https://collector.example.net:8443"
    assert config.token_file == tmp_path / "agent.token"
    assert config.outbox == tmp_path / "outbox.sqlite"
    assert config.state_dir == tmp_path / "state"
    assert (config.heartbeat_interval, config.batch_size, config.ca_file) == (60, 200, None)
    assert config.report_delay == 5.0
    cpu, slow = config.checks
    assert (cpu.timeout, cpu.max_attempts, cpu.warning, cpu.critical) == (30.0, 3, None, None)
    made = cpu.make()
    assert isinstance(made, ValueCheck) and made.warning == Range.parse("80")  # the type's default
    assert (slow.interval, slow.timeout, slow.max_attempts) == (10, 2.5, 5)
    assert slow.warning == Range.parse("~:10") and slow.critical == Range.parse("5")
    assert slow.options.value == 42.0
    assert cpu.timeout == 30.0 and config.checks[1].timeout == 2.5


def test_short_interval_caps_default_timeout() -> None:
    config = parse_config(HEAD + "checks: [{name: a, type: t_value, interval: 7}]", "agent.yaml")
    assert config.checks[0].timeout == 7.0


def test_relative_paths_resolve_beside_config(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("")
    config = parse_config(
        HEAD + "token_file: secret/tok\noutbox: /var/lib/fw/out.db\ntls_verify: ca.pem\n", tmp_path / "a.yaml"
    )
    assert config.token_file == tmp_path / "secret" / "tok"
    assert config.outbox == Path("/var/lib/fw/out.db")
    assert config.ca_file == tmp_path / "ca.pem"  # tls_verify: PATH, the old spelling of ca_file
    assert config.checks == ()


def test_ca_file_is_resolved_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "collector-ca.pem").write_text("")
    config = parse_config(HEAD + "ca_file: collector-ca.pem\n", tmp_path / "a.yaml")
    assert config.ca_file == tmp_path / "collector-ca.pem"


def test_proxy_from_the_config_wins_over_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://env-proxy:3128", "NO_PROXY": "collector.example.net"}
    config = parse_config(HEAD + "proxy: http://u:p@proxy.lan:8080\nno_proxy: [other.lan]\n", "a.yaml", env)
    proxy = config.proxies.proxy_for("https", "collector.example.net")
    assert proxy is not None and (proxy.host, proxy.port, proxy.username, proxy.password) == (
        "proxy.lan", 8080, "u", "p")
    assert config.proxies.proxy_for("https", "x.other.lan") is None


def test_proxy_from_the_environment_without_a_config_key() -> None:
    config = parse_config(HEAD, "a.yaml", {"https_proxy": "proxy.lan:3128"})
    proxy = config.proxies.proxy_for("https", "collector.example.net")
    assert proxy is not None and proxy.address == "proxy.lan:3128"
    direct = parse_config(HEAD + "proxy: direct\n", "a.yaml", {"https_proxy": "proxy.lan:3128"})
    assert direct.proxies.proxy_for("https", "collector.example.net") is None


CHECK = "checks:\n  - {name: a, type: t_value, interval: 60}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "colector: x\n", "agent.yaml: colector: unknown setting; expected one of collector"),
        ("host_id: h\n", "agent.yaml: collector: expected an http:// or https:// URL, got None"),
        ("collector: ftp://x\nhost_id: h\n", "agent.yaml: collector: expected an http:// or https:// URL"),
        ("collector: http://x\n", "agent.yaml: host_id: expected the host id given at enrollment"),
        (HEAD + "heartbeat_interval: 0\n",
         "agent.yaml: heartbeat_interval: expected whole seconds >= 1, got 0"),
        (HEAD + "batch_size: 1001\n", "agent.yaml: batch_size: expected a whole number from 1 to 1000"),
        (HEAD + "report_delay: 61\n", "agent.yaml: report_delay: expected seconds from 0 to 60, got 61"),
        (HEAD + "report_delay: soon\n", "agent.yaml: report_delay: expected seconds from 0 to 60"),
        (HEAD + "tls_verify: nope.pem\n", "agent.yaml: tls_verify: CA bundle"),
        (HEAD + "tls_verify: 3\n", "agent.yaml: tls_verify: expected true or the path of a CA bundle"),
        (HEAD + "tls_verify: false\n",
         "agent.yaml: tls_verify: turning TLS verification off is not supported"),
        (HEAD + "ca_file: nope.pem\n", "agent.yaml: ca_file: CA bundle"),
        (HEAD + "ca_file: 3\n", "agent.yaml: ca_file: expected the path of a PEM CA bundle"),
        (HEAD + "proxy: https://p.lan:3128\n",
         "agent.yaml: proxy: https://p.lan: expected an http:// proxy URL"),
        (HEAD + "proxy: http://u:secret@p.lan:99999\n", "agent.yaml: proxy: http://p.lan: the proxy's port"),
        (HEAD + "proxy: 3\n", "agent.yaml: proxy: expected an http:// proxy URL or 'direct'"),
        (HEAD + "no_proxy: {a: 1}\n", "agent.yaml: no_proxy: expected host names"),
        (HEAD + "checks: {a: 1}\n", "agent.yaml: checks: expected a list of checks, got a mapping"),
        (HEAD + "checks: [cpu]\n", "agent.yaml: checks[0]: expected a mapping with name, type, interval"),
        ("- a\n", "agent.yaml: expected a mapping of settings at the top level, got a list"),
        (HEAD + "checks: [\n", "agent.yaml: not valid YAML"),
    ],
)
def test_top_level_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "agent.yaml")
    assert str(caught.value).startswith(expected), str(caught.value)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: disk-root, type: t_value, interval: 60, warning: 9x}",
         "agent.yaml: check 'disk-root' (checks[1]): warning: threshold '9x': '9x' is not a number; "
         "expected a range like"),
        ("{name: d, type: t_value, interval: 60, critical: '20:10'}",
         "agent.yaml: check 'd' (checks[1]): critical: threshold '20:10' starts above its end"),
        ("{name: d, type: nosuch, interval: 60}",
         "agent.yaml: check 'd' (checks[1]): type: unknown check type 'nosuch'; known types:"),
        ("{name: d, interval: 60}", "agent.yaml: check 'd' (checks[1]): type: expected a check type name"),
        ("{name: d, type: t_value, interval: 60, colour: red}",
         "agent.yaml: check 'd' (checks[1]): colour: unknown option; this check type takes: label, value"),
        ("{name: d, type: t_value, interval: 60, value: high}",
         "agent.yaml: check 'd' (checks[1]): value: expected a number, got 'high'"),
        ("{name: d, type: t_command, interval: 60, command: 5}",
         "agent.yaml: check 'd' (checks[1]): command: expected a list, got 5"),
        ("{name: a, type: t_value, interval: 30}",
         "agent.yaml: check 'a' (checks[1]): name: duplicate; checks[0] already uses it"),
        ("{name: host, type: t_value, interval: 60}",
         "agent.yaml: check 'host' (checks[1]): name: 'host' is reserved"),
        ("{name: 'disk root', type: t_value, interval: 60}",
         "agent.yaml: check 'disk root' (checks[1]): name: expected 1-128 characters of A-Z a-z 0-9"),
        ("{type: t_value, interval: 60}", "agent.yaml: checks[1]: name: expected 1-128 characters"),
        ("{name: d, type: t_value}",
         "agent.yaml: check 'd' (checks[1]): interval: expected whole seconds >= 1"),
        ("{name: d, type: t_value, interval: 1.5}",
         "agent.yaml: check 'd' (checks[1]): interval: expected whole"),
        ("{name: d, type: t_value, interval: 10, timeout: 11}",
         "agent.yaml: check 'd' (checks[1]): timeout: expected seconds > 0 and <= interval (10), got 11"),
        ("{name: d, type: t_value, interval: 10, timeout: 0}", "agent.yaml: check 'd' (checks[1]): timeout:"),
        ("{name: d, type: t_value, interval: 10, max_attempts: 0}",
         "agent.yaml: check 'd' (checks[1]): max_attempts: expected a whole number from 1 to 100, got 0"),
        ("{name: d, type: t_status, interval: 10, warning: 5}",
         "agent.yaml: check 'd' (checks[1]): warning: check type 't_status' takes no thresholds"),
    ],
)
def test_check_errors_name_file_check_and_key(entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + CHECK + f"  - {entry}\n", "agent.yaml")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_type_that_cannot_load_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from fernwart.checks import registry

    monkeypatch.setitem(registry.CHECK_TYPES, "t_missing", "tests.agent.no_such_module.Check")
    with pytest.raises(ConfigError, match=r"check 'd' \(checks\[0\]\): type: check type 't_missing' is "
                       r"registered but cannot be loaded"):
        parse_config(HEAD + "checks: [{name: d, type: t_missing, interval: 5}]", "agent.yaml")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the config"):
        load_config(tmp_path / "nope.yaml")


def test_no_check_option_is_shadowed_by_a_common_key() -> None:
    """An option named like a common key (name, type, ...) could never be set from the YAML."""
    from dataclasses import fields

    from fernwart.agent.config import COMMON_CHECK_KEYS
    from fernwart.checks.registry import CHECK_TYPES, load

    for type_name in CHECK_TYPES:
        clashes = {f.name for f in fields(load(type_name).Options)} & set(COMMON_CHECK_KEYS)
        assert not clashes, f"check type {type_name!r}: options {sorted(clashes)} clash with common keys"


def test_dns_check_configures_its_query(write_config: Callable[[str], Path]) -> None:
    config = load_config(write_config(HEAD + """
checks:
  - name: dns-www
    type: dns
    interval: 60
    query: www.example.net
"""))
    (check,) = config.checks
    assert check.name == "dns-www" and check.options.query == "www.example.net"
