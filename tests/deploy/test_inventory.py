"""Host arguments and inventory files: addresses, ports, users, names, and every fault named by line."""

from __future__ import annotations

import pytest

from fernwart.deploy.inventory import InventoryError, Target, combine, parse_host, parse_inventory


@pytest.mark.parametrize(("spec", "target"), [
    ("web01", Target("web01")),
    ("admin@web01:2222", Target("web01", 2222, "admin")),
    ("10.0.0.5:22", Target("10.0.0.5")),
    ("[::1]:2200", Target("::1", 2200)),
    ("root@::1", Target("::1", 22, "root")),
])
def test_host_specs(spec: str, target: Target) -> None:
    assert parse_host(spec) == target


@pytest.mark.parametrize(("spec", "fault"), [
    ("web01:0", "port '0' must be a number from 1 to 65535"),
    ("web01:ssh", "port 'ssh' must be a number"),
    ("-oProxyCommand=x", "is not a host address"),
    ("web 01", "is not a host address"),
    ("bad user@web01", "is not a user name"),
    ("[::1]x", "expected [IPV6]:PORT"),
])
def test_bad_host_specs_are_named(spec: str, fault: str) -> None:
    with pytest.raises(InventoryError, match=fault.replace("[", r"\[").replace("]", r"\]")):
        parse_host(spec)


def test_an_inventory_file_with_comments_and_settings() -> None:
    text = ("# rack 2\nweb01.example\n\n  db01.example port=2222 user=admin  # the database\n"
            "10.0.4.7 name=backup01\n")
    assert parse_inventory(text, "hosts.txt") == [
        Target("web01.example"), Target("db01.example", 2222, "admin"), Target("10.0.4.7", name="backup01"),
    ]
    assert Target("10.0.4.7", name="backup01").label == "backup01"
    assert Target("::1", 2200).label == "[::1]:2200"


@pytest.mark.parametrize(("text", "fault"), [
    ("web01 colour=red", "hosts.txt:1: 'colour=red': expected one of port=, user=, name="),
    ("web01\nweb02 port=99999", "hosts.txt:2: port '99999'"),
    ("web01 name=-x", "hosts.txt:1: name '-x' is not a host name"),
    ("web01 port=1 port=2", "hosts.txt:1: port= given twice"),
])
def test_inventory_faults_name_the_line(text: str, fault: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "hosts.txt")
    assert str(caught.value).startswith(fault)


def test_a_machine_twice_or_no_machine_is_refused() -> None:
    with pytest.raises(InventoryError, match="host WEB01 is given twice"):
        combine([[Target("web01")], [Target("WEB01")]])
    with pytest.raises(InventoryError, match="name A is given to two hosts"):
        combine([[Target("h1", name="a"), Target("h2", name="A")]])
    with pytest.raises(InventoryError, match="no hosts"):
        combine([[], []])
    assert combine([[Target("h1")], [Target("h1", 2222)]]) == [Target("h1"), Target("h1", 2222)]
