"""Contracts: applied whole from YAML (or JSON), stored per customer, loaded back as validated objects.

`apply` validates the entire document before touching the database, so a refused contract changes
nothing. Each customer's part is stored verbatim with a revision number; `load` parses stored documents
back into `collector.domain.contracts.CustomerContract` objects (cached per revision).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.domain.contracts import ContractError, ContractSet, CustomerContract, parse_contracts
from fernwart.collector.models import ContractRevision, Customer, Host, StoredContract, Ticket
from fernwart.collector.services import customers
from fernwart.collector.services.errors import Invalid

# Parsed contracts by their content (customer name + canonical JSON), never by row ids: ids repeat
# across databases and a content key can never serve a stale or foreign contract.
_cache: dict[str, CustomerContract] = {}


@dataclass(frozen=True)
class Applied:
    customers: tuple[str, ...]
    hosts_updated: int


def refused(problems: tuple[str, ...]) -> Invalid:
    """Return the refusal of a contracts document: every problem, one line each, and nothing changed."""
    return Invalid("contract refused, nothing changed: " + "; ".join(problems), problems)


def _validated(document: object) -> ContractSet:
    try:
        return parse_contracts(document)
    except ContractError as exc:
        raise refused(exc.problems) from None


def parse_document(text: str) -> tuple[dict[str, Any], ContractSet]:
    """Return the raw document and its validated contracts; raise Invalid naming every problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise refused((f"yaml: {exc}".replace("\n", " "),)) from None
    contracts = _validated(document)
    assert isinstance(document, dict)
    return document, contracts


def apply(session: Session, document: dict[str, Any], actor: str, now: datetime) -> Applied:
    """Store every customer's contract of a validated `document` and update its hosts' criticality.

    Validates first (Invalid naming every problem, before any write); customers are created if new.
    Customers not in the document keep their contracts. The caller commits.
    """
    contracts = _validated(document)
    raw_by_name = {item["name"]: item for item in document["customers"]}
    updated = 0
    for parsed in contracts.customers:
        customer = customers.get_or_create(session, parsed.name, now)
        row = session.get(StoredContract, customer.id)
        if row is None:
            session.add(
                StoredContract(
                    customer_id=customer.id,
                    document=raw_by_name[parsed.name],
                    revision=1,
                    applied_at=now,
                    applied_by=actor,
                )
            )
        else:
            row.document = raw_by_name[parsed.name]
            row.revision += 1
            row.applied_at = now
            row.applied_by = actor
        session.flush()
        stored = session.get(StoredContract, customer.id)
        assert stored is not None
        session.add(
            ContractRevision(
                customer_id=customer.id,
                revision=stored.revision,
                document=raw_by_name[parsed.name],
                applied_at=now,
                applied_by=actor,
            )
        )
        for host in session.scalars(select(Host).where(Host.customer_id == customer.id)):
            criticality = parsed.criticality_of(host.name)
            if host.criticality != criticality:
                host.criticality = criticality
                updated += 1
    session.flush()
    return Applied(tuple(c.name for c in contracts.customers), updated)


def contract_of(
    session: Session, customer_id: int | None, revision: int | None = None
) -> CustomerContract | None:
    """Return the customer's validated contract (its current one, or `revision` when given), or None.

    A `revision` that is not kept (tickets from before revisions were stored) falls back to the current
    contract.
    """
    if customer_id is None:
        return None
    row: StoredContract | ContractRevision | None = session.get(StoredContract, customer_id)
    if row is None:
        return None
    if revision is not None and revision != row.revision:
        row = session.get(ContractRevision, (customer_id, revision)) or row
    customer = session.get(Customer, customer_id)
    document = {**row.document, "name": customer.name if customer else row.document.get("name")}
    key = json.dumps(document, sort_keys=True, default=str)
    cached = _cache.get(key)
    if cached is None:
        if len(_cache) > 1000:
            _cache.clear()
        cached = parse_contracts({"customers": [document]}).customers[0]
        _cache[key] = cached
    return cached


def terms_of(session: Session, ticket: Ticket) -> CustomerContract | None:
    """Return the contract a ticket runs under: the revision it was opened (or repriced) under."""
    return contract_of(session, ticket.customer_id, ticket.contract_revision)


def current_revision(session: Session, customer_id: int | None) -> int | None:
    """Return the customer's current contract revision, or None without a contract."""
    row = session.get(StoredContract, customer_id) if customer_id is not None else None
    return row.revision if row else None


def documents(session: Session, customer_id: int | None = None) -> list[dict[str, Any]]:
    """Return stored contract documents (one per customer), optionally for one customer."""
    query = select(StoredContract, Customer.name).join(Customer, StoredContract.customer_id == Customer.id)
    if customer_id is not None:
        query = query.where(StoredContract.customer_id == customer_id)
    return [
        {
            "customer": name,
            "revision": c.revision,
            "applied_at": c.applied_at.isoformat(),
            "applied_by": c.applied_by,
            "document": c.document,
        }
        for c, name in session.execute(query.order_by(Customer.name))
    ]
