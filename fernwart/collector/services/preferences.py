"""The timezone a dashboard account sees times in: the contract's for a customer, the technician's choice.

A technician's choice is kept in the collector's key/value table (`collector_meta`, key
`dashboard.timezone.<user id>`), like the dashboard's sign-out mark: one small value per account needs
no table of its own. Customer accounts see their contract's timezone (UTC without a contract) and cannot
choose another, so what they read matches their contract's service hours and reports.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.domain.errors import SpecError
from fernwart.collector.models import MetaValue
from fernwart.collector.services.auth import Account
from fernwart.collector.services.availability import timezone_of
from fernwart.collector.services.errors import Forbidden, Invalid

DEFAULT_TIMEZONE = "UTC"
ZONE_LIMIT = 64


def _key(user_id: int) -> str:
    return f"dashboard.timezone.{user_id}"


def chosen_timezone(session: Session, account: Account) -> str | None:
    """Return the timezone the technician chose, None when they chose none (or for a customer account)."""
    if account.is_customer:
        return None
    return session.scalar(select(MetaValue.value).where(MetaValue.key == _key(account.id)))


def display_timezone(session: Session, account: Account) -> str:
    """Return the timezone the account's pages show times in (a stored zone that no longer loads: UTC)."""
    if account.customer_id is not None:
        return timezone_of(session, account.customer_id)
    chosen = chosen_timezone(session, account)
    if chosen is None:
        return DEFAULT_TIMEZONE
    try:
        load_zone(chosen)
    except SpecError:
        return DEFAULT_TIMEZONE
    return chosen


def choose_timezone(session: Session, account: Account, timezone: str) -> str:
    """Store the technician's timezone (an IANA name such as "Europe/Berlin"); the caller commits.

    Raise Forbidden for a customer account (it sees its contract's zone), Invalid for an unknown zone.
    """
    if account.is_customer:
        raise Forbidden("customer accounts see their contract's timezone")
    name = timezone.strip()
    if not name or len(name) > ZONE_LIMIT:
        raise Invalid("timezone: expected an IANA name like Europe/Berlin")
    try:
        load_zone(name)
    except SpecError as exc:
        raise Invalid(f"timezone: {exc}") from None
    row = session.get(MetaValue, _key(account.id))
    if row is None:
        session.add(MetaValue(key=_key(account.id), value=name))
    else:
        row.value = name
    return name
