"""Local endpoint server: the SageMaker runtime route over the same handlers as `code/`.

`POST /endpoints/<name>/invocations` (what `sagemaker-runtime` InvokeEndpoint calls, so
`boto3.client("sagemaker-runtime", endpoint_url=url)` works unchanged) and the container routes
`POST /invocations` and `GET /ping`. Each model is loaded once; concurrent requests are queued and
a free worker scores everything queued so far as one length-sorted batch (micro-batching, across
callers), so throughput rises with concurrency without adding latency to a lone request.

Workers suit CPU inference (`serving_plan`): an ONNX model gets one worker thread per usable core,
each running the one shared session with a single intra-op thread (ONNX Runtime releases the GIL
while it runs, so the workers score in parallel without barriers between cores, and the weights
are held once); a torch model gets one worker whose operators use every core.

One server holds one model folder, answering under any endpoint name (`start_server(dir)`), or
several, keyed by endpoint name (`start_server({"ae-classifier-local": dir1, ...})`): a request
for a name the server does not hold is answered as SageMaker answers for a missing endpoint (400,
`ValidationError`, "Endpoint <name> of account ... not found."). The container route
`/invocations` has no name: it serves the model of a one-model server and is refused with the same
400 `ValidationError` when the server holds several (a SageMaker container holds one model).

Model errors mirror SageMaker's `ModelError`: the status (400 bad payload, 415/406 content
negotiation, 413 body too large, 500 model failure) with a JSON body carrying `message`,
`OriginalStatusCode` and `OriginalMessage`. Successful responses carry the model version in
`X-Amzn-Invoked-Production-Variant`, which boto3 returns as `InvokedProductionVariant`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from pv_model.serving.code import embedder_inference, inference, ner_inference, summarizer_inference

logger = logging.getLogger("pv_model.serving")

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time inference's payload limit
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
ENDPOINT_NAME = re.compile(_NAME)
INVOCATION_PATH = re.compile(rf"^/(?:endpoints/(?P<name>{_NAME})/)?invocations$")
ANY_NAME = "*"  # the key of a one-model server's model that answers under every endpoint name
ACCOUNT_ID = "123456789012"  # named in "endpoint not found" (moto's default account, as locally)


Bundle = (
    inference.ModelBundle
    | ner_inference.NerBundle
    | summarizer_inference.SummarizerBundle
    | embedder_inference.EmbedderBundle
)

# The handler of a model folder, as SageMaker's entry point `code/inference.py` picks it: the
# extractor's for `*ForTokenClassification`, the summarizer's for a sequence-to-sequence model,
# else the classifier's.
handler_for = inference.handler_for


def usable_cpus() -> int:
    """Cores this process may run on (its affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def serving_plan(backend: str, workers: int | None = None) -> tuple[int, int | None]:
    """(worker threads, ONNX Runtime intra-op threads per worker) for a backend on this machine.

    ONNX: one single-threaded worker per core (or `workers`, sharing the cores between them);
    torch: one worker, its operators on every core (None: the backend's own default).
    """
    if backend == "torch":
        return 1, None
    count = workers or usable_cpus()
    return count, max(1, usable_cpus() // count)


class MicroBatcher:
    """Worker threads that score queued requests together through the handler's `predict_fn`."""

    def __init__(
        self, bundle: Bundle, max_batch: int = 256, handler: ModuleType = inference, workers: int = 1
    ) -> None:
        self.bundle = bundle
        self.handler = handler
        self.max_batch = max_batch
        self.workers = workers
        self.batches = 0  # model calls made, for tests and stats
        self._count_lock = threading.Lock()
        self._take_lock = threading.Lock()  # one worker drains the queue at a time
        self._queue: queue.Queue[tuple[list[str], Future] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"pv-model-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        """Predictions for `texts`, in order (blocks until the worker has scored them)."""
        if not texts:
            return []
        future: Future = Future()
        self._queue.put((texts, future))
        return future.result()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            pending = self._take()
            if pending is None:
                return
            self._score(pending)

    def _take(self) -> list[tuple[list[str], Future]] | None:
        """The next request and whatever else is queued (up to `max_batch` texts); never waits
        for more. None: the batcher is closing."""
        item = self._queue.get()
        if item is None:
            return None
        pending = [item]
        size = len(item[0])
        with self._take_lock:
            while size < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                pending.append(nxt)
                size += len(nxt[0])
        return pending

    def _score(self, pending: list[tuple[list[str], Future]]) -> None:
        texts = [text for request_texts, _ in pending for text in request_texts]
        try:
            predictions = self.handler.predict_fn(texts, self.bundle)
        except Exception as error:
            for _, future in pending:
                future.set_exception(error)
            return
        with self._count_lock:
            self.batches += 1
        start = 0
        for request_texts, future in pending:
            future.set_result(predictions[start : start + len(request_texts)])
            start += len(request_texts)


@dataclass
class ServedModel:
    """One loaded model behind the server: its handler, bundle and micro-batcher."""

    model_dir: Path
    handler: ModuleType
    bundle: Bundle
    batcher: MicroBatcher
    backend: str = "torch"
    invocations: int = 0  # requests routed to this model (any outcome), for tests and stats
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def version(self) -> str:
        return self.bundle.version

    def count_invocation(self) -> None:
        with self._lock:
            self.invocations += 1


class EndpointNotFound(Exception):
    """No model of this server answers to the requested endpoint name (SageMaker: ValidationError)."""


class EndpointServer(ThreadingHTTPServer):
    """A threading HTTP server holding loaded models keyed by endpoint name.

    A server made with `any_name` holds one model and answers under every endpoint name
    (its one entry is keyed `ANY_NAME`); otherwise a request must name a model it holds.
    """

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], models: Mapping[str, ServedModel], *, any_name: bool = False
    ) -> None:
        if not models:
            raise ValueError("an endpoint server needs at least one model")
        if any_name and len(models) != 1:
            raise ValueError("only a one-model server answers under any endpoint name")
        super().__init__(address, _Handler)
        self.models = dict(models)
        self.any_name = any_name
        self._serving: threading.Thread | None = None

    def route(self, name: str | None) -> ServedModel:
        """The model that answers endpoint `name` (None: the container route `/invocations`)."""
        if len(self.models) == 1 and (name is None or self.any_name):
            return next(iter(self.models.values()))
        if name is None:
            raise EndpointNotFound(
                f"this server holds several models ({', '.join(self.models)}): "
                "call /endpoints/<name>/invocations"
            )
        if name not in self.models:
            raise EndpointNotFound(
                f"Endpoint {name} of account {ACCOUNT_ID} not found. "
                f"This local server serves: {', '.join(self.models)}."
            )
        return self.models[name]

    @property
    def only(self) -> ServedModel:
        """The model of a one-model server."""
        if len(self.models) != 1:
            raise RuntimeError(
                f"this server holds several models ({', '.join(self.models)}): use .models[name]"
            )
        return next(iter(self.models.values()))

    @property
    def bundle(self) -> Bundle:
        return self.only.bundle

    @property
    def batcher(self) -> MicroBatcher:
        return self.only.batcher

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Close the socket and every batch worker, and let go of the models (after `serve_forever`).

        The models are dropped here, in the caller's thread: a handler thread of a keep-alive
        connection outlives the server, and if it held the last reference, the models' tensors
        would be freed by a daemon thread while the interpreter exits, which aborts the process.
        """
        self.server_close()
        for served in self.models.values():
            served.batcher.close()
        self.models = {}

    def serve_in_background(self) -> None:
        """`serve_forever` in a daemon thread that `stop` joins."""
        self._serving = threading.Thread(target=self.serve_forever, name="pv-model-endpoint", daemon=True)
        self._serving.start()

    def stop(self) -> None:
        """Stop serving (from another thread than `serve_forever`'s), then `close`."""
        self.shutdown()
        if self._serving is not None:
            self._serving.join(timeout=10)
            self._serving = None
        self.close()


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/ping":
            self._send_error(404, f"no route GET {self.path.split('?')[0]}")
        elif len(self.server.models) == 1:
            self._send(200, {"status": "healthy", "model_version": self.server.only.version})
        else:
            models = {name: served.version for name, served in self.server.models.items()}
            self._send(200, {"status": "healthy", "models": models})

    def do_POST(self) -> None:
        started = time.perf_counter()
        match = INVOCATION_PATH.match(self.path.split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        if match is None:
            self._discard(length)
            self._send_error(404, f"no route POST {self.path.split('?')[0]}")
            return
        name = match.group("name")
        try:
            served = self.server.route(name)
        except EndpointNotFound as error:
            self._discard(length)
            self._log(name, 400, 0, started)
            self._send(400, {"message": str(error)}, {"x-amzn-ErrorType": "ValidationError"})
            return
        served.count_invocation()
        status, inputs, body = self._invoke(served, length)
        self._log(name, status, inputs, started)
        if status == 200:
            self._send_raw(200, body, {"X-Amzn-Invoked-Production-Variant": served.version})
        else:
            self._send_error(status, body.decode())

    def _log(self, name: str | None, status: int, inputs: int, started: float) -> None:
        # Logged before the answer goes out, so a caller never sees a response without its log line.
        latency_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "invocation endpoint=%s status=%d inputs=%d latency_ms=%.1f",
            name or "local",
            status,
            inputs,
            latency_ms,
        )

    def _invoke(self, served: ServedModel, length: int) -> tuple[int, int, bytes]:
        """(status, number of inputs, response body or error message) for one invocation."""
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return 413, 0, f"request body of {length} bytes exceeds {MAX_BODY_BYTES}".encode()
        inputs = 0
        try:
            texts = served.handler.input_fn(self.rfile.read(length), self.headers.get("Content-Type"))
            inputs = len(texts)
            response = served.handler.output_fn(served.batcher.submit(texts), self.headers.get("Accept"))
        except inference.InferenceError as error:
            return error.status, inputs, error.message.encode()
        except Exception as error:  # a model bug must answer 500, not drop the connection
            logger.exception("invocation failed")
            return 500, inputs, f"model error: {type(error).__name__}".encode()
        return 200, inputs, response.encode()

    def _discard(self, length: int) -> None:
        # Drain the body so the client reads our answer instead of a broken pipe; give up on
        # absurd sizes and close the connection.
        if length > 8 * MAX_BODY_BYTES:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _send_error(self, status: int, message: str) -> None:
        body = {"ErrorCode": "MODEL_ERROR", "message": message, "OriginalStatusCode": status}
        body["OriginalMessage"] = message
        self._send(status, body, {"x-amzn-ErrorType": "ModelError"})

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers or {})

    def _send_raw(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", inference.JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib access log would go to stderr unstructured; `_log` records what matters.
        return


def load_served(
    model_dir: str | Path, *, backend: str = "torch", max_batch: int = 256, workers: int | None = None
) -> ServedModel:
    """Load one model folder with its handler (`handler_for`: classifier, extractor or summarizer),
    with the workers and threads `serving_plan` gives its backend."""
    handler = handler_for(model_dir)
    count, threads = serving_plan(backend, workers)
    if threads is None:
        bundle = handler.load_model(model_dir, backend=backend)
    else:
        bundle = handler.load_model(model_dir, backend=backend, threads=threads)
    return ServedModel(
        model_dir=Path(model_dir),
        handler=handler,
        bundle=bundle,
        batcher=MicroBatcher(bundle, max_batch=max_batch, handler=handler, workers=count),
        backend=backend,
    )


def make_server(
    models: str | Path | Mapping[str, str | Path],
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    backend: str | Mapping[str, str] = "torch",
    max_batch: int = 256,
    workers: int | None = None,
) -> EndpointServer:
    """Load the models once and bind a server (not yet serving) to `host:port` (0 = any free port).

    `models`: one folder, served under any endpoint name, or endpoint name -> folder, each served
    under its name only. `backend`: one for every model, or endpoint name -> backend (names left
    out: torch; the extractor and the summarizer serve with torch only). The handler follows each
    folder's config: an extractor (`*ForTokenClassification`) is served by `ner_inference`, a
    summarizer (`EncoderDecoderModel`, `*ForConditionalGeneration`) by `summarizer_inference`,
    anything else by the classifier's `inference`. `workers`: worker threads per ONNX model
    (default: one per usable core; see `serving_plan`).
    """
    any_name = not isinstance(models, Mapping)
    folders = {ANY_NAME: models} if not isinstance(models, Mapping) else dict(models)
    bad = [name for name in folders if not any_name and not ENDPOINT_NAME.fullmatch(name)]
    if bad:
        raise ValueError(f"not SageMaker endpoint names: {bad}")
    backends = {name: backend for name in folders} if isinstance(backend, str) else dict(backend)
    unknown = sorted(set(backends) - set(folders))
    if unknown:
        raise ValueError(f"backends given for endpoints this server does not hold: {unknown}")
    served: dict[str, ServedModel] = {}
    try:
        for name, folder in folders.items():
            served[name] = load_served(
                folder, backend=backends.get(name, "torch"), max_batch=max_batch, workers=workers
            )
        server = EndpointServer((host, port), served, any_name=any_name)
    except BaseException:
        for loaded in served.values():
            loaded.batcher.close()
        raise
    for name, loaded in served.items():
        logger.info(
            "model loaded endpoint=%s version=%s backend=%s workers=%d url=%s",
            name,
            loaded.version,
            loaded.backend,
            loaded.batcher.workers,
            server.url,
        )
    return server


def start_server(
    models: str | Path | Mapping[str, str | Path],
    port: int = 0,
    backend: str | Mapping[str, str] = "torch",
    host: str = "127.0.0.1",
    max_batch: int = 256,
    workers: int | None = None,
) -> tuple[EndpointServer, str]:
    """Serve `models` (see `make_server`) from a background thread; the server (call `.stop()`) and URL."""
    server = make_server(models, port=port, host=host, backend=backend, max_batch=max_batch, workers=workers)
    server.serve_in_background()
    return server, server.url
