"""The playbook model: each problem named by its place, typed parameters, whole-argument substitution."""

from __future__ import annotations

import pytest
import yaml

from fernwart.playbook.model import PlaybookError, argv_of, load_playbook, parse_playbook
from fernwart.playbook.params import ParamError, validate_params

GOOD = """
name: demo
version: 2
kind: diagnostic
timeout: 1m
read_roots: [/var/log]
params:
  unit: {type: string, pattern: "[a-z.]+"}
  depth: {type: int, min: 1, max: 4, default: 2}
  mode: {type: enum, values: [quick, full], default: quick}
  where: {type: path, roots: [/srv], default: /srv}
  since: {type: duration, max: 1d, default: 1h}
  apply: {type: bool, default: false}
steps:
  - {name: a, run: [echo, "{unit}", "{depth}", --literal, "{apply}"]}
  - {name: b, read_file: [/var/log/syslog, "{where}"], tail: 5}
  - {name: c, collect: disk_usage, with: {path: "{where}", depth: "{depth}"}}
  - {name: d, run: [true], when: apply}
"""


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(text.encode(), "x.yaml")
    return caught.value.problems


def test_a_good_playbook_loads_with_its_hash_and_substitutes_whole_arguments() -> None:
    playbook = load_playbook(GOOD.encode(), "demo.yaml")
    assert (playbook.name, playbook.version, playbook.kind, playbook.timeout) == ("demo", 2, "diagnostic", 60)
    assert len(playbook.digest) == 64
    assert load_playbook((GOOD + "\n").encode(), "demo.yaml").digest != playbook.digest
    values = validate_params(playbook.params, {"unit": "a.b; rm -rf /"[:3], "apply": "true"})
    assert values == {"unit": "a.b", "depth": 2, "mode": "quick", "where": "/srv", "since": 3600,
                      "apply": True}
    assert argv_of(playbook.steps[0], values) == ["echo", "a.b", "2", "--literal", "true"]


@pytest.mark.parametrize(("change", "expected"), [
    ({"name": "Bad Name"}, "x.yaml: name: expected"),
    ({"kind": "fix"}, "x.yaml: kind: expected diagnostic or repair"),
    ({"timeout": "2w"}, "x.yaml: timeout: expected a duration"),
    ({"extra": 1}, "x.yaml: extra: unknown key"),
    ({"steps": [{"name": "a", "run": ["echo", "--unit={unit}"]}]},
     "x.yaml: steps[0] (a).run[1]: '--unit={unit}': a parameter is substituted only as a whole argument"),
    ({"steps": [{"name": "a", "run": ["{unit}", "x"]}]}, "x.yaml: steps[0] (a).run[0]: the program is never"),
    ({"steps": [{"name": "a", "run": ["echo", "{nope}"]}]}, "x.yaml: steps[0] (a).run[1]: unknown parameter"),
    ({"steps": [{"name": "a", "read_file": "/etc/shadow"}]},
     "x.yaml: steps[0] (a).read_file[0]: '/etc/shadow' lies outside read_roots"),
    ({"steps": [{"name": "a", "read_file": "/var/log/../../etc/shadow"}]},
     "x.yaml: steps[0] (a).read_file[0]: expected a normalised absolute path"),
    ({"steps": [{"name": "a", "read_file": "{unit}"}]}, "parameter 'unit' is a string, not a path"),
    ({"steps": [{"name": "a", "collect": "secrets"}]},
     "x.yaml: steps[0] (a).collect: unknown fact 'secrets'"),
    ({"steps": [{"name": "a", "collect": "mounts", "with": {"x": 1}}]}, "steps[0] (a).with.x: fact 'mounts'"),
    ({"steps": [{"name": "a", "run": ["true"], "timeout": "2h"}]},
     "steps[0] (a).timeout: expected more than 0"),
    ({"steps": [{"name": "a", "run": ["true"], "when": "unit"}]},
     "steps[0] (a).when: expected the name of a bool"),
    ({"steps": [{"name": "a", "run": ["true"], "collect": "mounts"}]}, "expected exactly one of"),
    ({"params": {"unit": {"type": "string"}}},
     "x.yaml: params.unit.pattern: a string parameter needs a pattern"),
    ({"params": {"unit": {"type": "string", "pattern": ".*"}}},
     "params.unit.pattern: the pattern must not match"),
    ({"params": {"unit": {"type": "int", "min": 5, "max": 1}}}, "params.unit: an int parameter needs"),
    ({"params": {"unit": {"type": "path", "roots": ["relative"]}}},
     "params.unit.roots[0]: expected a normalised"),
    ({"params": {"unit": {"type": "enum", "values": ["a"], "default": "b"}}},
     "params.unit.default: expected one of"),
])
def test_each_problem_names_its_place(change: dict[str, object], expected: str) -> None:
    document = {**yaml.safe_load(GOOD), **change}
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(document, "x.yaml", "0" * 64)
    assert any(expected in line for line in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    found = problems_of("name: X\nversion: 0\nkind: nope\ntimeout: 0\nsteps: []\n")
    assert [p.split(":")[1].strip() for p in found] == ["name", "version", "kind", "timeout", "steps"]


def test_not_yaml_names_the_file() -> None:
    assert problems_of("name: [")[0].startswith("x.yaml: not valid YAML")


@pytest.mark.parametrize(("given", "expected"), [
    ({}, "params.unit: required"),
    ({"unit": "a", "other": "1"}, "params.other: unknown parameter"),
    ({"unit": "$(id)"}, "does not match the pattern"),
    ({"unit": "-rf"}, "a leading '-' is never allowed"),
    ({"unit": "a\nb"}, "line breaks"),
    ({"unit": "a", "depth": 9}, "params.depth: expected a whole number from 1 to 4"),
    ({"unit": "a", "depth": "2; ls"}, "params.depth: expected a whole number"),
    ({"unit": "a", "mode": "all"}, "params.mode: expected one of quick, full"),
    ({"unit": "a", "where": "/srv/../etc"}, "params.where: '/srv/../etc' is not a normalised path"),
    ({"unit": "a", "where": "/etc"}, "outside the declared roots /srv"),
    ({"unit": "a", "where": "/srvx"}, "outside the declared roots /srv"),
    ({"unit": "a", "since": "2d"}, "params.since: expected at most 86400s"),
    ({"unit": "a", "since": "1 hour"}, "params.since: expected a duration"),
    ({"unit": "a", "apply": "maybe"}, "params.apply: expected true or false"),
])
def test_parameters_are_typed(given: dict[str, object], expected: str) -> None:
    playbook = load_playbook(GOOD.encode(), "demo.yaml")
    with pytest.raises(ParamError) as caught:
        validate_params(playbook.params, given)
    assert any(expected in p for p in caught.value.problems), caught.value.problems
