"""The registry builds every check type from config, and the catalog describes each one."""

from __future__ import annotations

import re

import pytest

from fernwart.checks import registry
from fernwart.checks.base import BaseCheck
from fernwart.checks.catalog import catalog, render_text
from fernwart.checks.options import OptionError


def test_every_registered_type_loads_and_is_a_base_check() -> None:
    for name in registry.CHECK_TYPES:
        cls = registry.load(name)
        assert issubclass(cls, BaseCheck), name
        module = __import__(cls.__module__, fromlist=["_"])
        assert "```yaml" in (module.__doc__ or ""), f"{name}: module docstring lacks a YAML example"
        assert f"type: {name}" in (module.__doc__ or ""), name


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(registry.UnknownCheckType) as caught:
        registry.create("cpuu")
    assert "unknown check type 'cpuu'; known types: clock, cpu" in str(caught.value)


def test_create_builds_with_thresholds_and_names_bad_keys() -> None:
    check = registry.create("disk", {"mounts": ["/"]}, warning=70, critical="85")
    assert str(check.warning) == "70" and str(check.critical) == "85"  # type: ignore[attr-defined]
    with pytest.raises(OptionError) as caught:
        registry.create("disk", {}, critical="abc")
    assert caught.value.key == "critical" and "expected a range like" in str(caught.value)
    with pytest.raises(OptionError) as caught:
        registry.create("tcp", {"host": "x", "port": 1, "prot": 2})
    assert caught.value.key == "prot"


def test_catalog_has_every_type_with_a_verb_description() -> None:
    entries = catalog()
    assert [e.name for e in entries] == sorted(registry.CHECK_TYPES)
    for entry in entries:
        assert re.match(r"^[A-Z][a-z]+ ", entry.description), entry
        assert entry.thresholds, entry.name
        assert all(o.help for o in entry.options), entry.name
    disk = next(e for e in entries if e.name == "disk")
    assert (disk.default_warning, disk.default_critical) == ("80", "90")
    assert [o.name for o in disk.options][:2] == ["mounts", "exclude_mounts"]


def test_render_text_shows_defaults_and_required_options() -> None:
    text = render_text()
    assert "tcp: Measure the time to connect to a TCP port.\n  warning: 1  critical: 5  - seconds to" in text
    assert "  port (int, required): TCP port, 1-65535" in text
    assert "  thresholds: none: pass the plugin's own -w/-c arguments in command" in text
