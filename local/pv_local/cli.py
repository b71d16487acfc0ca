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
from collections.abc import Callable, Iterator
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
    "pv_local.vocabularies",  # vocabularies
    "pv_local.lay_evaluation",  # evaluate-lay
    "pv_local.regulatory_command",  # case export-e2b
    "pv_local.ops",  # ops preflight
]

DEFAULT_MODEL = Path(".artifacts/models/ae-classifier")
LOCAL_DIR = Path(".artifacts/local")
# The running local stack, for scripts: moto endpoint, resources, review API URL and tokens.
STACK_FILE = LOCAL_DIR / "stack.json"


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""


def add_stack_arguments(parser: argparse.ArgumentParser, *, extractor: bool = True) -> None:
    """Options of every command that starts the local stack (`extractor`: the optional case models
    too, `--extractor` and `--summarizer`)."""
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
        "--backend",
        default="torch",
        choices=["torch", "onnx", "onnx-int8"],
        help="the classifier's backend (the extractor and the summarizer serve with torch)",
    )
    if extractor:
        parser.add_argument(
            "--extractor",
            type=Path,
            metavar="DIR",
            help="trained DRUG/AE extraction model (pv-model train-ner) served beside the classifier "
            "as endpoint ae-extractor-local, its guarded entities added to the lexicon's "
            "(default: none, the lexicon alone extracts)",
        )
        parser.add_argument(
            "--summarizer",
            type=Path,
            metavar="DIR",
            help="trained summarization model (pv-model train-summarizer) served beside the classifier "
            "as endpoint case-summarizer-local; a case keeps its summary when it names no drug or event "
            "that the text does not, else the extractive one (default: none, the extractive summary)",
        )
        parser.add_argument(
            "--phrase-mapper",
            type=Path,
            metavar="DIR",
            help="phrase mapper (pv-model build-embedder) served beside the classifier as endpoint "
            "phrase-mapper-local: reaction phrases the vocabulary lacks get their nearest standard "
            "term (default: none)",
        )
    parser.add_argument(
        "--meddra",
        type=Path,
        metavar="DIR",
        help="your licensed MedDRA ASCII release (llt.asc, pt.asc, mdhier.asc... or a MedAscii folder): "
        "uploaded under meddra/local/ and reactions coded to it (default: none, uncoded verbatims)",
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
    from pv_local.regulatory_command import meddra_parameters, upload_meddra

    extractor = extractor_from_args(args)
    summarizer = summarizer_from_args(args)
    phrase_mapper = phrase_mapper_from_args(args)
    meddra = getattr(args, "meddra", None)
    parameters = meddra_parameters(meddra)
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    function_log = LOCAL_DIR / "functions.log"
    with function_log.open("w", encoding="utf-8") as log:
        if model is None:
            what = f"endpoint {args.endpoint_url}"
        else:
            what = f"classifier {model} ({args.backend})"
            what += f", extractor {extractor}" if extractor is not None else ", lexicon extraction"
            what += f", summarizer {summarizer}" if summarizer is not None else ", extractive summaries"
            what += f", phrase mapper {phrase_mapper}" if phrase_mapper is not None else ""
        with out.status(f"Starting the local stack from the template, serving {what}..."):
            stack = LocalStack(
                model_dir=model,
                endpoint_url=args.endpoint_url,
                extractor_dir=extractor,
                summarizer_dir=summarizer,
                phrase_mapper_dir=phrase_mapper,
                template=args.template or DEFAULT_TEMPLATE,
                backend=args.backend,
                retry_delay_s=args.retry_delay,
                function_log=log,
                parameters=parameters,
            )
            stack.start()
            upload_meddra(stack, meddra)
        try:
            out.print(
                f"[green]Local stack up[/]: moto {stack.moto_url}, bucket {stack.bucket}, "
                f"endpoint {stack.sagemaker_url}; function logs in {function_log}"
            )
            out.print(f"Models: {served_models(stack)}")
            yield stack
        finally:
            stack.stop()


def _optional_model_from_args(
    args: argparse.Namespace, role: str, trainer: str, kind: str, accepts: Callable[[Path], bool]
) -> Path | None:
    """The folder `--<role>` names, checked to hold a `kind` model (`accepts`); None without it."""
    chosen = getattr(args, role, None)
    if chosen is None:
        return None
    if args.endpoint_url is not None:
        raise UsageError(
            f"--{role} is served by the local model server, which --endpoint-url replaces: "
            "pass --model DIR, or serve both at that URL (pv-model serve --model NAME=DIR ...)"
        )
    if not (chosen / "config.json").is_file():
        raise UsageError(f"no trained model in {chosen}: `pv-model {trainer}` trains the {role}")
    if not accepts(chosen):
        raise UsageError(f"{chosen} is not {kind}")
    return Path(chosen)


def extractor_from_args(args: argparse.Namespace) -> Path | None:
    """The extraction model to serve: only the one `--extractor` names (opt-in; none by default).

    Opt-in because a model can be worse than the lexicon alone: see the README, "Case intelligence".
    """
    from pv_model.serving.code.ner_inference import is_extractor

    kind = "a DRUG/AE extraction model (a *ForTokenClassification folder)"
    return _optional_model_from_args(args, "extractor", "train-ner", kind, is_extractor)


def summarizer_from_args(args: argparse.Namespace) -> Path | None:
    """The summarization model to serve: only the one `--summarizer` names (opt-in; none by default)."""
    from pv_model.serving.code.summarizer_inference import is_summarizer

    kind = "a summarization model (an EncoderDecoderModel or *ForConditionalGeneration folder)"
    return _optional_model_from_args(args, "summarizer", "train-summarizer", kind, is_summarizer)


def phrase_mapper_from_args(args: argparse.Namespace) -> Path | None:
    """The phrase mapper to serve: only the one `--phrase-mapper` names (opt-in; none by default)."""
    from pv_model.serving.code.embedder_inference import is_embedder

    kind = "a phrase mapper (a folder with embedder.json)"
    return _optional_model_from_args(args, "phrase_mapper", "build-embedder", kind, is_embedder)


def served_models(stack: LocalStack) -> str:
    """Which model answers each endpoint the pipeline calls, for the console."""
    from pv_local.stack import CLASSIFIER_PARAMETER, OPTIONAL_ENDPOINTS

    without = {
        "extractor": " (the lexicon extracts)",
        "summarizer": " (extractive summaries)",
        "phrase_mapper": " (the vocabulary alone)",
    }
    roles = [("classifier", CLASSIFIER_PARAMETER)] + [
        (role, p) for role, (p, _) in OPTIONAL_ENDPOINTS.items()
    ]
    described = []
    for role, parameter in roles:
        name = stack.parameters.get(parameter, "")
        if not name:
            described.append(f"{role}: none{without.get(role, '')}")
        else:
            described.append(f"{role} {name} <- {stack.served.get(name) or stack.sagemaker_url}")
    return "; ".join(described)


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
