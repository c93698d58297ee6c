"""Playbook jobs: their states, and who may run which playbook on which host (pure rules).

States: queued -> delivered -> running -> succeeded | failed | timed_out | refused; a queued job may also
become expired (past its expiry) or cancelled. A job is delivered at most once: the move from queued to
delivered is a compare-and-set, and an agent that restarts while running reports the job failed.

Who may run what (issue 8): diagnostics, any technician who can see the host; repairs only on hosts whose
customer's contract is ``full`` (Vollwartung), only for level 2 and above (admins too), and only where the
agent's own config allows repairs. Customer accounts run nothing.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

DEFAULT_EXPIRY = timedelta(hours=24)
MAX_EXPIRY = timedelta(days=7)
REPAIR_ROLES = frozenset({"level2", "level3", "admin"})
TECHNICIAN_ROLES = frozenset({"level1", "level2", "level3", "admin"})


class JobState(StrEnum):
    QUEUED = "queued"
    DELIVERED = "delivered"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    REFUSED = "refused"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.TIMED_OUT, JobState.REFUSED,
                          JobState.EXPIRED, JobState.CANCELLED})
REPORTED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.TIMED_OUT, JobState.REFUSED,
                             JobState.CANCELLED})  # cancelled: only after a cancel was asked for
ACTIVE_STATES = frozenset({JobState.DELIVERED, JobState.RUNNING})


def refusal(
    *, kind: str, role: str, is_customer: bool, contract_kind: str | None, agent_allows_repairs: bool,
) -> str | None:
    """Return why this account may not run a playbook of `kind` on this host, or None when it may."""
    if is_customer:
        return "customer accounts may not run playbooks"
    if role not in TECHNICIAN_ROLES:
        return f"role {role} may not run playbooks"
    if kind != "repair":
        return None
    if contract_kind != "full":
        return ("repair playbooks need a full maintenance contract (Vollwartung); this host's customer has "
                + (f"a {contract_kind!r} contract" if contract_kind else "none"))
    if role not in REPAIR_ROLES:
        return f"repair playbooks need support level 2 or higher; role {role} may run diagnostics only"
    if not agent_allows_repairs:
        return "this host's agent does not allow repairs (allow_repairs in its config)"
    return None
