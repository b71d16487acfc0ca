"""`pv demo` (the sample documents through the whole pipeline, as tables) and `pv screen DIR`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pv_local.cli import LOCAL_DIR, UsageError, add_stack_arguments, console, stack_from_args

SAMPLE_DOCUMENTS = Path(__file__).resolve().parents[2] / "events" / "documents"
DEMO_REPORT = Path(".artifacts/demo/report.json")
STATE = LOCAL_DIR / "state.json"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the sample documents through the local pipeline and print what it found"
    )
    add_stack_arguments(demo)
    demo.add_argument(
        "--documents", type=Path, default=SAMPLE_DOCUMENTS, help="folder with email/ call/ social/"
    )
    demo.add_argument("--report", type=Path, default=DEMO_REPORT, help="where to write the JSON report")
    demo.add_argument(
        "--inbox",
        action="store_true",
        help="afterwards keep the stack up and serve the review inbox until Ctrl-C (its URL is printed last)",
    )
    demo.set_defaults(func=run_demo)

    screen = subparsers.add_parser(
        "screen", help="run every file under DIR through the local pipeline; one JSON line per document"
    )
    screen.add_argument("dir", type=Path, help="folder of documents (keys are paths relative to it)")
    screen.add_argument(
        "--out", type=Path, required=True, help="JSON Lines output (one line per document/post)"
    )
    screen.add_argument("--quiet", action="store_true", help="no table, only the summary line")
    add_stack_arguments(screen)
    screen.set_defaults(func=run_screen)


def _progress(out: Any) -> tuple[Any, Callable[[Any, int], None]]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = progress.add_task("pumping", total=None)

    def update(stats: Any, pending: int) -> None:
        per_fn = ", ".join(f"{fn} x{n}" for fn, n in sorted(stats.per_function.items()))
        waiting = f"{pending} waiting" if pending >= 0 else "busy"
        progress.update(
            task,
            description=f"{stats.delivered} messages delivered ({per_fn or 'none yet'}), "
            f"{stats.failed} failed, queues: {waiting}",
        )

    return progress, update


def _run_folder(
    args: argparse.Namespace,
    root: Path,
    files: list[Path],
    out: Any,
    then: Callable[[Any, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the files through a local stack; `then(stack, report)` runs before the stack stops."""
    from pv_local.report import save_state
    from pv_local.run import process_files

    with stack_from_args(args, out) as stack:
        out.print(f"Uploading {len(files)} files from {root} to s3://{stack.bucket}/ ...")
        progress, update = _progress(out)
        with progress:
            outcome = process_files(stack, root, files, on_progress=update)
        report = outcome.report(
            model=_model_info(stack, args.backend),
            endpoint_url=stack.sagemaker_url,
            template=str(stack.template_path),
            documents_folder=str(root),
        )
        save_state(STATE, outcome.cases, outcome.alerts)
        if then is not None:
            then(stack, report)
    return report


def _model_info(stack: Any, backend: str) -> dict[str, Any] | None:
    """The served classifier, extractor and summarizer (`extractor` None: the lexicon alone
    extracted; `summarizer` None: the summaries are the extractive ones)."""
    if stack.model_dir is None:
        return None  # an external endpoint served the classifier
    from pv_model.serving.code.inference import model_version

    def served(folder: Path | None) -> dict[str, str] | None:
        return None if folder is None else {"dir": str(folder), "version": model_version(folder)}

    return {
        "dir": str(stack.model_dir),
        "version": model_version(stack.model_dir),
        "backend": backend,
        "threshold": float(stack.model_threshold() or "nan"),
        "extractor": served(stack.extractor_dir),
        "summarizer": served(getattr(stack, "summarizer_dir", None)),
    }


def run_demo(args: argparse.Namespace) -> int:
    """The sample documents of events/documents through the pipeline; tables and a JSON report."""
    from pv_local.report import print_run, write_json
    from pv_local.results import CHANNELS
    from pv_local.run import files_under

    out = console()
    root: Path = args.documents
    files = [p for p in files_under(root) if p.relative_to(root).parts[0] in CHANNELS]
    if not files:
        raise UsageError(f"no documents under {root}/email, call or social")

    def show(stack: Any, report: dict[str, Any]) -> None:
        print_run(out, report)
        write_json(args.report, report)
        out.print(f"Report: {args.report}  (cases and alerts kept for `pv cases` / `pv alerts`)")
        if args.inbox:
            _serve_inbox_until_interrupted(stack, out)

    _run_folder(args, root, files, out, then=show)
    if not args.inbox:
        out.print(
            "Review these cases in the web inbox: `pv demo --inbox` (or `make demo`) keeps the stack up."
        )
    return 0


def _serve_inbox_until_interrupted(stack: Any, out: Any) -> None:
    import signal
    import threading

    from pv_local.inbox import serve_inbox, write_stack_file

    review = serve_inbox(stack)
    stack_file = write_stack_file(stack, review)
    out.print(
        f"Review API {review['review_url']} (bearer tokens per role in {stack_file}). Ctrl-C stops the stack."
    )
    out.print(f"Inbox, signed in as the local reviewer: {review['inbox_url']}", soft_wrap=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        out.print("Stopped; nothing left running.")


def run_screen(args: argparse.Namespace) -> int:
    """Every file under DIR through the pipeline; one JSON line per document (per post)."""
    from pv_local.report import documents_table
    from pv_local.run import files_under

    out = console()
    try:
        files = files_under(args.dir)
    except NotADirectoryError as error:
        raise UsageError(str(error)) from None
    report = _run_folder(args, args.dir, files, out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as sink:
        for line in report["documents"]:
            sink.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    if not args.quiet:
        out.print(documents_table(report["documents"]))
    lines = report["documents"]
    out.print(
        f"{len(lines)} lines ({sum(1 for x in lines if x['is_ae'])} adverse events, "
        f"{sum(1 for x in lines if x['status'] != 'screened')} not screened) written to {args.out}"
    )
    return 0
