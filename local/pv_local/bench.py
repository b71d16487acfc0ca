"""`pv bench`: the pipeline's own figures on the local stack, and the functions' cold start.

- `docs_per_s`: documents per second end to end (uploaded -> screened -> cased -> alerted), for the
  sample documents repeated with unique content, with the model served by `pv-model serve` in a
  process of its own (as an endpoint is: `--backend`, ONNX int8 in `make bench`);
- `model_alone_sps`, `model_ceiling_docs_per_s`, `docs_per_s_vs_model`: in the same run, the same
  server scoring the pipeline's own sentences alone (4 concurrent callers, ClassifierBatchSize
  sentences a call), that rate divided by the sentences per document, and the pipeline's share
  of it (the bar: 0.6);
- `stages_ms`: wall milliseconds per document in each stage (AWS calls told apart by operation
  and resource, the domain's steps by their functions, the pump's own work), and
  `handler_cpu_ms_per_doc`: the CPU each function's thread spent per document (per case for
  CaseFunction), endpoint and AWS waits excluded;
- `process_cpu_ms_per_doc`: the CPU milliseconds per document in that each process spent over the
  pass, user and system, from `/proc`: the stack's (moto, the pump, the relay), the served model's
  and each function's containers (their imports and relays included), and `cpu_busy`, their sum
  over the pass's wall time on all the machine's cores (near 1.0: the pass is CPU-bound, and only
  less CPU per document makes it faster);
- `cpu_ms_per_doc`, `cpu_bound_docs_per_s`, `cpu_budget_ms_per_doc`: all those processes' CPU per
  document, the documents/s it allows with every core busy all the time, and the most CPU per
  document with which each throughput bar could still be met on this machine (`cpu_budgets`);
- `server_rss_mb`: the served model process's peak resident memory over the run (at rest:
  `server_rss_at_rest_mb`);
- `endpoint_calls_per_doc`: InvokeEndpoint calls per document (a counting proxy in front of the
  server counts them), which batching must keep at or under 1.0;
- `cold_import_ratio`: a handler module's import time over `import boto3` alone, both measured in
  fresh interpreters in the same run, in the environment Lambda gives a function (tracing on);
- a cProfile of a second, smaller pass (`pipeline.prof` and `pipeline-profile.txt` beside the JSON).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import cProfile
import functools
import importlib
import io
import json
import os
import pstats
import py_compile
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
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
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml's Globals set it
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


def compile_functions(root: Path) -> None:
    """Byte-compile the functions' code as `make build` does for the deployment package.

    Lambda never writes bytecode (its code is read-only) and SAM's zip dates every file
    1980-01-01 (aws/aws-lambda-builders#924), so only hash-checked .pyc files are valid there;
    without them every cold start compiles the project's modules from source. The bench measures
    what Lambda runs: this tree compiled the same way (the .pyc files are git-ignored).
    """
    compileall.compile_dir(root, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)


def cold_imports(repetitions: int = 7) -> dict[str, Any]:
    """Median import times (CPU and wall) of boto3 alone and of each handler module, interleaved.

    CPU time is the primary figure: it is what an import costs, and unlike wall time it does not
    swing with whatever else a shared machine is running. The ratio is the slower handler's.
    """
    compile_functions(FUNCTIONS_ROOT)
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


# The bars of issue 18 (`make bench`).
BARS = {"docs_per_s_vs_model": 0.6, "docs_per_s": 20.0, "server_rss_mb": 300.0, "cold_import_ratio": 2.0}
MODEL_CLIENTS = 4  # concurrent callers when the served model is measured alone
PROFILE_COPIES = 2
# Containers per queue-fed function (invocations at once; the template allows more: 6 + 4 for
# ScreenFunction's two queues, CaseConcurrency 5 for CaseFunction). Two measured the same as one
# on this 2-core machine (docs/PERFORMANCE.md), and each container pays its own cold costs.
DEFAULT_CONCURRENCY = 1

# The functions' own steps, timed where they are looked up at call time: "module:attribute" -> stage.
# Idempotency's DynamoDB client is its own (a session of its own), so its calls are timed here.
_PERSISTENCE = "aws_lambda_powertools.utilities.idempotency.persistence.base:BasePersistenceLayer"
DOMAIN_STAGES = {
    "pv.screening:parse_object": "parse",
    "pv.channels.social:parse_social_message": "parse",  # imported by pv.screening on use
    "pv.screening:document_sentences": "sentence_split",
    "pv.runtime:_rule_check": "rules_screen",
    "pv.intelligence:assess_case": "case_intelligence",
    "pv.intelligence.redaction:publishable": "redaction",
    f"{_PERSISTENCE}.save_inprogress": "idempotency",
    f"{_PERSISTENCE}.save_success": "idempotency",
    f"{_PERSISTENCE}.delete_record": "idempotency",
}
# AWS calls: (service, operation, the template resource they act on) -> stage.
AWS_STAGES = {
    ("s3", "GetObject", "IntakeBucket"): "object_read",
    ("s3", "GetObject", "parsed"): "document_read",
    ("s3", "PutObject", "parsed"): "parsed_write",
    ("dynamodb", "BatchGetItem", "ScreeningsTable"): "screening_lookup",
    ("dynamodb", "GetItem", "ScreeningsTable"): "screening_lookup",
    ("dynamodb", "PutItem", "ScreeningsTable"): "screening_write",
    ("dynamodb", "UpdateItem", "ScreeningsTable"): "duplicate_write",
    ("dynamodb", "GetItem", "CasesTable"): "case_lookup",
    ("dynamodb", "PutItem", "CasesTable"): "case_write",
    ("dynamodb", "TransactWriteItems", "CasesTable"): "case_write",
    ("dynamodb", "UpdateItem", "CasesTable"): "alert_mark",
    ("dynamodb", "BatchGetItem", "CasesTable"): "linked_cases_read",
    ("dynamodb", "Query", "MatchKeysTable"): "match_key_lookup",
    ("dynamodb", "BatchWriteItem", "MatchKeysTable"): "match_key_index",
    ("kms", "GenerateMac", ""): "match_key_hash",
    ("sqs", "SendMessage", "CaseQueue"): "case_enqueue",
    ("sns", "Publish", "SafetyAlertsTopic"): "publish",
    ("sagemaker-runtime", "InvokeEndpoint", ""): "endpoint_wait",
}


class StageClock:
    """Wall time and calls per pipeline stage, summed over a run of the functions in this process.

    AWS calls are timed from botocore's events on the default boto3 session (the one the
    functions' clients come from), each put in a stage by its operation and the resource it
    names; any DynamoDB call on the idempotency table is `idempotency`. The domain's steps are
    timed by wrapping the functions the pipeline looks up at call time.
    """

    def __init__(self, resources: dict[str, str]) -> None:
        self.resources = resources  # physical name, URL or ARN -> logical id
        self.seconds: dict[str, float] = {}
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
            self.calls[stage] += 1

    def drain(self) -> dict[str, tuple[float, int]]:
        """(seconds, calls) per stage timed since the last drain, and start again from nothing
        (a function container sends them with each result)."""
        with self._lock:
            drained = {stage: (seconds, self.calls[stage]) for stage, seconds in self.seconds.items()}
            self.seconds.clear()
            self.calls.clear()
        return drained

    def merge(self, deltas: dict[str, tuple[float, int]]) -> None:
        """Add what a function container's own clock timed (`drain`) since its last result."""
        with self._lock:
            for stage, (seconds, calls) in deltas.items():
                self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
                self.calls[stage] += calls

    def aws_stage(self, service: str, operation: str, params: dict[str, Any]) -> str:
        names = [params.get(k) for k in ("TableName", "QueueUrl", "TopicArn", "Bucket")]
        names += list(params.get("RequestItems") or {})
        for action in params.get("TransactItems") or []:  # the first table a transaction writes
            names += [op.get("TableName") for op in action.values() if isinstance(op, dict)]
        logical = next((self.resources[n] for n in names if isinstance(n, str) and n in self.resources), "")
        if logical == "IdempotencyTable":
            return "idempotency"
        if service == "s3" and str(params.get("Key", "")).startswith("parsed/"):
            logical = "parsed"
        return AWS_STAGES.get((service, operation, logical), f"{service}.{operation}")

    @contextlib.contextmanager
    def installed(self) -> Iterator[StageClock]:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION._session.get_component("event_emitter")  # type: ignore[union-attr]

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            stage = self.aws_stage(model.service_model.service_name, model.name, params)
            context["pv_bench_stage"] = (stage, time.perf_counter())

        def after(context: dict[str, Any], **_: Any) -> None:
            started = context.pop("pv_bench_stage", None)
            if started is not None:
                self.add(started[0], time.perf_counter() - started[1])

        events.register("before-parameter-build", before, unique_id="pv-bench-before")
        events.register("after-call", after, unique_id="pv-bench-after")
        events.register("after-call-error", after, unique_id="pv-bench-after-error")
        originals: list[tuple[Any, str, Any]] = []
        for path, stage in DOMAIN_STAGES.items():
            module_name, _, attributes = path.partition(":")
            owner: Any = importlib.import_module(module_name)
            *parents, name = attributes.split(".")
            for parent in parents:
                owner = getattr(owner, parent)
            originals.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, self._timed(stage, getattr(owner, name)))
        try:
            yield self
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)
            for event, uid in (
                ("before-parameter-build", "pv-bench-before"),
                ("after-call", "pv-bench-after"),
                ("after-call-error", "pv-bench-after-error"),
            ):
                events.unregister(event, unique_id=uid)

    def _timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - started)

        return timed


def pipeline_sentences(items: list[Any]) -> list[str]:
    """The sentences ScreenFunction sends the classifier for these items (parsed here)."""
    from datetime import UTC, datetime

    from pv.channels import parse_object, parse_social_message
    from pv.models import SourceDocument
    from pv.sentences import document_sentences

    now = datetime.now(UTC)
    sentences: list[str] = []
    for item in items:
        parsed = (
            [parse_social_message(item.body.decode(), now)]
            if item.key is None
            else parse_object(item.key, item.body, now, 5 * 1024 * 1024)
        )
        for document in parsed:
            if isinstance(document, SourceDocument):
                sentences.extend(document_sentences(document))
    return sentences


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds a process has used so far, user and system, all its threads (None without
    `/proc`, or once it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _processes(stack: Any, server_pid: int | None) -> dict[str, list[int]]:
    """The processes a pass runs in, by role: this one (the stack), the served model, and each
    queue-fed function's containers."""
    roles = {"stack": [os.getpid()], "model_server": [server_pid] if server_pid is not None else []}
    for logical_id, pool in stack.containers.items():
        roles[logical_id] = [c.pid for c in pool.containers if c.pid is not None]
    return roles


def _cpu_of(roles: dict[str, list[int]]) -> dict[str, float | None]:
    """Each role's CPU seconds so far, its processes summed (None: none, or one unreadable)."""
    readings: dict[str, float | None] = {}
    for role, pids in roles.items():
        seconds = [process_cpu_s(pid) for pid in pids]
        known = [s for s in seconds if s is not None]
        readings[role] = sum(known) if known and len(known) == len(seconds) else None
    return readings


def _cpu_spent(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
    """Each role's CPU seconds between two readings (None where either is missing)."""
    spent: dict[str, float | None] = {}
    for role, start in before.items():
        end = after.get(role)
        spent[role] = end - start if start is not None and end is not None else None
    return spent


def run_pipeline_bench(
    args: argparse.Namespace,
    copies: int,
    upstream: str | None,
    clock: bool = True,
    container_profiles: Path | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Documents per second end to end, endpoint calls and the stages per document, on the local
    stack, with the classifier at `upstream` (None: the keyword scorer), whose process is
    `server_pid` when it runs on this machine."""
    from pv_local.load import EndpointProxy, collect, holds_up, sending
    from pv_local.stack import DEFAULT_TEMPLATE, LocalStack

    items = bench_items(copies)
    expected = {item.expected_key: item.documents for item in items}
    contained = not getattr(args, "http_aws", False) and not getattr(args, "threads", False)
    concurrency = getattr(args, "concurrency", DEFAULT_CONCURRENCY) if contained else 1
    proxy = EndpointProxy(upstream)
    url = proxy.start()
    try:
        with LocalStack(
            endpoint_url=url,
            template=args.template or DEFAULT_TEMPLATE,
            retry_delay_s=args.retry_delay,
            function_log=args.function_log,
            in_process_aws=not getattr(args, "http_aws", False),
            moto_speedups=not getattr(args, "http_aws", False),
            containers=contained,
            stage_clock=clock,
            container_profiles=container_profiles,
            concurrency=concurrency,
        ) as stack:
            stages = StageClock(stack.resource_names())
            for container in stack.containers.values():
                container.stage_sink = stages.merge
            roles = _processes(stack, server_pid)
            with stages.installed() if clock else contextlib.nullcontext(stages):
                cpu_before = _cpu_of(roles)
                started = time.perf_counter()
                # The functions take each batch as it lands, while the rest is still uploading.
                with sending(stack, items) as arriving:
                    stats = stack.run_until_idle(
                        timeout_s=args.timeout,
                        concurrent=not getattr(args, "serial", False),
                        arriving=arriving,
                    )
                elapsed = time.perf_counter() - started
                cpu_after = _cpu_of(roles)
            report = collect(stack, expected)
            moto_calls = dict(stack.transport.calls) if stack.transport is not None else {}
            moto_seconds = dict(stack.transport.seconds) if stack.transport is not None else {}
    finally:
        proxy.stop()
    states = report["terminal_states"]
    screened = states.get("screened_ae", 0) + states.get("screened_not_ae", 0)
    documents = report["documents"]
    per_doc = {k: round(v * 1000 / max(1, documents), 2) for k, v in sorted(stages.seconds.items())}
    in_functions = sum(stats.handler_wall_s.values())
    per_doc["function_other"] = round(
        (in_functions - sum(stages.seconds.values())) * 1000 / max(1, documents), 2
    )
    per_doc["pump_overhead"] = round(stats.overhead_s * 1000 / max(1, documents), 2)
    cpu = stats.handler_cpu_s
    used = _cpu_spent(cpu_before, cpu_after)
    measured = [seconds for seconds in used.values() if seconds is not None]
    spent, cores = sum(measured), os.cpu_count() or 1  # all measured processes' CPU seconds
    return {
        "documents": documents,
        "copies_of_samples": copies,
        "screened": screened,
        "quarantined": states.get("quarantined", 0),
        "cases": report["cases"],
        "alerts": report["alerts"],
        "elapsed_s": round(elapsed, 2),
        "docs_per_s": round(documents / elapsed, 2),
        "stages_ms": per_doc,
        "stage_calls_per_doc": {k: round(v / max(1, documents), 3) for k, v in sorted(stages.calls.items())},
        "handler_cpu_ms_per_doc": {
            "ScreenFunction": round(cpu.get("ScreenFunction", 0.0) * 1000 / max(1, documents), 2),
            "CaseFunction": round(cpu.get("CaseFunction", 0.0) * 1000 / max(1, report["cases"]), 2),
        },
        "wall_ms_per_doc": round(elapsed * 1000 / max(1, documents), 2),
        "process_cpu_ms_per_doc": {
            role: None if seconds is None else round(seconds * 1000 / max(1, documents), 2)
            for role, seconds in used.items()
        },
        "cpu_busy": round(spent / (elapsed * cores), 3) if measured else None,
        # All the processes' CPU per document, and the documents/s that CPU allows with every core
        # busy all the time: no scheduling of this pass on this machine can go faster.
        "cpu_ms_per_doc": round(spent * 1000 / max(1, documents), 2) if measured else None,
        "cpu_bound_docs_per_s": round(cores * documents / spent, 2) if spent > 0 else None,
        # Per screened document: quarantined ones never reach the endpoint, so this is the stricter.
        "endpoint_calls": proxy.stats.calls,
        "endpoint_calls_per_doc": round(proxy.stats.calls / max(1, screened), 3),
        "endpoint_calls_per_document_in": round(proxy.stats.calls / max(1, documents), 3),
        "sentences_per_call": round(proxy.stats.sentences / max(1, proxy.stats.calls), 1),
        "sentences_per_doc": round(proxy.stats.sentences / max(1, documents), 2),
        "endpoint": proxy.kind,
        # The functions' and the pump's AWS calls, answered by moto in this process (none over
        # HTTP with --http-aws), per document in, by operation.
        "aws_calls_per_doc": round(sum(moto_calls.values()) / max(1, documents), 2),
        "aws_calls_by_operation": dict(sorted(moto_calls.items())),
        "emulator_ms_per_call": {
            k: round(v * 1000 / moto_calls[k], 2) for k, v in sorted(moto_seconds.items())
        },
        "emulator_ms_per_doc": round(sum(stats.emulator_wall_s.values()) * 1000 / max(1, documents), 2),
        "function_invocations": stats.invocations,
        "functions_concurrently": not getattr(args, "serial", False),
        "functions_in_containers": contained,
        "containers_per_function": concurrency if contained else 0,
        "reconciliation_holds_up": holds_up(report),
        "lost": report["lost"],
        "duplicate_alerts": report["duplicate_alerts"],
    }


def cpu_budgets(cores: int, ceiling_docs_per_s: float) -> dict[str, float]:
    """The most CPU per document, all the pass's processes together, that still lets each
    throughput bar be met on `cores` cores kept busy all the time (the 60% bar: at that share of
    the served model's ceiling). A pass whose `cpu_ms_per_doc` is above a budget cannot meet that
    bar on this machine, however its work is scheduled."""
    at_model_bar = BARS["docs_per_s_vs_model"] * max(1e-9, ceiling_docs_per_s)
    return {
        "docs_per_s": round(cores * 1000 / BARS["docs_per_s"], 2),
        "docs_per_s_vs_model": round(cores * 1000 / at_model_bar, 2),
    }


def _baseline(
    key: str, ratio_key: str, run: dict[str, Any] | None, pipeline: dict[str, Any]
) -> dict[str, Any]:
    """A baseline run of the same documents in the same command: its figures under `key` and the
    measured run's documents/s over its under `ratio_key` (both None without the run)."""
    if run is None:
        return {key: None, ratio_key: None}
    figures = ("docs_per_s", "stages_ms", "handler_cpu_ms_per_doc", "emulator_ms_per_doc")
    return {
        key: {k: run[k] for k in figures},
        ratio_key: round(pipeline["docs_per_s"] / max(1e-9, run["docs_per_s"]), 3),
    }


def measure_model_alone(url: str, sentences: list[str], batch_size: int) -> float:
    """Sentences/s the endpoint at `url` scores on its own (MODEL_CLIENTS callers at once)."""
    from pv_model.serving.bench import invoker, served_sps

    invoke = invoker(f"{url}/endpoints/ae-classifier-local/invocations")
    invoke(sentences[:16])  # warm-up
    return served_sps(invoke, sentences, batch_size, MODEL_CLIENTS)


def profile_pipeline(args: argparse.Namespace, upstream: str | None, out_dir: Path) -> Path:
    """A cProfile of a smaller pass beside the JSON: this process's thread (the pump's start and
    end, moto's answers with `--threads` off are on the pump's threads) and each function
    container's invocations (`container-<LogicalId>-<n>.prof` and `.prof.txt`)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_pipeline_bench(args, PROFILE_COPIES, upstream, clock=False, container_profiles=out_dir)
    finally:
        profiler.disable()
    path = out_dir / "pipeline.prof"
    write_profile(profiler, path, out_dir / "pipeline-profile.txt")
    return path


def write_profile(profiler: cProfile.Profile, path: Path, text_path: Path) -> None:
    """The profile's stats at `path` and its top functions, by cumulative and own time, as text."""
    profiler.dump_stats(path)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    text_path.write_text(text.getvalue(), encoding="utf-8")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser(
        "bench", help="pipeline throughput against the model's, stages per document, memory and cold start"
    )
    bench.add_argument("--copies", type=int, default=8, help="times the sample documents are sent")
    bench.add_argument("--repetitions", type=int, default=7, help="fresh interpreters per import timing")
    bench.add_argument("--timeout", type=float, default=900.0, help="seconds before the run gives up")
    bench.add_argument("--json", type=Path, default=Path(".artifacts/bench/pipeline.json"))
    bench.add_argument("--no-profile", action="store_true", help="skip the profiled pass")
    bench.add_argument("--serial", action="store_true", help="one function invocation at a time")
    bench.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"containers per function, invocations at once (default {DEFAULT_CONCURRENCY})",
    )
    bench.add_argument(
        "--threads",
        action="store_true",
        help="run the functions on threads of this process, not in container processes of their own",
    )
    bench.add_argument(
        "--http-aws", action="store_true", help="the functions reach moto over HTTP, moto as it comes"
    )
    bench.add_argument(
        "--compare-stack",
        action="store_true",
        help="also run the same documents with moto over HTTP and as it comes, one invocation at "
        "a time (the old local stack), and report the ratio",
    )
    bench.add_argument(
        "--compare-threads",
        action="store_true",
        help="also run the same documents with the functions on threads of this process (the "
        "second round's stack, no containers), and report the ratio",
    )
    add_stack_arguments(bench, extractor=False)  # measures the classifier endpoint alone
    bench.set_defaults(func=run_bench_command)


@contextlib.contextmanager
def classifier_endpoint(args: argparse.Namespace, log_dir: Path) -> Iterator[Any]:
    """The classifier's server: `pv-model serve` in its own process for --model, else --endpoint-url."""
    if args.model is None:
        yield None
        return
    from pv_model.serving.process import ServerProcess

    if not (args.model / "config.json").exists():
        raise UsageError(f"no trained model in {args.model}: `make model` trains one")
    if args.backend != "torch":
        from pv_model.serving.bench import _stale_onnx

        if _stale_onnx(args.model):
            from pv_model.serving.onnx_export import export_onnx

            export_onnx(args.model, quantize="int8")
    with ServerProcess(
        args.model, backend=args.backend, log_path=log_dir / "bench-model-server.log"
    ) as server:
        yield server


def run_bench_command(args: argparse.Namespace) -> int:
    out = console()
    if args.model is None and args.endpoint_url is None:
        raise UsageError("pv bench measures the real classifier: pass --model DIR (or --endpoint-url URL)")
    with out.status(f"Timing cold imports ({args.repetitions} fresh interpreters each)..."):
        cold = cold_imports(args.repetitions)
    log_dir = Path(".artifacts/local")
    log_dir.mkdir(parents=True, exist_ok=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with (
        (log_dir / "bench-functions.log").open("w", encoding="utf-8") as log,
        classifier_endpoint(args, log_dir) as server,
    ):
        args.function_log = log
        url = server.url if server is not None else args.endpoint_url
        at_rest = server.rss_mb() if server is not None else None
        with out.status("Scoring the pipeline's sentences with the served model alone..."):
            sentences = pipeline_sentences(bench_items(args.copies))
            model_sps = measure_model_alone(url, sentences, batch_size=32)
        with out.status("Running the sample documents..."):
            pipeline = run_pipeline_bench(
                args, args.copies, url, server_pid=server.pid if server is not None else None
            )
        old_stack = None
        threads_stack = None
        if getattr(args, "compare_threads", False) and not getattr(args, "threads", False):
            with out.status("Running them again with the functions on threads of this process..."):
                threads_args = argparse.Namespace(**{**vars(args), "threads": True})
                threads_stack = run_pipeline_bench(threads_args, args.copies, url)
        if getattr(args, "compare_stack", False):
            with out.status("Running them again on the old local stack (HTTP, serial)..."):
                old_args = argparse.Namespace(**{**vars(args), "serial": True, "http_aws": True})
                old_stack = run_pipeline_bench(old_args, args.copies, url)
        peak = server.peak_rss_mb() if server is not None else None
        if not args.no_profile:
            with out.status("Profiling a smaller pass..."):
                profile_pipeline(args, url, args.json.parent)
    ceiling = model_sps / max(1e-9, pipeline["sentences_per_doc"])
    report = {
        **pipeline,
        "model_alone_sps": round(model_sps, 1),
        "model_ceiling_docs_per_s": round(ceiling, 2),
        "docs_per_s_vs_model": round(pipeline["docs_per_s"] / ceiling, 3),
        **_baseline("old_stack", "docs_per_s_vs_old_stack", old_stack, pipeline),
        **_baseline("threads_stack", "docs_per_s_vs_threads", threads_stack, pipeline),
        "server_rss_at_rest_mb": at_rest,
        "server_rss_mb": peak,
        "cold_import_ratio": cold["cold_import_ratio"],
        "cold_import_ratio_wall": cold["cold_import_ratio_wall"],
        "cold_import": cold,
        "model": str(args.model) if args.model is not None else args.endpoint_url,
        "backend": args.backend,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    report["cpu_budget_ms_per_doc"] = cpu_budgets(os.cpu_count() or 1, ceiling)
    report["bars"] = {
        name: {
            "bar": bar,
            "value": report[name],
            "met": report[name] is not None
            and (
                report[name] <= bar if name in ("server_rss_mb", "cold_import_ratio") else report[name] >= bar
            ),
        }
        for name, bar in BARS.items()
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    for name in ("docs_per_s", "model_ceiling_docs_per_s", "docs_per_s_vs_model", "server_rss_mb"):
        out.print(f"{name}: {report[name]}")
    out.print(f"stages_ms: {json.dumps(report['stages_ms'])}")
    out.print(f"handler_cpu_ms_per_doc: {json.dumps(report['handler_cpu_ms_per_doc'])}")
    out.print(f"process_cpu_ms_per_doc: {json.dumps(report['process_cpu_ms_per_doc'])}")
    out.print(f"cpu_busy: {report['cpu_busy']}")
    out.print(
        f"cpu_ms_per_doc: {report['cpu_ms_per_doc']} (budget for the bars: "
        f"{json.dumps(report['cpu_budget_ms_per_doc'])}); "
        f"cpu_bound_docs_per_s: {report['cpu_bound_docs_per_s']}"
    )
    for name in (
        "endpoint_calls_per_doc",
        "cold_import_ratio",
        "documents",
        "elapsed_s",
        "docs_per_s_vs_threads",
        "docs_per_s_vs_old_stack",
    ):
        out.print(f"{name}: {report[name]}")
    out.print(f"Report written to {args.json}")
    return 0
