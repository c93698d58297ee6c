"""The agent-collector protocol's names and limits (docs/protocol.md), shared by both ends.

The agent trims what it sends to these limits (`fernwart.agent.wire`) and the collector refuses what
breaks them (`fernwart.collector.api.schemas`), so both read them from here and cannot drift apart.
Standard library only: the agent and the collector both import this module.
"""

from __future__ import annotations

import re
from datetime import timedelta

VERSION = 1

HOST_CHECK = "host"  # the reachability pseudo-check every host has; no agent check may use the name
CHECK_NAME = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")  # matched whole (fullmatch), never with match/$
CHECK_NAME_RULE = "1-128 characters of A-Z a-z 0-9 _ . : @ -"

RESULTS_PER_REPORT = 1000
SUMMARY_LIMIT = 4096
LONG_OUTPUT_LIMIT = 65536
METRICS_LIMIT = 200
LABEL_LIMIT = 200
UOM_LIMIT = 4
RANGE_LIMIT = 64
TYPE_LIMIT = 64
MAX_ATTEMPTS = 100
INTERVAL_LIMIT = 86400 * 31  # seconds
DURATION_LIMIT = 86400.0  # seconds a check may report it ran
HEARTBEAT_LIMIT = 86400  # seconds
# The window of observation times the collector accepts, around its own now: an outbox replays results
# after an outage of up to RESULT_MAX_AGE; an agent clock up to RESULT_MAX_AHEAD fast is taken as now.
RESULT_MAX_AGE = timedelta(days=35)
RESULT_MAX_AHEAD = timedelta(days=1)


def valid_check_name(name: str) -> bool:
    """Return whether `name` may name an agent's check: the whole string matches and it is not reserved."""
    return CHECK_NAME.fullmatch(name) is not None and name != HOST_CHECK
