"""`pv cases` and `pv alerts`: what the last local run stored, newest first, filtered.

Moto keeps state in memory only, so every run (`pv demo`, `pv screen`, `pv local up`) saves its
cases and alerts to .artifacts/local/state.json when it ends. `pv cases` loads the saved cases into
a fresh local stack through the pipeline's CaseStore and lists them with CaseStore's own queries
(the Cases table's GSIs), so the filters behave as they do against DynamoDB.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pv_local.cli import UsageError, console


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, func, what in (("cases", run_cases, "cases"), ("alerts", run_alerts, "alerts received")):
        parser = subparsers.add_parser(name, help=f"list the {what} of the last local run, newest first")
        parser.add_argument("--status", help="case status: new or incomplete")
        serious = parser.add_mutually_exclusive_group()
        serious.add_argument(
            "--serious", dest="serious", action="store_true", default=None, help="serious only"
        )
        serious.add_argument("--not-serious", dest="serious", action="store_false", help="non-serious only")
        parser.add_argument("--drug", help="suspect drug (generic name, case-insensitive)")
        parser.add_argument("--json", action="store_true", help="JSON Lines instead of a table")
        parser.add_argument("--state", type=Path, help="saved state (default: .artifacts/local/state.json)")
        parser.set_defaults(func=func)


def _state(args: argparse.Namespace) -> dict[str, Any]:
    from pv_local.demo import STATE
    from pv_local.report import load_state

    try:
        return load_state(args.state or STATE)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def list_cases(
    saved: list[dict[str, Any]], status: str | None, serious: bool | None, drug: str | None
) -> list[Any]:
    """The saved cases, stored in a local Cases table and listed with CaseStore's filters."""
    from pv.adapters.case_store import CaseStore
    from pv.case_models import Case

    from pv_local.stack import CASES_TABLE, LocalStack

    def unused(event: dict[str, Any], context: Any) -> None:
        return None

    with LocalStack(handlers={"ScreenFunction": unused, "CaseFunction": unused}) as stack:
        store = CaseStore(stack.table(CASES_TABLE))
        for case in saved:
            store.create(Case.model_validate(case))
        return store.list(status=status, serious=serious, drug=drug)


def run_cases(args: argparse.Namespace) -> int:
    from pv_local.report import cases_table

    state = _state(args)
    cases = list_cases(state["cases"], args.status, args.serious, args.drug)
    if args.json:
        for case in cases:
            print(case.model_dump_json())
        return 0
    console().print(
        cases_table(cases, title=f"Cases ({len(cases)}), newest first, saved {state['saved_at']}")
    )
    return 0


def run_alerts(args: argparse.Namespace) -> int:
    from pv_local.report import alert_matches, alerts_table

    state = _state(args)
    alerts = [a for a in state["alerts"] if alert_matches(a, args.status, args.serious, args.drug)]
    alerts.sort(key=lambda a: a["timestamp"], reverse=True)
    if args.json:
        for alert in alerts:
            print(json.dumps(alert))
        return 0
    console().print(
        alerts_table(alerts, title=f"Alerts ({len(alerts)}), newest first, saved {state['saved_at']}")
    )
    return 0
