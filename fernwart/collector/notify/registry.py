"""The explicit registry of notification transports: name -> "module.Class", imported only when used.

A transport is built from a config mapping whose `type` names the transport and whose other keys are
that transport's options (see each transport module's docstring), e.g.
``{"type": "webhook", "secret": "...", "timeout": 5}``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from fernwart.collector.notify.base import Transport, utc_now

TRANSPORTS: dict[str, str] = {
    "email": "fernwart.collector.notify.email.EmailTransport",
    "webhook": "fernwart.collector.notify.webhook.WebhookTransport",
}


class UnknownTransport(KeyError):
    """Raised for a transport name that is not in the registry."""

    def __str__(self) -> str:
        return f"unknown transport {self.args[0]!r}; known transports: {', '.join(sorted(TRANSPORTS))}"


class TransportConfigError(ValueError):
    """Raised when a transport's configuration is refused; the message names every offending key."""


def load(name: str) -> Any:
    """Return the transport class registered as `name`; raise UnknownTransport otherwise."""
    try:
        dotted = TRANSPORTS[name]
    except KeyError:
        raise UnknownTransport(name) from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def build(config: Mapping[str, Any], *, now: Callable[[], datetime] = utc_now) -> Transport:
    """Return a transport configured from `config` (its `type` plus that transport's options).

    Raises UnknownTransport for a missing or unknown `type` and TransportConfigError for unknown keys,
    missing or invalid values, or a `ca_file` that cannot be read. Error messages never echo values,
    so a password cannot end up in a log. Every built transport has `close()`; call it when done.
    """
    options = dict(config)
    name = options.pop("type", None)
    if not isinstance(name, str):
        raise UnknownTransport(name)
    cls = load(name)
    try:
        validated = cls.Config.model_validate(options)
    except ValidationError as exc:
        raise TransportConfigError(f"{name} transport: {describe(exc)}") from None
    try:
        transport: Transport = cls(validated, now=now)
    except OSError as exc:
        raise TransportConfigError(f"{name} transport: {exc}") from None
    return transport


def describe(exc: ValidationError) -> str:
    """Return pydantic's errors as one line, "key: problem; ...", without the offending values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r}")
        elif error["type"] == "missing":
            problems.append(f"missing key {where!r}")
        else:
            problems.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(problems)
