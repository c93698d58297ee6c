"""`fernwart deploy`: push-install the agent over SSH onto customer hosts, in parallel, with rollback.

The parts: `inventory` (which hosts), `wheels` (what goes onto them, offline), `plan` (the remote steps
and their undo, as data), `host` (one host's run through the SSH runner), `progress` (the live display
and the summary). It calls the collector only through `fernwart.client.api` and SSH only through the
one SSH runner.
"""
