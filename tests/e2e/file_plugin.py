#!/usr/bin/env python3
"""A Monitoring Plugin for tests: exits with the status written in FILE (default 0).

Each run prints a fresh run token in its summary and appends "<unix time> <token>" to FILE.log, so a test
can match every result the collector stored against every run the agent made.
"""

import sys
import time
import uuid
from pathlib import Path

state = Path(sys.argv[1])
try:
    code = int(state.read_text().strip() or "0")
except FileNotFoundError:
    code = 0
token = uuid.uuid4().hex
with open(f"{state}.log", "a") as log:
    log.write(f"{time.time():.3f} {token}\n")
label = {0: "OK", 1: "WARNING", 2: "CRITICAL"}.get(code, "UNKNOWN")
print(f"{label} - run {token} | value={code};1;2;0;3")
sys.exit(code)
