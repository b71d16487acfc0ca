"""`pv bench`: the pipeline's own figures on the local stack, and the functions' cold start.

- `docs_per_s`: documents per second end to end (uploaded -> screened -> cased -> alerted), for the
  sample documents repeated with unique content, with the model served by the local endpoint server;
- `endpoint_calls_per_doc`: InvokeEndpoint calls per document (a counting proxy in front of the
  server counts them), which batching must keep at or under 1.0;
- `cold_import_ratio`: a handler module's import time over `import boto3` alone, both measured in
  fresh interpreters in the same run, in the environment Lambda gives a function.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pv_local.cli import UsageError, add_stack_arguments, console

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_ROOT = PROJECT_ROOT / "functions"
SAMPLE_DOCUMENTS = PROJECT_ROOT / "events" / "documents"
HANDLER_MODULES = ("pv.handlers.screen", "pv.handlers.case")
# Modules a function must never load: the model runs behind the endpoint, not in Lambda.
FORBIDDEN_MODULES = ("torch", "transformers", "tokenizers", "onnxruntime", "sagemaker", "pv_model", "numpy")

# What Lambda sets in every function's environment (LAMBDA_TASK_ROOT among them: the X-Ray SDK
# reads it to choose Lambda's sampling, and skips building the centralized-sampling clients).
# Tracing stays on: POWERTOOLS_TRACE_DISABLED is removed, not set.
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "pv-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "LAMBDA_TASK_ROOT": str(FUNCTIONS_ROOT),
    "POWERTOOLS_SERVICE_NAME": "pharmacovigilance-intake",
    "POWERTOOLS_METRICS_NAMESPACE": "PharmacovigilanceIntake",
    "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
}

_PROBE = """
import json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
{statement}
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
extra = {{}}
if "pv.observability" in sys.modules:
    tracer = sys.modules["pv.observability"].tracer
    extra["tracing_disabled"] = bool(tracer.disabled)
    extra["tracer_provider"] = type(tracer.provider).__name__
extra["loaded"] = sorted({{m.split(".")[0] for m in sys.modules}})
extra["modules"] = sorted(sys.modules)
print(json.dumps({{"cpu_ms": cpu * 1000, "wall_ms": wall * 1000, **extra}}))
"""


def lambda_environment() -> dict[str, str]:
    """This process's environment as Lambda would give it to a function (tracing left on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_ENDPOINT_URL"))}
    env.update(LAMBDA_ENVIRONMENT)
    env["PYTHONPATH"] = str(FUNCTIONS_ROOT)  # the code is at the task root, as in the zip
    return env


def probe(statement: str) -> dict[str, Any]:
    """Run `statement` in a fresh interpreter with Lambda's environment; its timings and modules."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        env=lambda_environment(),
        cwd=FUNCTIONS_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cold_imports(repetitions: int = 7) -> dict[str, Any]:
    """Median import times (CPU and wall) of boto3 alone and of each handler module, interleaved.

    CPU time is the primary figure: it is what an import costs, and unlike wall time it does not
    swing with whatever else a shared machine is running. The ratio is the slower handler's.
    """
    statements = {"boto3": "import boto3"} | {m: f"import {m}" for m in HANDLER_MODULES}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in statements}
    for _ in range(repetitions):
        for name, statement in statements.items():
            runs[name].append(probe(statement))
    result: dict[str, Any] = {"repetitions": repetitions}
    for name, samples in runs.items():
        result[name] = {
            "cpu_ms": round(statistics.median(s["cpu_ms"] for s in samples), 1),
            "wall_ms": round(statistics.median(s["wall_ms"] for s in samples), 1),
        }
    base = result["boto3"]
    result["cold_import_ratio"] = round(max(result[m]["cpu_ms"] for m in HANDLER_MODULES) / base["cpu_ms"], 2)
    result["cold_import_ratio_wall"] = round(
        max(result[m]["wall_ms"] for m in HANDLER_MODULES) / base["wall_ms"], 2
    )
    last = {m: runs[m][-1] for m in HANDLER_MODULES}
    result["tracing_disabled"] = any(s.get("tracing_disabled", True) for s in last.values())
    result["forbidden_loaded"] = sorted(
        {name for s in last.values() for name in s["loaded"] if name in FORBIDDEN_MODULES}
    )
    return result


def bench_items(copies: int) -> list[Any]:
    """The sample documents, `copies` times over, each copy with unique bytes (so a new document)."""
    from pv_local.load import Item, sample_files, unique_variant

    items = []
    for copy in range(copies):
        for key, body in sample_files(SAMPLE_DOCUMENTS):
            new_key, new_body, documents = unique_variant(key, body, copy)
            items.append(Item(new_key, documents, new_body, new_key))
    return items


def run_pipeline_bench(args: argparse.Namespace, copies: int) -> dict[str, Any]:
    """Documents per second end to end and endpoint calls per document, on the local stack."""
    from pv_local.load import collect, endpoint_for, holds_up, send
    from pv_local.stack import DEFAULT_TEMPLATE, LocalStack

    items = bench_items(copies)
    expected = {item.expected_key: item.documents for item in items}
    with endpoint_for(args, fault_rate=0.0, seed=0) as proxy:
        url = proxy.start()
        with LocalStack(
            endpoint_url=url,
            template=args.template or DEFAULT_TEMPLATE,
            retry_delay_s=args.retry_delay,
            function_log=args.function_log,
        ) as stack:
            started = time.perf_counter()
            send(stack, items)
            stats = stack.run_until_idle(timeout_s=args.timeout)
            elapsed = time.perf_counter() - started
            report = collect(stack, expected)
    states = report["terminal_states"]
    screened = states.get("screened_ae", 0) + states.get("screened_not_ae", 0)
    return {
        "documents": report["documents"],
        "copies_of_samples": copies,
        "screened": screened,
        "quarantined": states.get("quarantined", 0),
        "cases": report["cases"],
        "alerts": report["alerts"],
        "elapsed_s": round(elapsed, 2),
        "docs_per_s": round(report["documents"] / elapsed, 2),
        # Per screened document: quarantined ones never reach the endpoint, so this is the stricter.
        "endpoint_calls": proxy.stats.calls,
        "endpoint_calls_per_doc": round(proxy.stats.calls / max(1, screened), 3),
        "endpoint_calls_per_document_in": round(proxy.stats.calls / max(1, report["documents"]), 3),
        "sentences_per_call": round(proxy.stats.sentences / max(1, proxy.stats.calls), 1),
        "endpoint": proxy.kind,
        "function_invocations": stats.invocations,
        "reconciliation_holds_up": holds_up(report),
        "lost": report["lost"],
        "duplicate_alerts": report["duplicate_alerts"],
    }


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser(
        "bench", help="pipeline throughput, endpoint calls per document and handler cold start"
    )
    bench.add_argument("--copies", type=int, default=8, help="times the sample documents are sent")
    bench.add_argument("--repetitions", type=int, default=7, help="fresh interpreters per import timing")
    bench.add_argument("--timeout", type=float, default=900.0, help="seconds before the run gives up")
    bench.add_argument("--json", type=Path, default=Path(".artifacts/bench/pipeline.json"))
    add_stack_arguments(bench, extractor=False)  # measures the classifier endpoint alone
    bench.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    out = console()
    if args.model is None and args.endpoint_url is None:
        raise UsageError("pv bench measures the real classifier: pass --model DIR (or --endpoint-url URL)")
    with out.status(f"Timing cold imports ({args.repetitions} fresh interpreters each)..."):
        cold = cold_imports(args.repetitions)
    log_path = Path(".artifacts/local/bench-functions.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, out.status("Running the sample documents..."):
        args.function_log = log
        pipeline = run_pipeline_bench(args, args.copies)
    report = {
        **pipeline,
        "cold_import_ratio": cold["cold_import_ratio"],
        "cold_import_ratio_wall": cold["cold_import_ratio_wall"],
        "cold_import": cold,
        "model": str(args.model) if args.model is not None else args.endpoint_url,
        "backend": args.backend,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    for name in ("docs_per_s", "endpoint_calls_per_doc", "cold_import_ratio", "documents", "elapsed_s"):
        out.print(f"{name}: {report[name]}")
    out.print(f"Report written to {args.json}")
    return 0
