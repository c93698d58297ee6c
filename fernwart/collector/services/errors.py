"""What the service layer refuses, by kind; the web layer maps each kind to a status code in one place.

Every message is safe to show the caller and names the field or object concerned. No HTTP here: the API
(`api.errors`) answers these as JSON, the dashboard as error pages.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every refusal of the service layer."""


class Unauthenticated(ServiceError):
    """The credentials are missing, unknown, expired or revoked."""


class Revoked(ServiceError):
    """The agent's host was revoked by a technician: the agent must stop sending (not retry)."""


class Forbidden(ServiceError):
    """The caller is known but may not do this."""


class NotFound(ServiceError):
    """No such object, or none the caller may see (the two are not told apart)."""


class Conflict(ServiceError):
    """The action does not fit the object's current state."""


class Invalid(ServiceError):
    """Input that cannot be used; the message starts with the field's name."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class RateLimited(ServiceError):
    """Too many attempts in a short time; `retry_after` says in how many seconds to try again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
