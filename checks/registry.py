"""The explicit registry of check types: name -> "module.Class", imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

CHECK_TYPES: dict[str, str] = {
    "cpu": "checks.cpu.CpuCheck",
    "memory": "checks.memory.MemoryCheck",
    "disk": "checks.disk.DiskCheck",
    "load": "checks.load.LoadCheck",
    "process": "checks.process.ProcessCheck",
    "tcp": "checks.tcp.TcpCheck",
    "http": "checks.http.HttpCheck",
    "plugin": "checks.plugin.PluginCheck",
}


class UnknownCheckType(KeyError):
    """Raised for a check type that is not in the registry."""

    def __str__(self) -> str:
        return f"unknown check type {self.args[0]!r}; known types: {', '.join(sorted(CHECK_TYPES))}"


def load(type_name: str) -> Any:
    """Return the check class registered as `type_name`; raise UnknownCheckType otherwise."""
    try:
        dotted = CHECK_TYPES[type_name]
    except KeyError:
        raise UnknownCheckType(type_name) from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)
