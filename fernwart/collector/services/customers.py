"""Customers by name: looked up, or created where a command may create them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.models import Customer


def by_name(session: Session, name: str) -> Customer | None:
    """Return the customer called `name`, or None."""
    return session.scalar(select(Customer).where(Customer.name == name))


def get_or_create(session: Session, name: str, now: datetime) -> Customer:
    """Return the customer called `name`, creating it (flushed, so it has an id) when it is new."""
    customer = by_name(session, name)
    if customer is None:
        customer = Customer(name=name, created_at=now)
        session.add(customer)
        session.flush()
    return customer


def listed(session: Session) -> list[Customer]:
    """Return every customer, by name."""
    return list(session.scalars(select(Customer).order_by(Customer.name)))
