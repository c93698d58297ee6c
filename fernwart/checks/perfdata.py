"""Performance data in the Monitoring Plugins format: ``'label'=value[UOM];[warn];[crit];[min];[max]``.

Labels may be quoted with single quotes (a literal quote is written ``''``); items are separated by
whitespace; trailing fields may be empty or missing; the value ``U`` means "could not be determined".
As the guidelines say: value, min and max are numbers of ``[-0-9.]`` (no ``+``, exponent, ``inf``,
``nan`` or ``1_0``); warn and crit are ranges, parsed by `ranges.Range` like any threshold; a label holds
no ``=``. A malformed item never aborts parsing: it is returned as an error (the note the result keeps)
and the rest still parse (an unterminated quote spoils only the word it starts).

A label Fernwart builds itself (from a mount point, a device name) has each ``=`` replaced by ``_``, so
every datum can be written as perfdata and read back. Rendering writes numbers without exponent, a
non-finite value as ``U``, and leaves out non-finite min/max.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fernwart.checks.ranges import NUMBER, Range, RangeError, is_number, number_text

UOMS = ("", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c")

_VALUE = re.compile(f"^({NUMBER.pattern})(.*)$", re.ASCII | re.DOTALL)


@dataclass(frozen=True)
class PerfDatum:
    """One performance metric; `value` is None for ``U``. Thresholds keep their range text."""

    label: str
    value: float | None
    uom: str = ""
    warn: str = ""
    crit: str = ""
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if "=" in self.label:  # the guidelines forbid it; a name found on the host may still hold one
            object.__setattr__(self, "label", self.label.replace("=", "_"))

    def to_text(self) -> str:
        """Render the datum back into perfdata syntax, quoting the label when needed."""
        label = self.label
        if re.search(r"[\s'=]", label):
            label = "'" + label.replace("'", "''") + "'"
        # A non-finite value has no perfdata spelling; it is as undetermined as a missing one.
        finite = self.value is not None and math.isfinite(self.value)
        value = _fmt(self.value) + self.uom if finite else "U"
        fields = [value, self.warn, self.crit, _fmt(self.min), _fmt(self.max)]
        while len(fields) > 1 and fields[-1] == "":
            fields.pop()
        return f"{label}=" + ";".join(fields)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape used on the wire and in storage."""
        return {
            "label": self.label,
            "value": self.value,
            "uom": self.uom,
            "warn": self.warn,
            "crit": self.crit,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> PerfDatum:
        """Build a datum from its wire/storage dict (the inverse of `to_dict`)."""

        def num(key: str) -> float | None:
            v = raw.get(key)
            return None if v is None else float(v)  # type: ignore[arg-type]

        return cls(
            label=str(raw["label"]),
            value=num("value"),
            uom=str(raw.get("uom") or ""),
            warn=str(raw.get("warn") or ""),
            crit=str(raw.get("crit") or ""),
            min=num("min"),
            max=num("max"),
        )


@dataclass(frozen=True)
class PerfParse:
    """What parsing a perfdata string gave: the good items, and one message per malformed item."""

    data: tuple[PerfDatum, ...]
    errors: tuple[str, ...]


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return number_text(value)


def _split_items(text: str) -> list[str]:
    """Split on whitespace outside single-quoted labels; '' inside quotes is an escaped quote."""
    items: list[str] = []
    current: list[str] = []
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if in_quote and i + 1 < len(text) and text[i + 1] == "'":
                current.append("''")
                i += 2
                continue
            in_quote = not in_quote
            current.append(ch)
        elif ch.isspace() and not in_quote:
            if current:
                items.append("".join(current))
                current = []
        else:
            current.append(ch)
        i += 1
    if current:
        tail = "".join(current)
        if in_quote:
            # An unterminated quote would swallow every later item: report only its first word as
            # malformed and parse the rest normally.
            head, *rest = tail.split(None, 1)
            items.append(head)
            if rest:
                items.extend(_split_items(rest[0]))
        else:
            items.append(tail)
    return items


def _optional_number(field: str, what: str, item: str) -> float | None:
    field = field.strip()
    if field == "":
        return None
    if not is_number(field):
        raise ValueError(f"perfdata {item!r}: {what} {field!r} is not a number")
    return float(field)


def _optional_range(field: str, what: str, item: str) -> str:
    """Return a warn/crit field's range text ('' when empty); raise ValueError when it is no range."""
    field = field.strip()
    if field:
        try:
            Range.parse(field)
        except RangeError:
            raise ValueError(f"perfdata {item!r}: {what} {field!r} is not a range") from None
    return field


def parse_item(item: str) -> PerfDatum:
    """Parse one ``label=value...`` item; raise ValueError naming what is wrong."""
    if item.startswith("'"):
        end = 1
        label_chars: list[str] = []
        while True:
            q = item.find("'", end)
            if q < 0:
                raise ValueError(f"perfdata {item!r}: unterminated quoted label")
            label_chars.append(item[end:q])
            if item[q + 1 : q + 2] == "'":
                label_chars.append("'")
                end = q + 2
                continue
            break
        label = "".join(label_chars)
        rest = item[q + 1 :]
        if not rest.startswith("="):
            raise ValueError(f"perfdata {item!r}: expected '=' after the label")
        rest = rest[1:]
    else:
        label, eq, rest = item.partition("=")
        if not eq:
            raise ValueError(f"perfdata {item!r}: no '=' between label and value")
    if label == "":
        raise ValueError(f"perfdata {item!r}: empty label")
    if "=" in label:
        raise ValueError(f"perfdata {item!r}: '=' in its label (the guidelines forbid it)")
    fields = rest.split(";")
    if len(fields) > 5:
        raise ValueError(f"perfdata {item!r}: more than 5 ';'-separated fields")
    fields += [""] * (5 - len(fields))
    value_text = fields[0].strip()
    value: float | None
    uom = ""
    if value_text == "U":
        value = None
    else:
        m = _VALUE.match(value_text)
        if not m:
            raise ValueError(f"perfdata {item!r}: value {value_text!r} is not a number")
        value = float(m.group(1))
        uom = m.group(2)
        if uom not in UOMS:
            raise ValueError(f"perfdata {item!r}: unknown unit {uom!r}")
    return PerfDatum(
        label=label,
        value=value,
        uom=uom,
        warn=_optional_range(fields[1], "warn", item),
        crit=_optional_range(fields[2], "crit", item),
        min=_optional_number(fields[3], "min", item),
        max=_optional_number(fields[4], "max", item),
    )


def parse(text: str) -> PerfParse:
    """Parse a whole perfdata string; malformed items are reported in `errors`, never raised."""
    data: list[PerfDatum] = []
    errors: list[str] = []
    for item in _split_items(text.strip()):
        try:
            data.append(parse_item(item))
        except ValueError as exc:
            errors.append(str(exc))
    return PerfParse(tuple(data), tuple(errors))


def render(data: tuple[PerfDatum, ...] | list[PerfDatum]) -> str:
    """Render metrics as one perfdata string."""
    return " ".join(d.to_text() for d in data)
