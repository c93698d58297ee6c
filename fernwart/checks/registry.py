"""The explicit registry of check types: name -> "module.Class", imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fernwart.checks.base import Check

CHECK_TYPES: dict[str, str] = {
    "cpu": "fernwart.checks.cpu.CpuCheck",
    "memory": "fernwart.checks.memory.MemoryCheck",
    "disk": "fernwart.checks.disk.DiskCheck",
    "load": "fernwart.checks.load.LoadCheck",
    "process": "fernwart.checks.process.ProcessCheck",
    "tcp": "fernwart.checks.tcp.TcpCheck",
    "http": "fernwart.checks.http.HttpCheck",
    "plugin": "fernwart.checks.plugin.PluginCheck",
    "swap": "fernwart.checks.swap.SwapCheck",
    "service": "fernwart.checks.service.ServiceCheck",
    "tls_cert": "fernwart.checks.tls_cert.TlsCertCheck",
    "file_age": "fernwart.checks.file_age.FileAgeCheck",
    "log": "fernwart.checks.log.LogCheck",
    "updates": "fernwart.checks.updates.UpdatesCheck",
    "clock": "fernwart.checks.clock.ClockCheck",
    "raid": "fernwart.checks.raid.RaidCheck",
    "smart": "fernwart.checks.smart.SmartCheck",
    "uptime": "fernwart.checks.uptime.UptimeCheck",
    "dns": "fernwart.checks.dns.DnsCheck",
    "ping": "fernwart.checks.ping.PingCheck",
}


class UnknownCheckType(KeyError):
    """Raised for a check type that is not in the registry."""

    def __str__(self) -> str:
        return f"unknown check type {self.args[0]!r}; known types: {', '.join(sorted(CHECK_TYPES))}"


def create(
    type_name: str, options: Mapping[str, Any] | None = None,
    warning: str | float | None = None, critical: str | float | None = None,
) -> Check:
    """Build one configured check of `type_name` from its YAML options and threshold texts.

    Raise UnknownCheckType for a type not in CHECK_TYPES, OptionError (naming the key) for bad options.
    """
    check: Check = load(type_name).from_config(options, warning, critical)
    return check


def load(type_name: str) -> Any:
    """Return the check class registered as `type_name`; raise UnknownCheckType otherwise."""
    try:
        dotted = CHECK_TYPES[type_name]
    except KeyError:
        raise UnknownCheckType(type_name) from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)
