"""A host's identity beyond its token: the agent instance it is bound to, and its approval.

Agent instance (`fernwart.agent.instance`): every agent request carries the instance's id in the
``X-Fernwart-Instance`` header. Enrollment binds the host to the enrolling instance (an agent too old to
send one is bound by its first request that does). A request from any other instance with the host's
token, a cloned VM most likely, is refused with `InstanceConflict` (409, code ``instance_conflict``); the
refused instance id and when it was first refused stay on the host (the caller commits even though it
refuses the request) and are logged once per refused instance. Not knowing which of two machines is the
real one, the collector keeps the bound one. After a legitimate reinstall that lost the agent's state
directory, `reset_instance` (``fernwart-collector host reset-instance HOST``) lets the next instance bind;
re-enrolling with ``--replace`` binds the new instance as well.

Approval (``approval: required`` in the customer's contract): a host enrolled new for such a customer
waits with approval ``pending``. Its results are stored, but no check state moves and no ticket opens
(`counts`), so availability, which is measured from state changes, counts nothing of that time; after
`approve` counting starts with the first observation at or after the approval time.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fernwart.collector.models import APPROVAL_APPROVED, APPROVAL_PENDING, Customer, Host
from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Conflict, Invalid, NotFound
from fernwart.collector.services.permissions import Permission, require
from fernwart.collector.services.read.scope import visible
from fernwart.protocol import INSTANCE_ID

NO_INSTANCE = "(none sent)"  # what a refused request without an instance id is recorded as
log = logging.getLogger("fernwart.collector")


class InstanceConflict(Conflict):
    """Another agent instance than the host's own uses its token (a cloned VM)."""

    code = "instance_conflict"


def valid_instance(instance: str | None) -> str | None:
    """Return the instance id of a request header (None when absent); raise Invalid for a malformed one."""
    if instance is None or instance == "":
        return None
    if INSTANCE_ID.fullmatch(instance) is None:
        raise Invalid("X-Fernwart-Instance: expected 8-64 characters of A-Z a-z 0-9 -")
    return instance


def check_instance(host: Host, instance: str | None, now: datetime) -> None:
    """Bind an unbound `host` to `instance`, pass its own instance, refuse any other.

    Raise InstanceConflict (after noting the refused instance on `host`; the caller commits that) when the
    host is bound to another instance, or bound and the request names none.
    """
    if host.agent_instance is None:
        if instance is not None:
            host.agent_instance = instance
        return
    if instance == host.agent_instance:
        return
    refused = instance or NO_INSTANCE
    if host.instance_conflict != refused:
        host.instance_conflict = refused
        host.instance_conflict_at = now
        log.warning("host %s: refused agent instance %s using the host's token; the host is bound to "
                    "instance %s (a cloned VM?). If it is a reinstall: fernwart-collector host "
                    "reset-instance %s", host.name, refused, host.agent_instance, host.name)
    raise InstanceConflict(
        f"host {host.name} is bound to another agent instance ({host.agent_instance}); this agent "
        f"(instance {refused}) uses the host's token, as a cloned VM would. A clone must be enrolled as a "
        f"host of its own; after a reinstall a technician runs `fernwart-collector host reset-instance "
        f"{host.name}`"
    )


def find_host(session: Session, name: str, customer: str | None) -> Host:
    """Return the host called `name` (of `customer`, needed when several customers use the name).

    Raise NotFound or Invalid (the name is ambiguous).
    """
    query = select(Host).where(Host.name == name)
    if customer is not None:
        query = query.join(Customer, Customer.id == Host.customer_id).where(Customer.name == customer)
    hosts = list(session.scalars(query))
    if not hosts:
        raise NotFound(f"host {name}: no such host" + (f" of customer {customer}" if customer else ""))
    if len(hosts) > 1:
        raise Invalid(f"customer: several customers have a host {name}; name the customer")
    return hosts[0]


def reset_instance(session: Session, name: str, customer: str | None) -> Host:
    """Unbind the host's agent instance (after a reinstall): the next instance that calls is bound."""
    host = find_host(session, name, customer)
    host.agent_instance = None
    host.instance_conflict = None
    host.instance_conflict_at = None
    return host


def counts(host: Host, at: datetime) -> bool:
    """Return whether an observation of `host` at `at` moves check states (and so tickets, availability).

    A host waiting for approval counts nothing; an approved one counts from its approval time on.
    """
    if host.approval == APPROVAL_PENDING:
        return False
    return host.approved_at is None or at >= host.approved_at


def approve(session: Session, account: Account, host_id: str, now: datetime) -> Host:
    """Approve the pending host `host_id` the account may see; counting starts at `now`.

    Raise Forbidden without the permission, NotFound for a host the account may not see, Conflict for a
    host that is not pending. The caller commits.
    """
    require(account, Permission.APPROVE_HOSTS)
    host = session.scalar(select(Host).where(Host.id == host_id).where(visible(account)))
    if host is None:
        raise NotFound(f"host {host_id} not found")
    return _approve(host, account.name, now)


def approve_named(session: Session, name: str, customer: str | None, actor: str, now: datetime) -> Host:
    """Approve the pending host called `name` on the collector's command line (see `approve`)."""
    return _approve(find_host(session, name, customer), actor, now)


def _approve(host: Host, actor: str, now: datetime) -> Host:
    if host.approval != APPROVAL_PENDING:
        raise Conflict(f"host {host.name} is not waiting for approval")
    host.approval = APPROVAL_APPROVED
    host.approved_at = now
    host.approved_by = actor[:100]
    log.info("host %s approved by %s", host.name, actor)
    return host
