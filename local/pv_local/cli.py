"""`pv`: run the pipeline on this machine (demo, screen a folder, watch a folder, list cases and alerts).

A command module exposes `register(subparsers)`; heavy imports (moto, the pipeline, the model
server) happen inside the commands, so `pv --help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from pv_local.stack import LocalStack

_COMMAND_MODULES = [
    "pv_local.demo",  # demo, screen
    "pv_local.watch_command",  # local up
    "pv_local.queries",  # cases, alerts
    "pv_local.bench",  # bench
    "pv_local.load",  # load
]

DEFAULT_MODEL = Path(".artifacts/models/ae-classifier")
LOCAL_DIR = Path(".artifacts/local")


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of every command that starts the local stack."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        help=f"trained classifier folder served by the local endpoint server (default: {DEFAULT_MODEL})",
    )
    source.add_argument(
        "--endpoint-url",
        help="URL of a running server with the SageMaker runtime contract, instead of --model",
    )
    parser.add_argument(
        "--backend", default="torch", choices=["torch", "onnx", "onnx-int8"], help="model server backend"
    )
    parser.add_argument("--template", type=Path, help="SAM template (default: the project's template.yaml)")
    parser.add_argument(
        "--retry-delay",
        type=int,
        default=1,
        help="seconds before a failed message is visible again (the template's VisibilityTimeout is "
        "sized for Lambda; locally failed messages are retried after this)",
    )


def console() -> Console:
    from rich.console import Console

    # Bound to the real stdout: the functions' output is redirected to a log while they run.
    return Console(file=sys.stdout)


@contextlib.contextmanager
def stack_from_args(args: argparse.Namespace, out: Console) -> Iterator[LocalStack]:
    """Start the local stack the options describe; the functions log to .artifacts/local."""
    from pv_local.stack import DEFAULT_TEMPLATE, LocalStack

    model = args.model
    if args.endpoint_url is None and model is None:
        model = DEFAULT_MODEL
    if model is not None and not (model / "config.json").exists():
        raise UsageError(
            f"no trained model in {model}: `make model` trains the default classifier, "
            "or pass --model DIR (a trained model) or --endpoint-url URL (a running endpoint server)"
        )
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    function_log = LOCAL_DIR / "functions.log"
    with function_log.open("w", encoding="utf-8") as log:
        what = f"model {model} ({args.backend})" if model is not None else f"endpoint {args.endpoint_url}"
        with out.status(f"Starting the local stack from the template, serving {what}..."):
            stack = LocalStack(
                model_dir=model,
                endpoint_url=args.endpoint_url,
                template=args.template or DEFAULT_TEMPLATE,
                backend=args.backend,
                retry_delay_s=args.retry_delay,
                function_log=log,
            )
            stack.start()
        try:
            out.print(
                f"[green]Local stack up[/]: moto {stack.moto_url}, bucket {stack.bucket}, "
                f"endpoint {stack.sagemaker_url}; function logs in {function_log}"
            )
            yield stack
        finally:
            stack.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pv", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    # The tools' own logs (model server latency, moto) go to a file; the console shows tables.
    logging.basicConfig(
        filename=LOCAL_DIR / "pv.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"pv: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pv: interrupted; the local stack is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
