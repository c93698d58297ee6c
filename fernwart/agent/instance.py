"""The agent instance's own id: made once, kept in the state directory, sent with every request.

The collector binds a host to the first instance id it sees and refuses any other with 409, so a second
agent that uses a copied token (a cloned VM) is told so instead of merging its results into the host's.

The id file (``instance.json`` in the state directory) also records the machine id it was made on
(``/etc/machine-id``). A clone with a fresh machine id (systemd's first boot, cloud-init, virt-sysprep)
makes a new instance id at its next start even when its state directory was copied along; a clone that
keeps both the state directory and the machine id cannot be told apart from the original.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from pathlib import Path

from fernwart.protocol import INSTANCE_ID

INSTANCE_FILE = "instance.json"
MACHINE_ID = Path("/etc/machine-id")
log = logging.getLogger(__name__)


def machine_id(path: Path = MACHINE_ID) -> str:
    """Return the machine id at `path` (first line, at most 64 characters); empty when unreadable."""
    try:
        return path.read_text(encoding="utf-8").strip()[:64]
    except (OSError, UnicodeDecodeError):
        return ""


def instance_id(state_dir: Path, machine_id_path: Path = MACHINE_ID) -> str:
    """Return this agent instance's id, making and storing a new one when there is none yet.

    A stored id made on another machine (its machine id differs) is replaced by a new one, as is an id
    file that cannot be read. Raises OSError when the state directory cannot be written.
    """
    found, fresh = current_or_new(state_dir, machine_id_path)
    if fresh:
        store(state_dir, found, machine_id_path)
    return found


def current_or_new(state_dir: Path, machine_id_path: Path = MACHINE_ID) -> tuple[str, bool]:
    """Return the stored instance id of this machine and False, or a new one and True (nothing written)."""
    machine = machine_id(machine_id_path)
    path = state_dir / INSTANCE_FILE
    stored = _read(path)
    if stored is not None:
        found, made_on = stored
        if made_on == machine:
            return found, False
        log.warning("the agent state in %s was made on another machine (machine id %s, now %s): a cloned "
                    "or moved installation; making a new instance id", state_dir, made_on or "unknown",
                    machine or "unknown")
    return str(uuid.uuid4()), True


def store(state_dir: Path, found: str, machine_id_path: Path = MACHINE_ID) -> None:
    """Write `found` as this machine's instance id to the state directory (atomically, fsynced)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{INSTANCE_FILE}.", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"instance_id": found, "machine_id": machine_id(machine_id_path)}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, state_dir / INSTANCE_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> tuple[str, str] | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s); making a new instance id", path, exc)
        return None
    if not isinstance(stored, dict):
        return None
    found, machine = stored.get("instance_id"), stored.get("machine_id", "")
    if not isinstance(found, str) or INSTANCE_ID.fullmatch(found) is None or not isinstance(machine, str):
        return None
    return found, machine
