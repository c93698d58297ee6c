"""Typed playbook parameters: their declarations and the validation of given values (pure, no I/O).

    params:
      unit: {type: string, pattern: "[A-Za-z0-9@._-]+", default: nginx.service}
      depth: {type: int, min: 1, max: 4, default: 2}
      mode: {type: enum, values: [quick, full], default: quick}
      path: {type: path, roots: [/var/log, /srv], default: /var/log}
      since: {type: duration, max: 7d, default: 1h}      # given as 90s, 30m, 4h, 1d; used as seconds
      dry_run: {type: bool, default: true}

A string's pattern is matched whole and may never match a NUL, a newline or a leading ``-`` (an argument
that a program would read as an option). A path must be absolute, already normalised (no ``..``, ``.``
or ``//``) and lie under one of its roots; the agent also checks the resolved path (symlinks) when it
runs. Values from the network or the command line may be JSON values or their text; every value is
returned in its canonical type: str, int (durations in seconds) or bool.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fernwart.playbook.problems import Problems

PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
PARAM_TYPES = ("string", "int", "enum", "path", "duration", "bool")
STRING_LIMIT = 256
DURATION_LIMIT = 86400 * 31
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_KEYS = {
    "string": {"type", "pattern", "default", "max_length", "description"},
    "int": {"type", "min", "max", "default", "description"},
    "enum": {"type", "values", "default", "description"},
    "path": {"type", "roots", "default", "description"},
    "duration": {"type", "max", "default", "description"},
    "bool": {"type", "default", "description"},
}
ParamValue = str | int | bool


@dataclass(frozen=True)
class Param:
    """One declared parameter; `default` None means the parameter is required."""

    name: str
    type: str
    default: ParamValue | None = None
    pattern: str | None = None
    max_length: int = STRING_LIMIT
    low: int | None = None
    high: int | None = None
    values: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    description: str = ""

    def coerce(self, value: object) -> ParamValue:
        """Return `value` in this parameter's canonical type; raise ValueError saying what was expected."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "yes", "1", "false", "no", "0"):
                return value in ("true", "yes", "1")
            raise ValueError(f"expected true or false, got {value!r}")
        if self.type == "int":
            number = _integer(value)
            if number is None:
                raise ValueError(f"expected a whole number, got {value!r}")
            assert self.low is not None and self.high is not None
            if not self.low <= number <= self.high:
                raise ValueError(f"expected a whole number from {self.low} to {self.high}, got {number}")
            return number
        if self.type == "duration":
            seconds = parse_seconds(value)
            limit = self.high if self.high is not None else DURATION_LIMIT
            if seconds > limit:
                raise ValueError(f"expected at most {limit}s, got {value!r}")
            return seconds
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        if "\x00" in value or "\n" in value or "\r" in value:
            raise ValueError("NUL and line breaks are not allowed")
        if self.type == "enum":
            if value not in self.values:
                raise ValueError(f"expected one of {', '.join(self.values)}, got {value!r}")
            return value
        if self.type == "path":
            return _checked_path(value, self.roots)
        if len(value) > self.max_length:
            raise ValueError(f"expected at most {self.max_length} characters, got {len(value)}")
        assert self.pattern is not None
        if value.startswith("-") or re.fullmatch(self.pattern, value) is None:
            raise ValueError(f"{value!r} does not match the pattern {self.pattern!r}"
                             + (" (a leading '-' is never allowed)" if value.startswith("-") else ""))
        return value


def parse_seconds(value: object) -> int:
    """Return the seconds a duration like 90s, 30m, 4h, 1d2h (or a whole number of seconds) names."""
    number = _integer(value)
    if number is not None:
        if number < 0:
            raise ValueError(f"expected a duration >= 0, got {value!r}")
        return number
    if not isinstance(value, str) or not value or (match := _DURATION.fullmatch(value)) is None:
        raise ValueError(f"expected a duration like 90s, 30m, 4h or 1d, got {value!r}")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def inside(path: str, roots: tuple[str, ...]) -> bool:
    """Return whether the normalised absolute `path` is one of `roots` or lies below one."""
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _checked_path(value: str, roots: tuple[str, ...]) -> str:
    if not value.startswith("/"):
        raise ValueError(f"expected an absolute path, got {value!r}")
    if posixpath.normpath(value) != value or value.startswith("//"):
        raise ValueError(f"{value!r} is not a normalised path ('..', '.', '//', a trailing '/' are refused)")
    if not inside(value, roots):
        raise ValueError(f"{value!r} is outside the declared roots {', '.join(roots)}")
    return value


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    return None


def parse_params(raw: object, place: str, problems: Problems) -> tuple[Param, ...]:
    """Return the declared parameters of a `params:` mapping; add each problem to `problems`."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        problems.add(place, "expected a mapping of parameter names to declarations")
        return ()
    found = []
    for name, spec in raw.items():
        where = f"{place}.{name}"
        if not isinstance(name, str) or PARAM_NAME.fullmatch(name) is None:
            problems.add(where, f"a parameter name is {PARAM_NAME.pattern}")
            continue
        param = _param(name, spec, where, problems)
        if param is not None:
            found.append(param)
    return tuple(found)


def _param(name: str, spec: object, where: str, problems: Problems) -> Param | None:
    if not isinstance(spec, Mapping):
        problems.add(where, f"expected a mapping with type: one of {', '.join(PARAM_TYPES)}")
        return None
    kind = spec.get("type")
    if kind not in PARAM_TYPES:
        problems.add(f"{where}.type", f"expected one of {', '.join(PARAM_TYPES)}, got {kind!r}")
        return None
    count = len(problems)
    for key in spec:
        if key not in _KEYS[kind]:
            problems.add(f"{where}.{key}", f"unknown key for a {kind} parameter; "
                         f"expected {', '.join(sorted(_KEYS[kind]))}")
    fields: dict[str, Any] = {"description": str(spec.get("description", ""))}
    if kind == "string":
        pattern = spec.get("pattern")
        try:
            compiled = re.compile(pattern) if isinstance(pattern, str) and pattern else None
        except re.error as exc:
            compiled = None
            problems.add(f"{where}.pattern", f"not a regular expression: {exc}")
        if compiled is None:
            if not isinstance(pattern, str) or not pattern:
                problems.add(f"{where}.pattern", "a string parameter needs a pattern (matched whole)")
        elif any(compiled.fullmatch(bad) for bad in ("\n", "a\nb", "\x00")):
            problems.add(f"{where}.pattern", "the pattern must not match line breaks or NUL")
        fields["pattern"] = pattern
        limit = _integer(spec.get("max_length", STRING_LIMIT))
        if limit is None or not 1 <= limit <= STRING_LIMIT:
            problems.add(f"{where}.max_length", f"expected 1 to {STRING_LIMIT}")
        else:
            fields["max_length"] = limit
    elif kind == "int":
        low, high = _integer(spec.get("min")), _integer(spec.get("max"))
        if low is None or high is None or low > high:
            problems.add(where, "an int parameter needs whole numbers min <= max")
        fields.update(low=low, high=high)
    elif kind == "enum":
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            problems.add(f"{where}.values", "expected a non-empty list of texts")
        else:
            fields["values"] = tuple(values)
    elif kind == "path":
        roots = spec.get("roots")
        if not isinstance(roots, list) or not roots:
            problems.add(f"{where}.roots", "a path parameter needs a list of absolute root directories")
        else:
            for index, root in enumerate(roots):
                if not isinstance(root, str) or not root.startswith("/") or posixpath.normpath(root) != root:
                    problems.add(f"{where}.roots[{index}]", f"expected a normalised absolute path: {root!r}")
            fields["roots"] = tuple(str(r) for r in roots)
    elif kind == "duration" and "max" in spec:
        try:
            fields["high"] = parse_seconds(spec["max"])
        except ValueError as exc:
            problems.add(f"{where}.max", str(exc))
    if len(problems) > count:
        return None
    param = Param(name=name, type=kind, **fields)
    if "default" in spec:
        try:
            param = Param(**{**param.__dict__, "default": param.coerce(spec["default"])})
        except ValueError as exc:
            problems.add(f"{where}.default", str(exc))
            return None
    return param


def validate_params(declared: tuple[Param, ...], given: Mapping[str, object]) -> dict[str, ParamValue]:
    """Return every declared parameter's value from `given` or its default.

    Raise ParamError listing each unknown, missing or ill-typed parameter as ``params.NAME: message``.
    """
    problems = Problems()
    names = {p.name for p in declared}
    for name in given:
        if name not in names:
            problems.add(f"params.{name}", "unknown parameter; this playbook takes "
                         + (", ".join(sorted(names)) or "none"))
    values: dict[str, ParamValue] = {}
    for param in declared:
        if param.name in given:
            try:
                values[param.name] = param.coerce(given[param.name])
            except ValueError as exc:
                problems.add(f"params.{param.name}", str(exc))
        elif param.default is not None:
            values[param.name] = param.default
        else:
            problems.add(f"params.{param.name}", "required (it has no default)")
    if problems:
        raise ParamError(problems.lines)
    return values


class ParamError(ValueError):
    """Refuse given parameter values; `problems` holds one "params.NAME: message" line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


PATH_OPTIONS = ("path", "mounts", "mount")  # check options a path parameter is taken from, in order


def params_from_check(declared: tuple[Param, ...], options: Mapping[str, object],
                      given: Mapping[str, object]) -> dict[str, object]:
    """Return the parameters of a playbook run about a check (auto-diagnosis), to be validated as usual.

    Each declared parameter takes the value `given` for it, else the check's option of the same name,
    else (a path parameter) the check's first option of PATH_OPTIONS (a disk check's one mount); the
    parameters left out keep their defaults.
    """
    values: dict[str, object] = {}
    for param in declared:
        if param.name in given:
            values[param.name] = given[param.name]
        elif param.name in options:
            values[param.name] = options[param.name]
        elif param.type == "path":
            found = next((options[o] for o in PATH_OPTIONS if o in options), None)
            if found is not None:
                values[param.name] = found
    return values
