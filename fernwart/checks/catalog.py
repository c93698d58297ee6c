"""Describe every registered check type: name, one-line description, thresholds and options.

The agent's ``fernwart-agent checks`` command prints `render_text()`; tools may use `catalog()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fernwart.checks.options import OptionInfo, describe
from fernwart.checks.registry import CHECK_TYPES, load


@dataclass(frozen=True)
class CheckTypeInfo:
    """One check type as a user configures it."""

    name: str
    description: str
    default_warning: str | None
    default_critical: str | None
    accepts_thresholds: bool
    thresholds: str
    options: tuple[OptionInfo, ...]


def catalog() -> list[CheckTypeInfo]:
    """Return every registered check type, sorted by name; imports each check module."""
    entries = []
    for name in sorted(CHECK_TYPES):
        cls = load(name)
        doc = (cls.__doc__ or "").strip()
        entries.append(CheckTypeInfo(
            name=name,
            description=doc.splitlines()[0] if doc else "",
            default_warning=cls.default_warning,
            default_critical=cls.default_critical,
            accepts_thresholds=cls.accepts_thresholds,
            thresholds=cls.threshold_help,
            options=tuple(describe(cls.Options)),
        ))
    return entries


def render_text() -> str:
    """Return the catalog as plain text for a terminal, one block per check type."""
    blocks = []
    for entry in catalog():
        lines = [f"{entry.name}: {entry.description}"]
        if entry.accepts_thresholds:
            warning, critical = entry.default_warning or "(none)", entry.default_critical or "(none)"
            lines.append(f"  warning: {warning}  critical: {critical}  - {entry.thresholds}")
        else:
            lines.append(f"  thresholds: {entry.thresholds}")
        for option in entry.options:
            default = "required" if option.required else f"default {option.default}"
            lines.append(f"  {option.name} ({option.type}, {default}): {option.help}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
