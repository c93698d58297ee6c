"""Deploy onto many hosts at once: the wheels packed once, a thread per host up to `parallel`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from fernwart.deploy.host import CollectorSide, Connect, DeploySettings, deploy_host
from fernwart.deploy.inventory import Target
from fernwart.deploy.progress import DeployOutcome, HostReport, Progress
from fernwart.deploy.wheels import Wheelhouse

MAX_PARALLEL = 64


def deploy_all(targets: Sequence[Target], connect: Connect, collector: CollectorSide, wheelhouse: Wheelhouse,
               settings: DeploySettings, progress: Progress, parallel: int) -> list[HostReport]:
    """Deploy onto every target, `parallel` at a time; return one report per target, in their order.

    A host's unexpected error (a bug) is reported as that host's failure, not the run's end.
    """
    run_id = secrets.token_hex(4)

    def one(target: Target) -> HostReport:
        try:
            report = deploy_host(target, connect, collector, wheelhouse, settings, progress, run_id)
        except Exception as exc:  # noqa: BLE001 - one host's surprise must not stop the others
            report = HostReport(target.label, DeployOutcome.FAILED,
                                f"unexpected error: {exc.__class__.__name__}: {exc}")
        progress.finish(report)
        return report

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, MAX_PARALLEL)),
                            thread_name_prefix="deploy") as pool:
        return list(pool.map(one, targets))
