"""Who may see what: the filter every read applies, and the customers an account may name.

A customer's account sees its own customer's hosts and tickets and nothing else; an object it may not
see is `NotFound`, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from fernwart.collector.models import Customer, Host
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import NotFound


def visible(account: Account) -> ColumnElement[bool]:
    """Return the filter on hosts this account may see: a customer's account sees only its own hosts."""
    if account.customer_id is None:
        return true()
    return Host.customer_id == account.customer_id


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str


def customer(session: Session, account: Account, name: str) -> CustomerRef:
    """Return the customer `name` if the account may see it; NotFound otherwise (no existence leak)."""
    row = session.scalar(select(Customer).where(Customer.name == name))
    if row is None or (account.customer_id is not None and account.customer_id != row.id):
        raise NotFound(f"customer {name!r} not found")
    return CustomerRef(row.id, row.name)




def customers(session: Session, account: Account) -> list[CustomerRef]:
    """Return the customers the account may see by name: all for provider accounts, its own for a customer."""
    query = select(Customer).order_by(Customer.name)
    if account.customer_id is not None:
        query = query.where(Customer.id == account.customer_id)
    return [CustomerRef(row.id, row.name) for row in session.scalars(query)]
