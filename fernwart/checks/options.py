"""Typed, self-describing options for check types, validated without third-party libraries.

Each check type declares a frozen dataclass of its options; `field(metadata={"help": ...})` documents a
field. `build` turns a YAML mapping into that dataclass, refusing unknown keys and wrong types with a
message that names the key and says what was expected. Supported field types: str, int, float, bool,
list[str], list[int], dict[str, str], Range, and any of these `| None`. A single string is accepted
where a list of strings is expected. A dataclass may validate across fields in ``__post_init__`` by
raising OptionError itself.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from fernwart.checks.ranges import Range, RangeError

T = TypeVar("T")


class OptionError(ValueError):
    """Raised when a check's options do not fit its declared types; `key` names the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One documented option: name, type text, default text, help."""

    name: str
    type: str
    default: str
    help: str
    required: bool


def describe(options_cls: type[Any]) -> list[OptionInfo]:
    """Return the documented options of an options dataclass, in declaration order."""
    hints = typing.get_type_hints(options_cls)
    infos = []
    for f in dataclasses.fields(options_cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.default is not dataclasses.MISSING:
            default = _default_text(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _default_text(f.default_factory())
        else:
            default = "(required)"
        infos.append(
            OptionInfo(f.name, _type_name(hints[f.name]), default, f.metadata.get("help", ""), required)
        )
    return infos


def _default_text(value: Any) -> str:
    return repr(str(value)) if isinstance(value, Range) else repr(value)


def build(options_cls: type[T], raw: Mapping[str, Any]) -> T:
    """Build `options_cls` from `raw`; raise OptionError naming the key on any mismatch."""
    hints = typing.get_type_hints(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls)}  # type: ignore[arg-type]
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise OptionError(str(key), f"unknown option; this check type takes: {known}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name in raw:
            values[name] = coerce(name, raw[name], hints[name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise OptionError(name, f"required option missing (expected {_type_name(hints[name])})")
    return options_cls(**values)


def coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert one YAML value to `hint`, or raise OptionError saying what was expected."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return coerce(key, value, args[0])
    if hint is Range:
        try:
            return Range.parse(value)
        except RangeError as exc:
            raise OptionError(key, f"{exc}; expected a range like 10, 10:, ~:10, 10:20 or @10:20") from None
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise OptionError(key, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise OptionError(key, f"expected a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise OptionError(key, f"expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise OptionError(key, f"expected a string, got {value!r}")
    if origin in (list, tuple):
        (item_hint, *_) = typing.get_args(hint) or (str,)
        if isinstance(value, str) and item_hint is str:
            value = [value]
        if not isinstance(value, list):
            raise OptionError(key, f"expected a list, got {value!r}")
        items = [coerce(f"{key}[{i}]", v, item_hint) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint) or (str, str)
        if not isinstance(value, Mapping):
            raise OptionError(key, f"expected a mapping, got {value!r}")
        return {coerce(f"{key}", k, key_hint): coerce(f"{key}.{k}", v, value_hint) for k, v in value.items()}
    raise OptionError(key, f"unsupported option type {hint!r}")  # a programming error in a check type


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _type_name(args[0]) + " (optional)"
    if origin in (list, tuple):
        items = typing.get_args(hint)
        return f"list of {_type_name(items[0]) if items else 'str'}"
    if origin is dict:
        pair = typing.get_args(hint)
        return f"mapping of {_type_name(pair[0])} to {_type_name(pair[1])}" if pair else "mapping"
    if hint is Range:
        return "range"
    return getattr(hint, "__name__", str(hint))
