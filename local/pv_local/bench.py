"""`pv bench`: the pipeline's own figures on the local stack, and the functions' cold start.

- `docs_per_s`: documents per second end to end (uploaded -> screened -> cased -> alerted), for the
  sample documents repeated with unique content, with the model served by the local endpoint server;
- `endpoint_calls_per_doc`: InvokeEndpoint calls per document (a counting proxy in front of the
  server counts them), which batching must keep at or under 1.0;
- `cold_import_ratio`: a handler module's import time over `import boto3` alone, both measured in
  fresh interpreters in the same run, in the environment Lambda gives a function.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

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
