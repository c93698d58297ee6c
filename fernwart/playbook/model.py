"""The playbook model: parse and validate a playbook document into frozen values (pure, no I/O).

    name: disk-full                  # [a-z0-9][a-z0-9-]{0,63}
    version: 1                       # whole number >= 1
    description: Where did the space go?
    kind: diagnostic                 # diagnostic | repair
    timeout: 2m                      # the whole run (duration or seconds)
    step_timeout: 30s                # default of each step's `timeout`; never above `timeout`
    read_roots: [/var/log]           # where read_file may look (globs must lie under one)
    params: {...}                    # see fernwart.playbook.params
    steps:
      - {name: usage, collect: disk_usage, with: {path: "{mount}", depth: "{depth}"}}
      - {name: df, run: [df, -h, "{mount}"], timeout: 10s, max_output: 65536}
      - {name: root-disk, check: disk, options: {mounts: ["{mount}"]}}
      - {name: syslog, read_file: [/var/log/syslog], tail: 100}
      - {name: restart, run: [systemctl, restart, "{unit}"], when: apply}   # only if bool param apply

A parameter enters a step only as a whole value, written ``"{name}"``: a run argument, a collect or check
option, or a read_file path. ``"--unit={unit}"`` is refused, so no value is ever spliced into a text. A
run's program (its first argument) is never a parameter. Problems are collected and raised together as
one PlaybookError, one line each naming the place: ``steps[1] (df).run[2]: unknown parameter 'mnt'``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from fernwart.playbook.params import Param, ParamValue, inside, parse_params, parse_seconds
from fernwart.playbook.problems import Problems

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
STEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KINDS = ("diagnostic", "repair")
STEP_KINDS = ("collect", "check", "read_file", "run")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
MAX_OUTPUT = 64 * 1024  # bytes kept of a step's output by default
OUTPUT_LIMIT = 1024 * 1024  # the most a step may keep
TIMEOUT_LIMIT = 3600
MAX_STEPS = 50
# Built-in facts a collect step may read, with the options each accepts.
FACTS: dict[str, frozenset[str]] = {
    "top_processes": frozenset({"count"}),
    "disk_usage": frozenset({"path", "depth", "count"}),
    "mounts": frozenset(),
    "listening_sockets": frozenset(),
    "unit_status": frozenset({"unit", "lines"}),
    "journal": frozenset({"unit", "since", "lines", "priority"}),
    "failed_units": frozenset(),
    "routes": frozenset(),
    "dns": frozenset({"name"}),
    "interfaces": frozenset(),
    "packages": frozenset({"names"}),
    "pending_updates": frozenset(),
    "reboots": frozenset({"count"}),
    "kernel_messages": frozenset({"lines"}),
    "memory": frozenset(),
    "load": frozenset(),
    "files": frozenset({"path", "pattern", "count"}),
    "certificate": frozenset({"host", "port", "file"}),
    "reachability": frozenset({"host", "port"}),
}
_TOP_KEYS = {"name", "version", "description", "kind", "timeout", "step_timeout", "read_roots", "params",
             "steps"}
_STEP_KEYS = {
    "collect": {"with"}, "check": {"options", "warning", "critical"},
    "read_file": {"tail", "head"}, "run": {"ok_codes"},
}
_COMMON_STEP_KEYS = {"name", "timeout", "max_output", "when", "description"}


class PlaybookError(ValueError):
    """Refuse a playbook; `problems` holds one "place: message" line per problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class PlaybookStep:
    """One step: its kind and kind's target (fact, check type, paths or argv), options and limits."""

    name: str
    kind: str  # collect | check | read_file | run
    target: tuple[str, ...]  # collect: (fact,); check: (type,); read_file: globs; run: argv
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    max_output: int = MAX_OUTPUT
    when: str | None = None


@dataclass(frozen=True)
class Playbook:
    """A validated playbook; `digest` (SHA-256 of the file) is its identity with name and version."""

    name: str
    version: int
    kind: str
    description: str
    timeout: float
    params: tuple[Param, ...]
    steps: tuple[PlaybookStep, ...]
    read_roots: tuple[str, ...]
    digest: str
    document: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def param(self, name: str) -> Param | None:
        """Return the declared parameter `name`, or None."""
        return next((p for p in self.params if p.name == name), None)


def digest_of(content: bytes) -> str:
    """Return the content hash that identifies a playbook file: hex SHA-256 of its bytes."""
    return hashlib.sha256(content).hexdigest()


# A check step's options may be validated further by the agent, which knows the check library.
CheckValidator = Callable[[str, Mapping[str, Any]], str | None]


def load_playbook(content: bytes, source: str, *, check_options: CheckValidator | None = None) -> Playbook:
    """Parse the bytes of a playbook file named `source` (for messages); raise PlaybookError.

    `check_options(type, options)` returns a problem text for a check step's type or options, or None.
    """
    try:
        document = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PlaybookError([f"{source}: not valid YAML: {exc}".replace("\n", " ")]) from None
    return parse_playbook(document, source, digest_of(content), check_options=check_options)


def parse_playbook(
    document: object, source: str, digest: str, *, check_options: CheckValidator | None = None,
) -> Playbook:
    """Validate a parsed playbook `document`; raise PlaybookError naming every problem's place."""
    problems = Problems()
    if not isinstance(document, Mapping):
        raise PlaybookError([f"{source}: expected a mapping with name, version, kind, timeout and steps"])
    for key in document:
        if key not in _TOP_KEYS:
            problems.add(f"{source}: {key}", f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}")
    name = document.get("name")
    if not isinstance(name, str) or NAME.fullmatch(name) is None:
        problems.add(f"{source}: name", f"expected {NAME.pattern}, got {name!r}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.add(f"{source}: version", f"expected a whole number >= 1, got {version!r}")
    kind = document.get("kind")
    if kind not in KINDS:
        problems.add(f"{source}: kind", f"expected diagnostic or repair, got {kind!r}")
    timeout = _seconds(document.get("timeout"), f"{source}: timeout", problems, TIMEOUT_LIMIT)
    step_timeout = _seconds(document.get("step_timeout", min(timeout or 30, 30)), f"{source}: step_timeout",
                            problems, timeout or TIMEOUT_LIMIT)
    roots = _roots(document.get("read_roots", []), f"{source}: read_roots", problems)
    params = parse_params(document.get("params"), f"{source}: params", problems)
    steps = _steps(document.get("steps"), source, params, roots, step_timeout or 30.0, timeout or 30.0,
                   problems, check_options)
    if problems:
        raise PlaybookError(problems.lines)
    return Playbook(
        name=str(name), version=int(str(version)), kind=str(kind),
        description=str(document.get("description", "")), timeout=float(timeout or 0), params=params,
        steps=steps, read_roots=roots, digest=digest, document=document,
    )


def _seconds(value: object, place: str, problems: Problems, limit: float) -> float | None:
    if isinstance(value, float) and value > 0:
        seconds: float = value
    else:
        try:
            seconds = parse_seconds(value)
        except ValueError as exc:
            problems.add(place, str(exc))
            return None
    if not 0 < seconds <= limit:
        problems.add(place, f"expected more than 0 and at most {limit:g} seconds, got {value!r}")
        return None
    return seconds


def _roots(value: object, place: str, problems: Problems) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.add(place, "expected a list of absolute directories")
        return ()
    for index, root in enumerate(value):
        if not isinstance(root, str) or not root.startswith("/") or posixpath.normpath(root) != root:
            problems.add(f"{place}[{index}]", f"expected a normalised absolute path, got {root!r}")
    return tuple(str(r) for r in value)


def _steps(
    value: object, source: str, params: tuple[Param, ...], roots: tuple[str, ...], default_timeout: float,
    overall: float, problems: Problems, check_options: CheckValidator | None,
) -> tuple[PlaybookStep, ...]:
    if not isinstance(value, list) or not value:
        problems.add(f"{source}: steps", "expected a non-empty list of steps")
        return ()
    if len(value) > MAX_STEPS:
        problems.add(f"{source}: steps", f"at most {MAX_STEPS} steps")
    steps: list[PlaybookStep] = []
    seen: set[str] = set()
    by_name = {p.name: p for p in params}
    for index, raw in enumerate(value):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        place = f"{source}: steps[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        count = len(problems)
        if not isinstance(raw, Mapping):
            problems.add(place, "expected a mapping with name and one of " + ", ".join(STEP_KINDS))
            continue
        if not isinstance(name, str) or STEP_NAME.fullmatch(name) is None:
            problems.add(f"{place}.name", f"expected {STEP_NAME.pattern}, got {name!r}")
        elif name in seen:
            problems.add(f"{place}.name", "duplicate step name")
        seen.add(str(name))
        kinds = [k for k in STEP_KINDS if k in raw]
        if len(kinds) != 1:
            problems.add(place, f"expected exactly one of {', '.join(STEP_KINDS)}, got {kinds or 'none'}")
            continue
        kind = kinds[0]
        for key in raw:
            if key not in _COMMON_STEP_KEYS | _STEP_KEYS[kind] | {kind}:
                problems.add(f"{place}.{key}", f"unknown key for a {kind} step")
        timeout = _seconds(raw.get("timeout", min(default_timeout, overall)), f"{place}.timeout", problems,
                           overall)
        max_output = raw.get("max_output", MAX_OUTPUT)
        if not _whole(max_output) or not 1 <= max_output <= OUTPUT_LIMIT:
            problems.add(f"{place}.max_output", f"expected 1 to {OUTPUT_LIMIT} bytes, got {max_output!r}")
        when = raw.get("when")
        flag = by_name.get(when) if isinstance(when, str) else None
        if when is not None and (flag is None or flag.type != "bool"):
            problems.add(f"{place}.when", f"expected the name of a bool parameter, got {when!r}")
        target, options = _target(kind, raw, place, by_name, roots, problems, check_options)
        if len(problems) == count:
            steps.append(PlaybookStep(str(name), kind, target, options, float(timeout or 0), int(max_output),
                                      when))
    return tuple(steps)


def _target(
    kind: str, raw: Mapping[str, Any], place: str, params: Mapping[str, Param], roots: tuple[str, ...],
    problems: Problems, check_options: CheckValidator | None,
) -> tuple[tuple[str, ...], dict[str, Any]]:
    value = raw[kind]
    where = f"{place}.{kind}"
    if kind == "run":
        if not isinstance(value, list) or not value or not all(isinstance(a, str | int) for a in value):
            problems.add(where, "expected a list of arguments (texts), the program first")
            return (), {}
        argv = tuple(str(a) for a in value)
        if PLACEHOLDER.search(argv[0]):
            problems.add(f"{where}[0]", "the program is never a parameter")
        for index, arg in enumerate(argv):
            _placeholders(arg, f"{where}[{index}]", params, problems)
        codes = raw.get("ok_codes", [0])
        if not isinstance(codes, list) or not all(_whole(c) for c in codes):
            problems.add(f"{place}.ok_codes", "expected a list of exit codes")
            codes = [0]
        return argv, {"ok_codes": list(codes)}
    if kind == "read_file":
        globs = [value] if isinstance(value, str) else value
        if not isinstance(globs, list) or not globs or not all(isinstance(g, str) for g in globs):
            problems.add(where, "expected a path or a list of paths (globs allowed)")
            return (), {}
        for index, pattern in enumerate(globs):
            spot = f"{where}[{index}]"
            param = _placeholders(pattern, spot, params, problems)
            if param is not None:
                if param.type != "path":
                    problems.add(spot, f"parameter {param.name!r} is a {param.type}, not a path")
            elif not pattern.startswith("/") or posixpath.normpath(pattern) != pattern:
                problems.add(spot, f"expected a normalised absolute path, got {pattern!r}")
            elif not inside(pattern, roots):
                declared = ", ".join(roots) or "none declared"
                problems.add(spot, f"{pattern!r} lies outside read_roots ({declared})")
        if "tail" in raw and "head" in raw:
            problems.add(place, "give tail or head, not both")
        options: dict[str, Any] = {}
        for key in ("tail", "head"):
            if key in raw:
                lines = raw[key]
                if isinstance(lines, bool) or not isinstance(lines, int) or not 1 <= lines <= 100000:
                    problems.add(f"{place}.{key}", "expected a number of lines from 1 to 100000")
                options[key] = lines
        return tuple(globs), options
    if not isinstance(value, str) or not value:
        problems.add(where, f"expected the name of a {'fact' if kind == 'collect' else 'check type'}")
        return (), {}
    option_key = "with" if kind == "collect" else "options"
    options = raw.get(option_key, {}) or {}
    if not isinstance(options, Mapping):
        problems.add(f"{place}.{option_key}", "expected a mapping of options")
        return (value,), {}
    if kind == "collect" and value not in FACTS:
        problems.add(where, f"unknown fact {value!r}; known: {', '.join(sorted(FACTS))}")
    elif kind == "collect":
        for key in options:
            if key not in FACTS[value]:
                problems.add(f"{place}.with.{key}", f"fact {value!r} takes "
                             + (", ".join(sorted(FACTS[value])) or "no options"))
    for key, option in options.items():
        _walk_placeholders(option, f"{place}.{option_key}.{key}", params, problems)
    result = dict(options)
    if kind == "check":
        for key in ("warning", "critical"):
            if key in raw:
                result[key] = raw[key]
        if check_options is not None:
            problem = check_options(value, options)
            if problem:
                problems.add(where, problem)
    return (value,), result


def _walk_placeholders(value: object, place: str, params: Mapping[str, Param], problems: Problems) -> None:
    if isinstance(value, str):
        _placeholders(value, place, params, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_placeholders(item, f"{place}[{index}]", params, problems)


def _placeholders(text: str, place: str, params: Mapping[str, Param], problems: Problems) -> Param | None:
    """Return the parameter `text` stands for whole; refuse a placeholder inside a longer text."""
    whole = PLACEHOLDER.fullmatch(text)
    if whole is not None:
        param = params.get(whole.group(1))
        if param is None:
            problems.add(place, f"unknown parameter {whole.group(1)!r}")
        return param
    if PLACEHOLDER.search(text):
        problems.add(place, f"{text!r}: a parameter is substituted only as a whole argument, "
                     "never inside a text")
    return None


def substitute(value: Any, values: Mapping[str, ParamValue]) -> Any:
    """Return `value` (a text, list or mapping of them) with each whole ``"{name}"`` replaced by its value.

    A parameter replaces an argument as one whole argument; an int or bool goes into an argv as its text.
    """
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        return values[whole.group(1)] if whole else value
    if isinstance(value, list | tuple):
        return [substitute(v, values) for v in value]
    if isinstance(value, Mapping):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def argv_of(step: PlaybookStep, values: Mapping[str, ParamValue]) -> list[str]:
    """Return a run step's argv with its parameters substituted, every argument a text."""
    return [_text(substitute(arg, values)) for arg in step.target]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
