"""Rate limits on credential checks: failed ones per client address, dashboard sign-ins per account.

Tokens carry 256 bits of randomness, so guessing one is hopeless; the limits are there so that a scanner
or a misconfigured script hammering the collector with bad credentials is slowed down and shows up in the
log, and so that one account cannot mint sessions without end. Both are sliding windows kept in memory
per collector process (several collectors each keep their own; the limits are per process, not global).

- `FailedChecks`: after `limit` failed credential checks from one address within `window`, every request
  from that address that carries credentials is answered 429 with Retry-After until the oldest failure
  leaves the window; one log line marks the start of each block. Successful checks are not counted.
- `SignIns`: at most `limit` dashboard sign-ins per account within `window`.

The client address is the connection's peer; behind a reverse proxy that is the proxy, so run the
proxy's own limiting there (uvicorn's `--forwarded-allow-ips` makes the real address the peer).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

log = logging.getLogger("fernwart.collector.security")

MAX_KEYS = 10_000  # addresses or accounts tracked at once; the least recently seen are forgotten first


@dataclass
class SlidingWindow:
    """Counts events per key within `window`; `blocked_for` says how long a key at `limit` must wait."""

    limit: int
    window: timedelta
    max_keys: int = MAX_KEYS
    _events: OrderedDict[str, deque[datetime]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked_for(self, key: str, now: datetime) -> float:
        """Return the seconds until `key` may act again (0.0 when it may now)."""
        with self._lock:
            events = self._recent(key, now)
            if events is None or len(events) < self.limit:
                return 0.0
            return max(1.0, (events[0] + self.window - now).total_seconds())

    def record(self, key: str, now: datetime) -> bool:
        """Count an event of `key` at `now`; return True when it brought the key to its limit."""
        with self._lock:
            events = self._recent(key, now)
            if events is None:
                events = self._events[key] = deque()
                while len(self._events) > self.max_keys:
                    self._events.popitem(last=False)
            self._events.move_to_end(key)
            events.append(now)
            while len(events) > self.limit:
                events.popleft()
            return len(events) == self.limit

    def _recent(self, key: str, now: datetime) -> deque[datetime] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events


class Throttle:
    """The collector's two limits (see the module docs), shared by API and dashboard."""

    def __init__(
        self,
        failures: int = 10,
        failure_window: timedelta = timedelta(minutes=1),
        sign_ins: int = 10,
        sign_in_window: timedelta = timedelta(minutes=1),
    ) -> None:
        self.failed_checks = SlidingWindow(failures, failure_window)
        self.sign_ins = SlidingWindow(sign_ins, sign_in_window)

    def address_blocked_for(self, address: str, now: datetime) -> float:
        """Return how long `address` must wait before its credentials are checked again (0.0: not)."""
        return self.failed_checks.blocked_for(address, now)

    def failed(self, address: str, now: datetime, what: str) -> None:
        """Count a failed credential check from `address`; log when it starts a block."""
        if self.failed_checks.record(address, now):
            log.warning(
                "too many failed credential checks from %s (%d within %d s, last: %s); refusing it for now",
                address, self.failed_checks.limit, self.failed_checks.window.total_seconds(), what,
            )

    def sign_in(self, account: str, now: datetime) -> float:
        """Count a sign-in of `account` unless it is at its limit; return the seconds to wait (0.0: go)."""
        wait = self.sign_ins.blocked_for(account, now)
        if wait:
            log.warning("too many dashboard sign-ins of account %s; refused for %.0f s", account, wait)
            return wait
        self.sign_ins.record(account, now)
        return 0.0
