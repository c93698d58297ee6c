"""The monthly report mail: queued on the first in the contract's timezone, once even with two collectors,
delivered through a real SMTP server process with the PDF attached (read back by poppler's pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from fernwart.collector.database import make_engine, session_factory
from fernwart.collector.domain.tickets import TicketPolicy
from fernwart.collector.jobs import run_sweep
from fernwart.collector.models import Notification
from fernwart.collector.services import notifications
from tests.collector.api.contract_helpers import CUSTOMER, OCT, apply, contract, history
from tests.collector.helpers import BACKFILL, harness
from tests.collector.notify.conftest import SmtpServer
from tests.support import require

BERLIN_MIDNIGHT = datetime(2026, 10, 31, 23, tzinfo=UTC)  # Nov 1 00:00 in Berlin (CET)
ADDRESSES = ["it@muster.example", "boss@muster.example"]


@pytest.mark.smtp
def test_the_month_goes_out_once_on_the_first_in_the_contracts_timezone(
    database_url: str, smtp_server: Callable[..., SmtpServer], tmp_path: Path
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    smtp = smtp_server()
    config = tmp_path / "notify.yaml"
    config.write_text(yaml.safe_dump({"email": {"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                                "from_address": "fernwart@provider.example"}}))
    transports = notifications.load_transports(config)
    other_engine = make_engine(database_url)  # a second collector on the same database
    other = session_factory(other_engine)
    try:
        with harness(database_url, result_max_age=BACKFILL) as h:
            apply(h, contract(timezone="Europe/Berlin", report_to=ADDRESSES))
            h.enroll("web01", CUSTOMER)
            down = OCT + timedelta(days=9, hours=12)
            history(h, "web01", "app",
                    [(OCT - timedelta(days=1), 0), (down, 2), (down + timedelta(minutes=30), 0)])
            step = timedelta(seconds=60)
            for now in (BERLIN_MIDNIGHT - timedelta(minutes=30), BERLIN_MIDNIGHT - timedelta(seconds=1)):
                assert run_sweep(h.sessions, now, step, TicketPolicy())  # still October in Berlin
            with h.sessions() as db:
                assert db.scalars(select(Notification)).all() == []
            first = BERLIN_MIDNIGHT + timedelta(minutes=1)
            ticks = ((h.sessions, first), (other, first), (other, first + step), (h.sessions, first))
            for sessions, now in ticks:
                run_sweep(sessions, now, step, TicketPolicy())
            with h.sessions() as db:
                rows = db.scalars(select(Notification).order_by(Notification.target)).all()
                assert [(r.kind, r.target) for r in rows] == [("monthly_report", a)
                                                              for a in sorted(ADDRESSES)]
                assert notifications.deliver_due(db, transports, first + step) == 2
                db.commit()
            stored = h.get("/api/v1/reports/monthly/stored", customer=CUSTOMER)
    finally:
        other_engine.dispose()
    assert [(s["month"], s["revision"]) for s in stored] == [("2026-10", 1)]  # made once, by one collector
    mails = smtp.messages()
    assert sorted(envelope["rcpt_tos"][0] for _, envelope in mails) == sorted(ADDRESSES)
    mail = mails[0][0]
    assert mail["Subject"].startswith("[Fernwart] SLA report 2026-10 Muster GmbH: target 99.9 % met")
    assert mail["X-Fernwart-Report-Month"] == "2026-10" and mail["X-Fernwart-Ticket"] is None
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "sla-report-Muster-GmbH-2026-10.pdf"
    pdf = tmp_path / "attached.pdf"
    pdf.write_bytes(attachment.get_content())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "target 99.9 % met: 99.93 %, 1 outage, 0 breaches" in text
    assert "Europe/Berlin" in text
