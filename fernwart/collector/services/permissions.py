"""Who may do what: the permission matrix per role and action, enforced by the service layer.

Reading is scoped separately (`read.scope`): every account reads only what it may see. Changing needs
the action's permission below; customer accounts change nothing.
"""

from __future__ import annotations

from enum import StrEnum

from fernwart.collector.services.auth import Account
from fernwart.collector.services.errors import Forbidden


class Permission(StrEnum):
    WORK_TICKETS = "work tickets"  # acknowledge, comment, start, wait, resume, resolve, reopen, close
    ESCALATE = "escalate tickets"
    ADD_WINDOWS = "add maintenance windows"
    APPLY_CONTRACTS = "apply contracts"
    REVISE_REPORTS = "make a revision of a stored report"


TECHNICIANS = frozenset({"level1", "level2", "level3", "admin"})
MATRIX: dict[Permission, frozenset[str]] = {
    Permission.WORK_TICKETS: TECHNICIANS,
    Permission.ESCALATE: TECHNICIANS,
    Permission.ADD_WINDOWS: TECHNICIANS,
    Permission.APPLY_CONTRACTS: frozenset({"admin"}),
    Permission.REVISE_REPORTS: frozenset({"admin"}),
}


def allowed(account: Account, permission: Permission) -> bool:
    """Return whether the account may do what `permission` names."""
    return not account.is_customer and account.role in MATRIX[permission]


def require(account: Account, permission: Permission) -> None:
    """Raise Forbidden unless the account may do what `permission` names."""
    if not allowed(account, permission):
        who = "customer accounts" if account.is_customer else f"role {account.role}"
        raise Forbidden(f"{who} may not {permission.value}")
