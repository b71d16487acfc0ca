"""Function containers: a queue-fed function in a process of its own, as Lambda runs it.

In-process, the local stack's functions share one interpreter with moto and the pump, so on a
2-core machine everything they compute (boto3's request building and parsing, the domain's
reading of each document, powertools) waits for the same GIL as moto's answers. A
`FunctionContainer` is one function's container instead: a child process (spawned, so it starts
cold, as a container does) that imports the handler once, with that function's environment only,
and runs one invocation at a time. The pump still receives each batch, builds the SQS event,
deletes what succeeded and returns what failed, exactly as before: only the handler call crosses
the process boundary.

Every AWS call the function makes to the local moto server is sent back over the container's pipe
to the pump's thread that invoked it, which answers it from moto in the stack's process
(`pv_local.transport.InProcessMoto`, the same state other processes reach over HTTP) while it
waits for the invocation to end; calls to anything else (the model endpoint) go out over HTTP
from the container, as they would from Lambda. So the function's own work runs on one core while
moto answers the other function's calls on the other, and what each invocation spent in moto is
still counted on the pump's thread (`PumpStats.emulator_*`); the CPU the handler itself used is
measured in the container and reported with its result (`remote_cpu_s`).
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from pv_local.transport import InProcessMoto, RawBody, request_parts

_START_TIMEOUT_S = 120.0  # a cold import on a slow, busy machine

StageDeltas = dict[str, tuple[float, int]]  # stage -> (seconds, calls) since the last result


class ContainerError(RuntimeError):
    """The function raised (its traceback, as the container printed it) or the container died."""


class _RelayedAws:
    """In the container: botocore's `before-send` hook that hands every request for the moto
    server at `netloc` to the stack's process over `conn` and returns its answer."""

    def __init__(self, conn: Any, netloc: str) -> None:
        self.conn = conn
        self.netloc = netloc

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        if urllib.parse.urlsplit(request.url).netloc != self.netloc:
            return None
        body, headers = request_parts(request)
        self.conn.send(("aws", request.method, request.url, headers, body, kwargs.get("event_name", "")))
        status, response_headers, content = self.conn.recv()
        return AWSResponse(request.url, status, response_headers, RawBody(content))  # type: ignore[arg-type]


class _RemoteContext:
    """The Lambda context inside the container: the pump's deadline (a monotonic clock is the
    same in every process of the machine)."""

    def __init__(self, fields: dict[str, Any], deadline: float) -> None:
        self.__dict__.update(fields)
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _has_fileno(stream: IO[str]) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


@contextlib.contextmanager
def _profiled(path: str) -> Iterator[None]:
    """A cProfile of the container's invocations, written to `path` (and `path`.txt) at its end."""
    import cProfile

    from pv_local.bench import write_profile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        write_profile(profiler, Path(path), Path(f"{path}.txt"))


def _serve(conn: Any) -> None:
    """The container's main loop (the child process): set up, import the handler, invoke."""
    _, handler_path, netloc, stage_resources, profile_path = conn.recv()
    from botocore.handlers import BUILTIN_HANDLERS

    BUILTIN_HANDLERS.append(("before-send", _RelayedAws(conn, netloc)))
    with contextlib.ExitStack() as stack:
        clock = None
        if stage_resources is not None:
            from pv_local.bench import StageClock

            clock = stack.enter_context(StageClock(stage_resources).installed())
        from pv_local.stack import import_handler

        try:
            handler = import_handler(handler_path)
        except BaseException:
            conn.send(("raised", traceback.format_exc(), 0.0, {}))
            return
        conn.send(("ready",))
        if profile_path:
            stack.enter_context(_profiled(profile_path))
        while True:
            message = conn.recv()
            if message[0] == "stop":
                return
            _, event, fields, deadline = message
            started = time.thread_time()
            try:
                response = handler(event, _RemoteContext(fields, deadline))
            except Exception:
                outcome: tuple[Any, ...] = ("raised", traceback.format_exc())
            else:
                outcome = ("result", response)
            sys.stdout.flush()
            sys.stderr.flush()
            deltas = clock.drain() if clock is not None else {}
            conn.send((*outcome, time.thread_time() - started, deltas))


class FunctionContainer:
    """One function's container (a child process), called like its handler by the pump."""

    def __init__(
        self,
        logical_id: str,
        handler_path: str,
        environ: dict[str, str],
        transport: InProcessMoto,
        log: IO[str] | None = None,
        stage_resources: dict[str, str] | None = None,
        profile_path: str | None = None,
    ) -> None:
        self.logical_id = logical_id
        self.handler_path = handler_path
        self.environ = environ
        self.transport = transport
        self.log = log  # the function log the container's output goes to (None: this console)
        self.stage_resources = stage_resources
        self.profile_path = profile_path  # a cProfile of its invocations, written when it stops
        self.stage_sink: Callable[[StageDeltas], None] | None = None
        self.invocations = 0
        self.relayed_calls = 0
        self._conn: Any = None
        self._process: Any = None
        self._local = threading.local()
        self._lock = threading.Lock()  # one invocation at a time, as in a container

    def start(self) -> FunctionContainer:
        """Start the process (`python -m pv_local.containers`, with the function's environment
        only) and wait for its handler's import: its cold start."""
        ours, theirs = socket.socketpair()
        # Where this process imports from (its own PYTHONPATH first, then its sys.path).
        paths = [p for p in self.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        paths += [p for p in sys.path if p and os.path.exists(p) and p not in paths]
        environ = {**self.environ, "PYTHONPATH": os.pathsep.join(paths)}
        output = self.log if self.log is not None and _has_fileno(self.log) else None
        if output is not None:
            output.flush()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pv_local.containers", str(theirs.fileno())],
                env=environ,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        self._conn = Connection(ours.detach())
        self._conn.send(
            ("setup", self.handler_path, self.transport.netloc, self.stage_resources, self.profile_path)
        )
        if not self._conn.poll(_START_TIMEOUT_S):
            self.stop()
            raise ContainerError(f"{self.logical_id}: its container did not start in {_START_TIMEOUT_S:.0f}s")
        message = self._receive()
        if message[0] != "ready":
            self.stop()
            raise ContainerError(f"{self.logical_id}: its handler did not import:\n{message[1]}")
        return self

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        fields = {
            k: getattr(context, k)
            for k in (
                "function_name",
                "function_version",
                "invoked_function_arn",
                "memory_limit_in_mb",
                "aws_request_id",
                "log_group_name",
                "log_stream_name",
            )
            if hasattr(context, k)
        }
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
        with self._lock:
            if self._conn is None:
                raise ContainerError(f"{self.logical_id}: its container is stopped")
            self.invocations += 1
            self._local.cpu_s = 0.0
            self._conn.send(("invoke", event, fields, deadline))
            while True:
                message = self._receive()
                if message[0] == "aws":
                    self._conn.send(self._answer(*message[1:]))
                    continue
                kind, value, cpu_s, deltas = message
                self._local.cpu_s = cpu_s
                if deltas and self.stage_sink is not None:
                    self.stage_sink(deltas)
                if kind == "raised":
                    raise ContainerError(f"{self.logical_id} raised in its container:\n{value}")
                return value

    def remote_cpu_s(self) -> float:
        """CPU seconds the handler used in the container, in this thread's last invocation."""
        return float(getattr(self._local, "cpu_s", 0.0))

    @property
    def pid(self) -> int | None:
        """The container process's id (None when it is not running)."""
        return self._process.pid if self._process is not None else None

    def _answer(
        self, method: str, url: str, headers: dict[str, str], body: bytes, event_name: str
    ) -> tuple[int, dict[str, str], bytes]:
        self.relayed_calls += 1
        request = AWSPreparedRequest(method, url, headers, body, stream_output=False)
        response = self.transport(request, event_name=event_name)
        if response is None:  # not the moto server's netloc: the container never sends those
            raise ContainerError(f"{self.logical_id}: relayed a call for {url}")
        return response.status_code, dict(response.headers.items()), response.raw.read()

    def _receive(self) -> Any:
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            code = self._process.poll() if self._process is not None else None
            self._conn = None
            raise ContainerError(f"{self.logical_id}: its container exited (code {code})") from exc

    def stop(self) -> None:
        """Ask the container to end and wait for it (killed if it does not)."""
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
            conn.close()
        if process is not None:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


class ContainerPool:
    """A function's containers, called like its handler: each invocation takes an idle one (the
    pump runs as many at once as there are, as Lambda runs concurrent invocations)."""

    def __init__(self, containers: list[FunctionContainer]) -> None:
        self.containers = containers
        self._idle: queue.SimpleQueue[FunctionContainer] = queue.SimpleQueue()
        for container in containers:
            self._idle.put(container)
        self._local = threading.local()

    @property
    def size(self) -> int:
        return len(self.containers)

    @property
    def stage_sink(self) -> Callable[[StageDeltas], None] | None:
        return self.containers[0].stage_sink if self.containers else None

    @stage_sink.setter
    def stage_sink(self, sink: Callable[[StageDeltas], None] | None) -> None:
        for container in self.containers:
            container.stage_sink = sink

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        container = self._idle.get()
        try:
            return container(event, context)
        finally:
            self._local.cpu_s = container.remote_cpu_s()
            self._idle.put(container)

    def remote_cpu_s(self) -> float:
        """CPU seconds the handler used, in this thread's last invocation (whichever container)."""
        return float(getattr(self._local, "cpu_s", 0.0))


@contextlib.contextmanager
def started(containers: list[FunctionContainer]) -> Iterator[list[FunctionContainer]]:
    """Start the containers side by side (their cold imports overlap) and stop them after."""
    errors: list[BaseException] = []

    def start(container: FunctionContainer) -> None:
        try:
            container.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(c,), daemon=True) for c in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if errors:
            raise errors[0]
        yield containers
    finally:
        for container in containers:
            container.stop()


if __name__ == "__main__":  # a container process: `python -m pv_local.containers FD`
    _serve(Connection(int(sys.argv[1])))
