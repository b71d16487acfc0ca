"""Readable tables (rich) of a run, the JSON report, and the state kept for `pv cases` / `pv alerts`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pv.case_models import Case
from rich.console import Console
from rich.table import Table

DEFAULT_STATE = Path(".artifacts/local/state.json")


def documents_table(lines: list[dict[str, Any]]) -> Table:
    table = Table(title="Screened documents", expand=True)
    table.add_column("key", overflow="fold", ratio=5)
    table.add_column("status", overflow="fold", ratio=2)
    table.add_column("AE", ratio=1)
    table.add_column("score", justify="right", ratio=1)
    table.add_column("case / reason", overflow="fold", ratio=3)
    for line in lines:
        ae = {True: "[bold red]yes[/]", False: "no", None: "-"}[line["is_ae"]]
        score = f"{line['score']:.3f}" if line["score"] is not None else "-"
        status = line["status"] if line["status"] == "screened" else f"[yellow]{line['status']}[/]"
        table.add_row(line["key"], status, ae, score, line["case_id"] or line["reason"] or "")
    return table


def cases_table(cases: Iterable[Case], title: str = "Cases opened") -> Table:
    table = Table(title=title, show_lines=True, expand=True)
    table.add_column("case / source / due", overflow="fold", ratio=3)
    table.add_column("suspect drugs -> events", overflow="fold", ratio=3)
    table.add_column("serious", overflow="fold", ratio=2)
    table.add_column("summary (redacted)", overflow="fold", ratio=5)
    for case in cases:
        facts = case.facts
        criteria = ", ".join(c.criterion for c in facts.seriousness_criteria)
        table.add_row(
            f"[bold]{case.case_id}[/]\n{case.source_key}\ndue {case.due_date.isoformat()} ({case.status})",
            f"{', '.join(facts.suspect_drugs) or '-'}\n-> {', '.join(facts.events) or '-'}",
            f"[bold red]yes[/]\n{criteria}" if facts.serious else "no",
            facts.summary,
        )
    return table


def alerts_table(
    alerts: Iterable[dict[str, Any]], title: str = "Alerts received on SafetyAlertsTopic"
) -> Table:
    table = Table(title=title, show_lines=True, expand=True)
    table.add_column("case / received", overflow="fold", ratio=3)
    table.add_column("attributes: serious / channel / drug", overflow="fold", ratio=3)
    table.add_column("message summary", overflow="fold", ratio=5)
    for alert in alerts:
        message = (
            alert["message"] if isinstance(alert["message"], dict) else {"summary": str(alert["message"])}
        )
        attributes = alert["attributes"]
        table.add_row(
            f"[bold]{message.get('case_id', '-')}[/]\n{alert['timestamp']}",
            " / ".join(attributes.get(k, "-") for k in ("serious", "channel", "drug")),
            message.get("summary", ""),
        )
    return table


def print_run(console: Console, report: dict[str, Any]) -> None:
    """The demo's tables and a one-paragraph summary."""
    lines = report["documents"]
    console.print(documents_table(lines))
    cases = [Case.model_validate(c) for c in report["cases"]]
    console.print(cases_table(cases) if cases else "[dim]No cases opened.[/]")
    console.print(alerts_table(report["alerts"]) if report["alerts"] else "[dim]No alerts received.[/]")
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    ae = sum(1 for line in lines if line["is_ae"])
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(
        f"[bold]{len(lines)} documents[/]: {summary}; {ae} adverse events, {len(cases)} cases, "
        f"{len(report['alerts'])} alerts, {len(report['dead_letters'])} dead letters "
        f"({report['timings_s']['pipeline']:.1f} s in the pipeline)."
    )


def alert_dict(alert: Any) -> dict[str, Any]:
    """A ReceivedAlert as JSON."""
    return {
        "message": alert.message,
        "attributes": alert.attributes,
        "timestamp": alert.timestamp,
        "message_id": alert.message_id,
    }


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def save_state(path: Path, cases: list[Case], alerts: list[dict[str, Any]]) -> Path:
    """Keep what the stores held at the end of a run, for `pv cases` and `pv alerts`.

    Moto keeps its state in memory only, so the local stack's cases and alerts are saved here
    when a run ends; `pv cases` loads them into a fresh local stack and queries them there.
    """
    return write_json(
        path,
        {
            "saved_at": datetime.now(UTC).isoformat(),
            "cases": [c.model_dump(mode="json") for c in cases],
            "alerts": alerts,
        },
    )


def load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(
            f"no saved local state at {path}: run `pv demo`, `pv screen` or `pv local up` first"
        )
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def alert_matches(alert: dict[str, Any], status: str | None, serious: bool | None, drug: str | None) -> bool:
    """Whether an alert passes the `pv alerts` filters (on its published message)."""
    message = alert["message"] if isinstance(alert["message"], dict) else {}
    return (
        (status is None or message.get("status") == status)
        and (serious is None or message.get("serious") == serious)
        and (drug is None or drug.lower() in [d.lower() for d in message.get("suspect_drugs", [])])
    )
