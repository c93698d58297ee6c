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

# Each agent instance sends its own id with every request; the collector binds a host to the first one and
# refuses another (a cloned VM using the same token) with 409 and INSTANCE_CONFLICT as the answer's `code`.
INSTANCE_HEADER = "X-Fernwart-Instance"
INSTANCE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")  # matched whole; the agent makes a UUID4
INSTANCE_CONFLICT = "instance_conflict"

# Host facts (PUT /api/v1/agent/facts and the enrollment's `facts`): texts, addresses and SSH host keys
FACT_TEXT_LIMIT = 255  # agent_version, os, kernel, hostname: characters each
ADDRESSES_LIMIT = 64
INTERFACE_NAME = re.compile(r"[!-~]{1,64}")  # printable ASCII without spaces, matched whole
HOST_KEYS_LIMIT = 16
SSH_KEY_TYPE = re.compile(r"[a-z0-9@.-]{1,64}")  # the algorithm of a .pub file, e.g. ssh-ed25519
SSH_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")  # as `ssh-keygen -lf` prints it

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
