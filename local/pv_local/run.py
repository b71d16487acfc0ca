"""Run a folder of documents through the local stack and gather what came out (demo and `pv screen`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pv.adapters.case_store import CaseStore
from pv.case_models import Case
from pv.models import document_id_for

from pv_local.pump import PumpStats
from pv_local.report import alert_dict
from pv_local.results import collect_results, keys_for
from pv_local.stack import CASES_TABLE, LocalStack


@dataclass
class RunOutcome:
    """Everything a run produced, read back from the local stack."""

    uploaded: dict[str, Path]
    lines: list[dict[str, Any]]
    cases: list[Case]
    alerts: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    stats: PumpStats
    timings_s: dict[str, float]

    def report(self, **context: Any) -> dict[str, Any]:
        """The JSON report of the run (`context`: model, template, ...)."""
        return {
            "generated_at": datetime.now(UTC).isoformat(),
            **context,
            "timings_s": self.timings_s,
            "pump": {
                "invocations": self.stats.invocations,
                "messages_delivered": self.stats.delivered,
                "messages_succeeded": self.stats.succeeded,
                "messages_failed": self.stats.failed,
                "handler_errors": self.stats.handler_errors,
                "invocations_per_function": self.stats.per_function,
            },
            "documents": self.lines,
            "cases": [c.model_dump(mode="json") for c in self.cases],
            "alerts": self.alerts,
            "dead_letters": self.dead_letters,
        }


def files_under(root: Path) -> list[Path]:
    """Every file below `root`."""
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    return sorted(p for p in root.rglob("*") if p.is_file())


def process_files(
    stack: LocalStack,
    root: Path,
    files: list[Path],
    *,
    timeout_s: float = 1800.0,
    on_progress: Callable[[PumpStats, int], None] | None = None,
) -> RunOutcome:
    """Upload `files` (keyed relative to `root`), pump to quiescence, read the results back."""
    started = time.perf_counter()
    keyed = keys_for(root, files)
    digests = {}
    for key, path in keyed.items():
        body = path.read_bytes()
        stack.upload(key, body)
        digests[key] = document_id_for(body)
    uploaded = time.perf_counter()
    stats = stack.run_until_idle(timeout_s=timeout_s, on_progress=on_progress)
    pumped = time.perf_counter()
    lines = collect_results(stack, digests)
    return RunOutcome(
        uploaded=keyed,
        lines=lines,
        cases=CaseStore(stack.table(CASES_TABLE)).list(),
        alerts=[alert_dict(a) for a in stack.alerts()],
        dead_letters=[
            {
                "queue": d.queue,
                "source_queue": d.source_queue,
                "receive_count": d.receive_count,
                "body": d.body,
            }
            for d in stack.dead_letters()
        ],
        stats=stats,
        timings_s={
            "upload": round(uploaded - started, 3),
            "pipeline": round(pumped - uploaded, 3),
            "total": round(time.perf_counter() - started, 3),
        },
    )
