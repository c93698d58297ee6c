"""The house as drawn in docs/architecture.md: layer rules and one vocabulary, checked on the source.

Each rule names a part of the package and what it must not import; a violation names the module and
the import, so a reader knows which line breaks which rule. The agent's rule is also checked at run
time: importing every agent module pulls in none of the collector's dependencies.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fernwart"
COLLECTOR_DEPENDENCIES = (
    "sqlalchemy", "fastapi", "starlette", "pydantic", "uvicorn", "alembic", "jinja2", "psycopg",
    "prometheus_client", "holidays", "paramiko", "swagger_ui_bundle",
)

# (part of the package, prefixes it must not import, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("fernwart.protocol", ("fernwart.",), "the protocol's limits are shared by agent and collector"),
    ("fernwart.httpclient", ("fernwart.",), "the one HTTP wrapper serves every part"),
    ("fernwart.playbook", ("fernwart.agent", "fernwart.collector", "fernwart.client", "fernwart.checks",
                           *COLLECTOR_DEPENDENCIES),
     "playbooks are data that agent, collector and CLI read alike; the model does no I/O"),
    ("fernwart.ssh", ("fernwart.agent", "fernwart.collector", "fernwart.client", "fernwart.checks",
                      "fernwart.playbook"),
     "the one SSH runner serves the collector and the deploy command alike and knows neither"),
    ("fernwart.checks", ("fernwart.agent", "fernwart.collector", "fernwart.client", *COLLECTOR_DEPENDENCIES),
     "the check library is shared by agent and collector"),
    ("fernwart.agent", ("fernwart.collector", "fernwart.client", *COLLECTOR_DEPENDENCIES),
     "the agent installs with its own dependencies only"),
    ("fernwart.client", ("fernwart.collector", "fernwart.agent", "fernwart.checks", *COLLECTOR_DEPENDENCIES),
     "the technicians' CLI speaks only HTTP"),
    ("fernwart.deploy", ("fernwart.collector", "fernwart.agent", "fernwart.checks", *COLLECTOR_DEPENDENCIES),
     "deploy reaches the collector through the API client and targets through the SSH runner only"),
    ("fernwart.collector.domain",
     ("fernwart.collector.services", "fernwart.collector.models", "fernwart.collector.api",
      "fernwart.collector.dashboard", "fernwart.collector.database", "sqlalchemy", "fastapi", "starlette"),
     "the pure rules are functions of their inputs"),
    ("fernwart.collector.services",
     ("fernwart.collector.api", "fernwart.collector.dashboard", "fernwart.collector.app", "fastapi",
      "starlette"),
     "services know no HTTP"),
    ("fernwart.collector.notify",
     ("fernwart.collector.services", "fernwart.collector.models", "fernwart.collector.api",
      "fernwart.collector.dashboard", "sqlalchemy"),
     "a transport only sends: it is configured once and asked to send, and stores nothing"),
    ("fernwart.collector.api", ("fernwart.collector.models", "fernwart.collector.dashboard"),
     "the API goes through the service layer and knows nothing of the dashboard"),
    ("fernwart.collector.dashboard", ("fernwart.collector.models", "fernwart.collector.api"),
     "the dashboard goes through the service layer and knows nothing of the API"),
]
ALLOWED_ALIASES = {("sqlalchemy", "sa")}  # Alembic's own convention in migrations


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def imports(tree: ast.Module, module: str) -> list[str]:
    """Return every name `module` imports, `from a import b` counting as both `a` and `a.b`."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: use absolute imports, so the layer rules can read them"
            base = node.module or ""
            names += [f"{base}.{a.name}" for a in node.names] + [base]
    return names


MODULES = modules()


def _matches(name: str, prefix: str) -> bool:
    prefix = prefix.rstrip(".")
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("part", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_layer_rule(part: str, forbidden: tuple[str, ...], why: str) -> None:
    broken = [
        f"{module} imports {name}"
        for module, tree in MODULES.items()
        if _matches(module, part)
        for name in imports(tree, module)
        if any(_matches(name, f) for f in forbidden)
    ]
    assert broken == [], f"{part}: {why}"


def test_every_module_falls_under_a_rule_or_is_the_top() -> None:
    covered = [m for m in MODULES if any(_matches(m, part) for part, _, _ in RULES)]
    top = {"fernwart", "fernwart.collector", "fernwart.collector.app", "fernwart.collector.cli",
           "fernwart.collector.deps", "fernwart.collector.statuses", "fernwart.collector.middleware",
           "fernwart.collector.throttle",
           "fernwart.collector.jobs", "fernwart.collector.ssh_worker", "fernwart.collector.metrics",
           "fernwart.collector.models",
           "fernwart.collector.database", "fernwart.collector.settings"}
    loose = sorted(set(MODULES) - set(covered) - top)
    loose = [m for m in loose if not m.startswith("fernwart.collector.migrations")]
    assert loose == [], "add these modules to a layer rule (docs/architecture.md) or to the top"


def test_one_name_per_concept() -> None:
    classes: dict[str, list[str]] = defaultdict(list)
    for module, tree in MODULES.items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                classes[node.name].append(module)
    twice = {name: where for name, where in classes.items() if len(where) > 1}
    allowed = {"ConfigError"}  # the agent's and the CLI's config files: separate programs, same concept
    assert {n: w for n, w in twice.items() if n not in allowed} == {}


def test_no_import_needs_an_alias() -> None:
    aliased = [
        f"{module}: {alias.name} as {alias.asname}"
        for module, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if alias.asname and alias.asname != alias.name.rsplit(".", 1)[-1]
        and (alias.name, alias.asname) not in ALLOWED_ALIASES
    ]
    assert aliased == []


def test_importing_the_agent_pulls_in_none_of_the_collectors_dependencies() -> None:
    agent = sorted(m for m in MODULES if _matches(m, "fernwart.agent") or _matches(m, "fernwart.checks"))
    code = (
        f"import importlib, sys\nfor m in {agent!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {COLLECTOR_DEPENDENCIES!r}"
        " or m.startswith(('fernwart.collector', 'fernwart.client'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
