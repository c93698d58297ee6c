"""Who may do what: the permission matrix per role and action, enforced by the service layer.

Reading is scoped separately (`read.scope`): every account reads only what it may see. Changing needs
the action's permission below; customer accounts may only comment on their tickets and open service
requests (`CUSTOMER_MAY`).
"""

from __future__ import annotations

from enum import StrEnum

from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Forbidden


class Permission(StrEnum):
    COMMENT = "comment on tickets"
    WORK_TICKETS = "work tickets"  # acknowledge, start, wait, resume, resolve, reopen
    ESCALATE = "escalate tickets"
    HAND_BACK = "hand tickets back"
    CLOSE = "close tickets"
    ADD_WINDOWS = "add maintenance windows"
    APPLY_CONTRACTS = "apply contracts"
    RUN_DIAGNOSTICS = "run diagnostics"
    RUN_REPAIRS = "run repairs"
    REVISE_REPORTS = "make a revision of a stored report"
    APPROVE_HOSTS = "approve hosts"
    ENROLL_HOSTS = "create enrollment tokens"
    REQUEST_SERVICE = "open service requests"


LEVEL = {"level1": 1, "level2": 2, "level3": 3}  # admin has no level: it may act at every level
TECHNICIANS = frozenset({"level1", "level2", "level3", "admin"})
SENIOR = frozenset({"level2", "level3", "admin"})
MATRIX: dict[Permission, frozenset[str]] = {
    Permission.COMMENT: TECHNICIANS,
    Permission.WORK_TICKETS: TECHNICIANS,
    Permission.ESCALATE: TECHNICIANS,
    Permission.HAND_BACK: SENIOR,
    Permission.CLOSE: SENIOR,
    Permission.ADD_WINDOWS: SENIOR,
    Permission.APPLY_CONTRACTS: frozenset({"admin"}),
    Permission.RUN_DIAGNOSTICS: TECHNICIANS,
    Permission.RUN_REPAIRS: SENIOR,
    Permission.REVISE_REPORTS: frozenset({"admin"}),
    Permission.APPROVE_HOSTS: SENIOR,  # trusting a new machine's results is a senior decision
    Permission.ENROLL_HOSTS: SENIOR,  # a token lets a machine into a customer's fleet
    Permission.REQUEST_SERVICE: TECHNICIANS,
}
# What a customer's account may do, on its own customer's tickets and hosts only (reads are scoped):
# comment on a ticket and open a service request, the way support "on request of the customer" starts.
CUSTOMER_MAY = frozenset({Permission.COMMENT, Permission.REQUEST_SERVICE})
# Acting on a ticket with these needs a role at or above the ticket's support level (tiered support:
# once a ticket went to level 2, level 1 may still comment on it but no longer works it).
AT_TICKET_LEVEL = frozenset(
    {Permission.WORK_TICKETS, Permission.ESCALATE, Permission.HAND_BACK, Permission.CLOSE}
)


def allowed(account: Account, permission: Permission, ticket_level: int | None = None) -> bool:
    """Return whether the account may do what `permission` names (on a ticket at `ticket_level`)."""
    if account.is_customer:
        return permission in CUSTOMER_MAY
    if account.role not in MATRIX[permission]:
        return False
    if ticket_level is not None and permission in AT_TICKET_LEVEL:
        return LEVEL.get(account.role, ticket_level) >= ticket_level
    return True


def require(account: Account, permission: Permission, ticket_level: int | None = None) -> None:
    """Raise Forbidden unless the account may do what `permission` names (on a ticket at `ticket_level`)."""
    if allowed(account, permission, ticket_level):
        return
    if account.is_customer:
        raise Forbidden(f"customer accounts may not {permission.value}")
    if account.role in MATRIX[permission]:
        raise Forbidden(f"role {account.role} may not {permission.value} at level {ticket_level}")
    raise Forbidden(f"role {account.role} may not {permission.value}")
