"""Read the few fields a check needs from a DER certificate, without third-party libraries.

The standard library only decodes a peer certificate it has verified; the tls_cert check must also
report days left for certificates that fail verification (self-signed, expired), so it reads them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_COMMON_NAME_OID = bytes((0x55, 0x04, 0x03))  # 2.5.4.3


class CertificateError(ValueError):
    """Raised for bytes that are not a DER X.509 certificate this reader understands."""


@dataclass(frozen=True)
class CertificateInfo:
    """Validity period (UTC) and the common names of subject and issuer ('' when absent)."""

    not_before: datetime
    not_after: datetime
    subject: str
    issuer: str


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, start of value, end of value) of the DER element at `pos`."""
    if pos + 2 > len(data):
        raise CertificateError("truncated element")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("element runs past the end")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        item = _tlv(data, start)
        items.append(item)
        start = item[2]
    return items


def _time(data: bytes, element: tuple[int, int, int]) -> datetime:
    tag, start, end = element
    text = data[start:end].decode("ascii", errors="replace")
    try:
        if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, years 1950-2049
            parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
            if parsed.year >= 2050:
                parsed = parsed.replace(year=parsed.year - 100)
        elif tag == 0x18:  # GeneralizedTime: YYYYMMDDHHMMSSZ
            parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            raise CertificateError(f"unexpected time tag {tag:#x}")
    except ValueError:
        raise CertificateError(f"bad time {text!r}") from None
    return parsed.replace(tzinfo=UTC)


def _common_name(data: bytes, name: tuple[int, int, int]) -> str:
    for _, set_start, set_end in _children(data, name[1], name[2]):
        for _, seq_start, seq_end in _children(data, set_start, set_end):
            parts = _children(data, seq_start, seq_end)
            if len(parts) == 2 and data[parts[0][1] : parts[0][2]] == _COMMON_NAME_OID:
                return data[parts[1][1] : parts[1][2]].decode("utf-8", errors="replace")
    return ""


def read_certificate(der: bytes) -> CertificateInfo:
    """Return validity and common names of a DER certificate; raise CertificateError when malformed."""
    try:
        tag, start, end = _tlv(der, 0)
        if tag != 0x30:
            raise CertificateError("not a DER sequence")
        tbs = _children(der, start, end)[0]
        fields = _children(der, tbs[1], tbs[2])
        if fields and fields[0][0] == 0xA0:  # explicit version tag
            fields = fields[1:]
        _serial, _signature, issuer, validity, subject = fields[:5]
        not_before, not_after = _children(der, validity[1], validity[2])[:2]
        return CertificateInfo(
            _time(der, not_before), _time(der, not_after),
            subject=_common_name(der, subject), issuer=_common_name(der, issuer),
        )
    except CertificateError:
        raise
    except (IndexError, ValueError) as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
