"""Human-readable numbers for check summaries (metrics themselves stay in base units)."""

from __future__ import annotations


def format_bytes(size: float) -> str:
    """Return `size` bytes as text in binary units, e.g. ``1.5 GiB``; negative sizes keep their sign."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """Return a duration as its two largest units, e.g. ``3d 4h`` or ``12s``; negative shows as ``-``."""
    sign = "-" if seconds < 0 else ""
    rest = int(abs(seconds))
    parts: list[str] = []
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= length or (unit == "s" and not parts):
            parts.append(f"{rest // length}{unit}")
            rest %= length
    return sign + " ".join(parts[:2])
