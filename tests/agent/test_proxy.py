"""Proxy choice: config over environment, the variables curl reads, and NO_PROXY matched as curl does."""

from __future__ import annotations

import pytest

from fernwart.agent.proxy import NoProxy, ProxySettings, parse_proxy_url
from fernwart.httpclient import Proxy


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypassed"),
    [
        ("*", "collector.example.net", True),
        ("example.net", "example.net", True),
        ("example.net", "collector.example.net", True),  # a name matches the names below it
        (".example.net", "example.net", True),  # a leading dot changes nothing (curl strips it)
        (".example.net", "a.b.example.net", True),
        ("example.net", "notexample.net", False),  # only on a dot boundary
        ("EXAMPLE.net", "Collector.Example.NET.", True),  # case and a trailing dot do not matter
        ("other.lan, example.net", "x.example.net", True),  # commas and spaces separate
        ("other.lan example.net", "x.example.net", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("10.0.0.0/8", "10.20.30.40", True),  # CIDR ranges match addresses in them
        ("10.0.0.0/8", "11.0.0.1", False),
        ("10.0.0.0/8", "ten.example.net", False),  # names are not resolved for a range
        ("::1", "[::1]", True),
        ("fd00::/8", "fd12::5", True),
        ("", "example.net", False),
        ("*.example.net", "a.example.net", False),  # `*` is a wildcard only on its own
        ("example.net:8443", "example.net", False),  # ports are not supported
    ],
)
def test_no_proxy_matches_as_curl_does(no_proxy: str, host: str, bypassed: bool) -> None:
    assert NoProxy.parse(no_proxy).matches(host) is bypassed


def test_https_proxy_variables_and_their_precedence() -> None:
    settings = ProxySettings.resolve(env={"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2",
                                          "HTTP_PROXY": "http://plain:3"})
    assert settings.proxy_for("https", "c.example") == Proxy("lower", 1)
    assert settings.proxy_for("http", "c.example") == Proxy("plain", 3)
    upper = ProxySettings.resolve(env={"HTTPS_PROXY": "http://upper:2"})
    assert upper.proxy_for("https", "c.example") == Proxy("upper", 2)
    assert upper.proxy_for("http", "c.example") is None  # HTTPS_PROXY serves https URLs only
    fallback = ProxySettings.resolve(env={"ALL_PROXY": "http://all:4", "NO_PROXY": "c.example"})
    assert fallback.proxy_for("http", "d.example") == Proxy("all", 4)
    assert fallback.proxy_for("https", "d.example") == Proxy("all", 4)
    assert fallback.proxy_for("https", "c.example") is None
    assert ProxySettings.resolve(env={}).proxy_for("https", "c.example") is None


def test_a_configured_proxy_serves_both_schemes_and_ignores_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "c.example"}
    settings = ProxySettings.resolve("http://configured:8080", None, env)
    assert settings.proxy_for("https", "d.example") == settings.proxy_for("http", "d.example")
    assert settings.proxy_for("https", "c.example") is None  # NO_PROXY still applies without no_proxy:
    emptied = ProxySettings.resolve("http://configured:8080", "", env)  # no_proxy: "" overrides NO_PROXY
    assert emptied.proxy_for("https", "c.example") is not None
    assert ProxySettings.resolve("direct", None, env).proxy_for("https", "d.example") is None


def test_proxy_url_credentials_default_port_and_no_secret_in_repr() -> None:
    proxy = parse_proxy_url("http://al%40ce:p%3Ass@proxy.lan")
    assert (proxy.host, proxy.port, proxy.username, proxy.password) == ("proxy.lan", 1080, "al@ce", "p:ss")
    assert "p:ss" not in repr(proxy) and "al@ce" not in repr(proxy)
    assert proxy.authorization() == {"Proxy-Authorization": "Basic YWxAY2U6cDpzcw=="}
    assert parse_proxy_url("proxy.lan:3128") == Proxy("proxy.lan", 3128)
    assert parse_proxy_url("proxy.lan:3128").authorization() == {}
    assert parse_proxy_url("http://[fd00::1]:3128").address == "[fd00::1]:3128"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:secret@proxy.lan:3128", "https://proxy.lan: expected an http:// proxy URL"),
        ("socks5://u:secret@proxy.lan:1080", "socks5://proxy.lan: expected an http:// proxy URL"),
        ("http://u:secret@proxy.lan:port", "http://proxy.lan: the proxy's port is not a number"),
        ("http://u:secret@:3128", "http://: the proxy URL has no host"),
    ],
)
def test_bad_proxy_urls_are_refused_without_showing_the_password(url: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_proxy_url(url)
    assert str(caught.value).startswith(expected)
    assert "secret" not in str(caught.value)
    with pytest.raises(ValueError, match="^HTTPS_PROXY in the environment: ") as from_env:
        ProxySettings.resolve(env={"HTTPS_PROXY": url})
    assert "secret" not in str(from_env.value)
