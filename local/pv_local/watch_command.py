"""`pv local up --watch DIR`: the stack stays up; files dropped into DIR are processed, alerts printed,
and the review inbox is served (its URL and tokens in .artifacts/local/stack.json)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from pv_local.cli import add_stack_arguments, console, stack_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = subparsers.add_parser("local", help="the local stack")
    actions = local.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="keep the local stack up and process files copied into a folder")
    up.add_argument(
        "--watch",
        type=Path,
        required=True,
        help="folder whose email/, call/ and social/ subfolders are watched",
    )
    add_stack_arguments(up)
    up.set_defaults(func=run_up)


def run_up(args: argparse.Namespace) -> int:
    from pv.adapters.case_store import CaseStore

    from pv_local.demo import STATE
    from pv_local.inbox import serve_inbox, write_stack_file
    from pv_local.report import alert_dict, alerts_table, save_state
    from pv_local.stack import CASES_TABLE, ReceivedAlert
    from pv_local.watch import watch

    out = console()
    root: Path = args.watch
    stop = threading.Event()
    # Ctrl-C and `kill` both stop the stack cleanly (a shell may start us with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with stack_from_args(args, out) as stack:
        review = serve_inbox(stack)
        stack_file = write_stack_file(stack, review)

        def keep_state() -> None:
            cases = CaseStore(stack.table(CASES_TABLE)).list()
            save_state(STATE, cases, [alert_dict(a) for a in stack.alerts()])

        def on_alert(alert: ReceivedAlert) -> None:
            out.print(alerts_table([alert_dict(alert)], title="New alert"))
            keep_state()  # `pv cases` in another terminal sees it now

        out.print(
            f"Watching {root}/email, {root}/call and {root}/social (files already there are processed too). "
            "Ctrl-C stops the stack."
        )
        out.print(f"Review API {review['review_url']} (tokens in {stack_file})")
        out.print(f"Inbox, signed in as the local reviewer: {review['inbox_url']}", soft_wrap=True)
        try:
            watch(
                stack,
                root,
                stop,
                on_upload=lambda key: out.print(f"uploaded [bold]{key}[/]"),
                on_alert=on_alert,
            )
        except KeyboardInterrupt:
            stop.set()
        keep_state()
    out.print(
        f"Stopped; nothing left running. Cases and alerts kept in {STATE} for `pv cases` / `pv alerts`."
    )
    return 0
