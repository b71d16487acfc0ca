"""The event pump: what Lambda's SQS event source mappings do, in-process.

It receives batches from each queue a function's Events name, hands them to the same handler
code Lambda runs as an SQS event with a Lambda context, deletes the messages that succeeded and
leaves the failed ones on the queue (a handler that raises or overruns its Timeout fails the whole
batch). A failed message becomes visible again after `retry_delay_s`
(instead of the queue's VisibilityTimeout, which sits above the function timeout and would make a
local run wait minutes), and after the redrive policy's maxReceiveCount the queue moves it to its
dead-letter queue on the next receive, as SQS does.

With `concurrent=True` (`run_until_idle`), each function polls its own queues on a thread of its
own, as each has its own containers in Lambda: ScreenFunction screens the next batch while
CaseFunction opens the cases of the last one, and one function's endpoint wait is the other's
time to run. Each function still runs one invocation at a time (its module-level state, like a
container's, serves one invocation at a time); powertools' logger and metrics objects are shared by
the functions in this process, so with concurrency a log line or metric may carry the other
function's name (local logs only).

A function may also run in container processes of its own (`pv_local.containers`): the pump
then only hands each invocation its event and answers its AWS calls, the function's own work runs
beside this process instead of waiting for its GIL, and it runs as many invocations at once as it
has containers (one worker each).

Not emulated: MaximumBatchingWindowInSeconds (a batch is whatever is waiting when the pump looks)
and, in this process, ScalingConfig concurrency beyond one invocation per function.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

Handler = Callable[[dict[str, Any], Any], Any]

_SQS_RECEIVE_MAX = 10  # SQS returns at most 10 messages per ReceiveMessage


def _add(totals: dict[str, float], key: str, seconds: float) -> None:
    totals[key] = totals.get(key, 0.0) + seconds


class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(
        self, function_name: str, memory_mb: int, timeout_s: int, region: str, account_id: str
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    """A template function run in-process: its handler, limits and environment."""

    logical_id: str
    name: str
    handler: Handler
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]


@dataclass
class QueueSource:
    """An SQS event source mapping: which queue feeds which function, in what batch size."""

    function: LocalFunction
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class PumpStats:
    invocations: int = 0
    delivered: int = 0
    succeeded: int = 0
    failed: int = 0
    handler_errors: int = 0
    timeouts: int = 0
    per_function: dict[str, int] = field(default_factory=dict)
    # Seconds per function logical id: wall time inside the handler, and the CPU time of the
    # thread that ran it (what the function itself computed: waits on AWS and the endpoint excluded).
    handler_wall_s: dict[str, float] = field(default_factory=dict)
    handler_cpu_s: dict[str, float] = field(default_factory=dict)
    # Wall time the pump spent on its own: receiving, deleting, returning messages, building events.
    overhead_s: float = 0.0
    # Seconds per function inside moto itself when the stack answers AWS calls in process (they
    # run on the function's thread then, and are taken out of handler_cpu_s).
    emulator_wall_s: dict[str, float] = field(default_factory=dict)
    emulator_cpu_s: dict[str, float] = field(default_factory=dict)


def lambda_variables(fn: LocalFunction, region: str) -> dict[str, str]:
    """The variables Lambda's runtime sets in `fn`'s container."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
    }


def _contained(fn: LocalFunction) -> bool:
    """True when `fn` runs in a container process (`pv_local.containers.FunctionContainer`)."""
    return callable(getattr(fn.handler, "remote_cpu_s", None))


def _invocations_at_once(fn: LocalFunction) -> int:
    """How many invocations of `fn` may run at once: its containers (`ContainerPool.size`), or one."""
    return int(getattr(fn.handler, "size", 1)) if _contained(fn) else 1


class FunctionEnvironment:
    """Applies each function's environment to the process before its handler runs.

    The functions share one process, so every variable is set once, except those the functions
    give different values: they are switched per invocation, and then `on_change` (the pipeline's
    `pv.runtime.reset`) drops the settings and clients cached from the previous values, as a
    separate container would not have them. (A variable only one function sets is visible to
    both; tests/test_template.py checks each function gets the variables it reads.)
    """

    def __init__(
        self, environments: dict[str, dict[str, str]], region: str, on_change: Callable[[], None]
    ) -> None:
        self._environments = environments
        self._region = region
        self._on_change = on_change
        values: dict[str, set[str]] = {}
        for env in environments.values():
            for key, value in env.items():
                values.setdefault(key, set()).add(value)
        self.switched = {k for k, v in values.items() if len(v) > 1}
        self._shared = {k: next(iter(v)) for k, v in values.items() if k not in self.switched}
        self._active: str | None = None

    def shared(self) -> dict[str, str]:
        """Variables with one value across all functions."""
        return dict(self._shared)

    def activate(self, fn: LocalFunction) -> None:
        """Set the per-function variables (and Lambda's own) for an invocation of `fn`."""
        os.environ.update(lambda_variables(fn, self._region))
        if not self.switched or fn.logical_id == self._active:
            return
        own = self._environments.get(fn.logical_id, {})
        for key in self.switched:
            if key in own:
                os.environ[key] = own[key]
            else:
                os.environ.pop(key, None)
        if self._active is not None:
            self._on_change()
        self._active = fn.logical_id


class Emulator(Protocol):
    """What answers the functions' AWS calls in this process (`pv_local.transport.InProcessMoto`)."""

    def thread_seconds(self) -> tuple[float, float]: ...


# How long a pump worker waits after finding its queues empty: IDLE_POLL_S for the first
# IDLE_ROUNDS empty rounds (a function that has caught up with its queue gets the next messages at
# once), then doubling up to IDLE_POLL_MAX_S (Lambda's pollers long-poll; moto's long poll spins).
IDLE_POLL_S = 0.05
IDLE_ROUNDS = 10
IDLE_POLL_MAX_S = 0.4


def _arrived(arriving: threading.Event | None) -> bool:
    """Everything sent has landed (no sender, or the sender said so)."""
    return arriving is None or arriving.is_set()


def idle_wait_s(empty_rounds: int) -> float:
    """The wait of a pump worker after `empty_rounds` rounds in a row found its queues empty: a
    function idle for longer than IDLE_ROUNDS rounds polls less and less often (each empty receive
    is moto work that the busy functions' calls wait behind)."""
    doublings = min(max(empty_rounds - IDLE_ROUNDS, 0), 16)
    return min(IDLE_POLL_MAX_S, IDLE_POLL_S * 2**doublings)


class EventPump:
    """Delivers queue messages to their functions in batches, honouring partial batch failures."""

    def __init__(
        self,
        sqs: Any,
        sources: list[QueueSource],
        environment: FunctionEnvironment,
        region: str,
        account_id: str,
        retry_delay_s: int = 1,
        log_stream: IO[str] | None = None,
        emulator: Emulator | None = None,
    ) -> None:
        self.sqs = sqs
        self.emulator = emulator
        self.sources = sources
        self.environment = environment
        self.region = region
        self.account_id = account_id
        self.retry_delay_s = retry_delay_s
        self.log_stream = log_stream
        self.stats = PumpStats()
        self._lock = threading.Lock()  # one invocation at a time (serial mode)
        self._stats_lock = threading.Lock()
        self._function_locks: dict[str, threading.Semaphore] = {}
        self._concurrent = False
        self._output_lock = threading.Lock()
        self._output_users = 0
        self._output_restore: contextlib.ExitStack | None = None

    def poll_once(self, wait_s: int = 0, sources: list[QueueSource] | None = None) -> int:
        """Receive and deliver at most one batch per source; the number of messages delivered."""
        delivered = 0
        for source in self.sources if sources is None else sources:
            started = time.perf_counter()
            messages = self._receive_batch(source, wait_s if delivered == 0 else 0)
            if wait_s == 0:  # a long poll's wait is idle time, not the pump's work
                self._add_overhead(time.perf_counter() - started)
            if messages:
                self._deliver(source, messages)
                delivered += len(messages)
        return delivered

    def _add_overhead(self, seconds: float) -> None:
        with self._stats_lock:
            self.stats.overhead_s += seconds

    def pending(self) -> int:
        """Messages still on the source queues: visible, in flight or delayed."""
        total = 0
        for url in {s.queue_url for s in self.sources}:
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            total += sum(int(v) for v in attrs.values())
        return total

    def run_until_idle(
        self,
        timeout_s: float = 300.0,
        on_progress: Callable[[PumpStats, int], None] | None = None,
        concurrent: bool = False,
        arriving: threading.Event | None = None,
    ) -> PumpStats:
        """Deliver until every source queue is empty (retries done, failures dead-lettered);
        `concurrent`: each function on a thread of its own (see the module's docstring);
        `arriving`: documents are still being sent until it is set, so empty queues before then
        are not idle (the functions take each batch as it lands, as Lambda's pollers do)."""
        if concurrent and (not self.environment.switched or self._all_contained()):
            return self._run_concurrently(timeout_s, on_progress, arriving)
        deadline = time.monotonic() + timeout_s
        while True:
            delivered = self.poll_once()
            pending = self.pending() if delivered == 0 and _arrived(arriving) else -1
            if on_progress is not None:
                on_progress(self.stats, pending)
            if pending == 0:
                return self.stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues not idle after {timeout_s:.0f}s ({self.pending()} messages left)")
            if delivered == 0:
                time.sleep(0.2)  # only messages waiting out their retry delay are left

    def _all_contained(self) -> bool:
        """Every queue-fed function runs in a container process of its own (its environment
        there), so the functions' differing variables need no switching in this process."""
        return all(_contained(source.function) for source in self.sources)

    def _run_concurrently(
        self,
        timeout_s: float,
        on_progress: Callable[[PumpStats, int], None] | None,
        arriving: threading.Event | None = None,
    ) -> PumpStats:
        by_function: dict[str, list[QueueSource]] = {}
        for source in self.sources:
            by_function.setdefault(source.function.logical_id, []).append(source)
        stop = threading.Event()
        # One worker per invocation a function may run at once (its containers; one otherwise).
        slots = [
            (f"{logical_id}-{n}", sources)
            for logical_id, sources in by_function.items()
            for n in range(_invocations_at_once(sources[0].function))
        ]
        rounds = {name: 0 for name, _ in slots}  # rounds each worker finished without delivering
        errors: list[BaseException] = []

        def work(name: str, sources: list[QueueSource]) -> None:
            try:
                while not stop.is_set():
                    if self.poll_once(sources=sources):
                        rounds[name] = 0
                    else:
                        rounds[name] += 1
                        stop.wait(idle_wait_s(rounds[name]))
            except BaseException as exc:  # re-raised on the calling thread
                errors.append(exc)
                stop.set()

        workers = [
            threading.Thread(target=work, args=slot, name=f"pump-{slot[0]}", daemon=True) for slot in slots
        ]
        self._concurrent = True
        deadline = time.monotonic() + timeout_s
        try:
            for worker in workers:
                worker.start()
            while not stop.is_set():
                stop.wait(0.1)
                # Every worker found its queues empty since it last delivered: are they all idle?
                idle = _arrived(arriving) and all(count > 0 for count in rounds.values())
                pending = self.pending() if idle else -1
                if on_progress is not None:
                    on_progress(self.stats, pending)
                if pending == 0:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"queues not idle after {timeout_s:.0f}s ({self.pending()} messages left)"
                    )
        finally:
            stop.set()
            for worker in workers:
                worker.join()
            self._concurrent = False
        if errors:
            raise errors[0]
        return self.stats

    def run_forever(self, stop: threading.Event, wait_s: int = 1) -> None:
        """Long-poll the queues until `stop` is set."""
        while not stop.is_set():
            self.poll_once(wait_s=wait_s)

    def _receive_batch(self, source: QueueSource, wait_s: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(_SQS_RECEIVE_MAX, source.batch_size - len(messages)),
                WaitTimeSeconds=wait_s if not messages else 0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _deliver(self, source: QueueSource, messages: list[dict[str, Any]]) -> None:
        fn = source.function
        started = time.perf_counter()
        event = {"Records": [self._record(source, m) for m in messages]}
        self._add_overhead(time.perf_counter() - started)
        handler_error = timed_out = False
        with self.invocation(fn) as context:
            try:
                response = fn.handler(event, context)
            except Exception:
                logging.getLogger(__name__).exception("function %s raised; the whole batch returns", fn.name)
                handler_error = True
                failed_ids = {m["MessageId"] for m in messages}
            else:
                failed_ids = self._failed_ids(source, response, messages)
            if context.get_remaining_time_in_millis() == 0:
                # Lambda would have stopped the function at its Timeout: the batch returns. A
                # thread cannot be stopped, so the overrun is detected when the handler returns.
                logging.getLogger(__name__).error("function %s timed out after %ss", fn.name, fn.timeout_s)
                timed_out = True
                failed_ids = {m["MessageId"] for m in messages}
        started = time.perf_counter()
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        self._for_each_chunk(
            succeeded,
            lambda chunk: self.sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            ),
        )
        self._for_each_chunk(
            failed,
            lambda chunk: self.sqs.change_message_visibility_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay_s,
                    }
                    for i, m in enumerate(chunk)
                ],
            ),
        )
        with self._stats_lock:
            self.stats.handler_errors += handler_error
            self.stats.timeouts += timed_out
            self.stats.delivered += len(messages)
            self.stats.succeeded += len(succeeded)
            self.stats.failed += len(failed)
            self.stats.overhead_s += time.perf_counter() - started

    @contextlib.contextmanager
    def invocation(self, fn: LocalFunction) -> Iterator[LambdaContext]:
        """One invocation of `fn` at a time, as in its own container: its environment, a Lambda
        context and its output sent to the function log. The pump's deliveries and the local HTTP
        gateway's requests both invoke through here."""
        context = LambdaContext(fn.name, fn.memory_mb, fn.timeout_s, self.region, self.account_id)
        with self._invocation_lock(fn):
            if not _contained(fn):
                self.environment.activate(fn)
            with self._stats_lock:
                self.stats.invocations += 1
                self.stats.per_function[fn.logical_id] = self.stats.per_function.get(fn.logical_id, 0) + 1
            wall, cpu = time.perf_counter(), time.thread_time()
            moto_wall, moto_cpu = self.emulator.thread_seconds() if self.emulator else (0.0, 0.0)
            try:
                with self._function_output():
                    yield context
            finally:
                if self.emulator is not None:
                    after_wall, after_cpu = self.emulator.thread_seconds()
                    moto_wall, moto_cpu = after_wall - moto_wall, after_cpu - moto_cpu
                else:
                    moto_wall = moto_cpu = 0.0
                # A container's handler computes in its own process: its CPU comes with its result.
                remote_cpu = fn.handler.remote_cpu_s() if _contained(fn) else 0.0  # type: ignore[attr-defined]
                with self._stats_lock:
                    _add(self.stats.emulator_wall_s, fn.logical_id, moto_wall)
                    _add(self.stats.emulator_cpu_s, fn.logical_id, moto_cpu)
                    _add(self.stats.handler_wall_s, fn.logical_id, time.perf_counter() - wall)
                    _add(
                        self.stats.handler_cpu_s,
                        fn.logical_id,
                        time.thread_time() - cpu - moto_cpu + remote_cpu,
                    )

    def _invocation_lock(self, fn: LocalFunction) -> threading.Lock | threading.Semaphore:
        """The whole pump's lock, or with concurrency the function's own: as many invocations at
        once as it has containers (one in this process)."""
        if not self._concurrent:
            return self._lock
        with self._stats_lock:
            if fn.logical_id not in self._function_locks:
                self._function_locks[fn.logical_id] = threading.Semaphore(_invocations_at_once(fn))
            return self._function_locks[fn.logical_id]

    @staticmethod
    def _for_each_chunk(messages: list[dict[str, Any]], call: Callable[[list[dict[str, Any]]], Any]) -> None:
        for start in range(0, len(messages), _SQS_RECEIVE_MAX):
            call(messages[start : start + _SQS_RECEIVE_MAX])

    @staticmethod
    def _failed_ids(source: QueueSource, response: Any, messages: list[dict[str, Any]]) -> set[str]:
        """Lambda's reading of a partial batch response (invalid responses fail the whole batch)."""
        all_ids = {m["MessageId"] for m in messages}
        if not source.report_batch_item_failures:
            return set()
        if response is None:
            return set()
        if not isinstance(response, dict):
            return all_ids
        failures = response.get("batchItemFailures") or []
        ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if not ids <= all_ids:  # a missing, empty or unknown identifier fails the whole batch
            return all_ids
        return {i for i in ids if i is not None}

    def _record(self, source: QueueSource, message: dict[str, Any]) -> dict[str, Any]:
        """A message in the shape of a Lambda SQS event record."""
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": value.get("StringListValues", []),
                    "binaryListValues": value.get("BinaryListValues", []),
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.queue_arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    @contextlib.contextmanager
    def _function_output(self) -> Iterator[None]:
        """Send the function's stdout/stderr and stream logging to `log_stream` (CloudWatch's role);
        with concurrent invocations, the first to start redirects and the last to end restores."""
        if self.log_stream is None:
            yield
            return
        with self._output_lock:
            self._output_users += 1
            if self._output_users == 1:
                self._output_restore = contextlib.ExitStack()
                self._output_restore.enter_context(self._redirect_output())
        try:
            yield
        finally:
            with self._output_lock:
                self._output_users -= 1
                if self._output_users == 0 and self._output_restore is not None:
                    self._output_restore.close()
                    self._output_restore = None

    @contextlib.contextmanager
    def _redirect_output(self) -> Iterator[None]:
        assert self.log_stream is not None
        console = {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}
        swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
        loggers = [
            logging.getLogger(),
            *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict)),
        ]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                if type(handler) is logging.StreamHandler and handler.stream in console:
                    swapped.append((handler, handler.setStream(self.log_stream)))
        try:
            with contextlib.redirect_stdout(self.log_stream), contextlib.redirect_stderr(self.log_stream):
                yield
        finally:
            for handler, stream in swapped:
                handler.setStream(stream)
            self.log_stream.flush()
