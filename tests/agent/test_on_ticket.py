"""`on_ticket:` in a check's config, and what the agent tells the collector for auto-diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from fernwart.agent.config import ConfigError, parse_config
from fernwart.agent.jobs import checks_report
from fernwart.agent.playbooks.library import load_library
from tests.support import REPO

BASE = "collector: http://127.0.0.1:1\nhost_id: h\nchecks:\n"


def test_on_ticket_names_a_playbook_and_only_options_a_playbook_takes_are_reported(tmp_path: Path) -> None:
    config = parse_config(BASE + """\
  - {name: disk-var, type: disk, interval: 60, mounts: [/var], on_ticket: disk-full}
  - {name: web, type: http, interval: 60, url: "http://127.0.0.1/", on_ticket: {playbook: host-overview,
     params: {lines: 5}}}
  - {name: load, type: load, interval: 60}
""", tmp_path / "agent.yaml")
    disk, web, load = config.checks
    assert (disk.on_ticket, disk.on_ticket_params) == ("disk-full", {})
    assert (web.on_ticket, web.on_ticket_params, load.on_ticket) == ("host-overview", {"lines": 5}, None)
    report = checks_report(config.checks, load_library(REPO / "playbooks").playbooks.values())
    assert report[0] == {"name": "disk-var", "type": "disk", "on_ticket": "disk-full", "params": {},
                         "options": {"mounts": "/var"}}
    assert "url" not in report[1]["options"]  # not a parameter of any held playbook: stays on the host
    assert report[2]["on_ticket"] is None


@pytest.mark.parametrize(("value", "message"), [
    ("'Bad Name'", "on_ticket: playbook: expected"),
    ("{playbook: disk-full, params: [1]}", "on_ticket: params: expected a mapping"),
    ("{playbook: disk-full, when: now}", "on_ticket: expected a playbook name or"),
])
def test_a_bad_on_ticket_is_refused_naming_the_check(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"check 'disk' \\(checks\\[0\\]\\): {message}"):
        parse_config(BASE + f"  - {{name: disk, type: disk, interval: 60, on_ticket: {value}}}\n",
                     tmp_path / "agent.yaml")
