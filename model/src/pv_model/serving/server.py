"""Local endpoint server: the SageMaker runtime route over the same handler as `code/inference.py`.

`POST /endpoints/<name>/invocations` (what `sagemaker-runtime` InvokeEndpoint calls, so
`boto3.client("sagemaker-runtime", endpoint_url=url)` works unchanged) and the container routes
`POST /invocations` and `GET /ping`. The model is loaded once; concurrent requests are queued and
a single worker scores everything queued so far as one length-sorted batch (micro-batching), so
throughput rises with concurrency without adding latency to a lone request.

Errors mirror SageMaker's `ModelError`: the status (400 bad payload, 415/406 content negotiation,
413 body too large, 500 model failure) with a JSON body carrying `message`, `OriginalStatusCode`
and `OriginalMessage`. Successful responses carry the model version in
`X-Amzn-Invoked-Production-Variant`, which boto3 returns as `InvokedProductionVariant`.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from pv_model.serving.code import inference, ner_inference

logger = logging.getLogger("pv_model.serving")

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time inference's payload limit
INVOCATION_PATH = re.compile(r"^/(?:endpoints/(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))/)?invocations$")


Bundle = inference.ModelBundle | ner_inference.NerBundle


def handler_for(model_dir: str | Path) -> ModuleType:
    """The handler of a model folder: the extractor's for `*ForTokenClassification`, else the classifier's."""
    return ner_inference if ner_inference.is_extractor(model_dir) else inference


class MicroBatcher:
    """One worker thread that scores queued requests together through the handler's `predict_fn`."""

    def __init__(self, bundle: Bundle, max_batch: int = 256, handler: ModuleType = inference) -> None:
        self.bundle = bundle
        self.handler = handler
        self.max_batch = max_batch
        self.batches = 0  # model calls made, for tests and stats
        self._queue: queue.Queue[tuple[list[str], Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="pv-model-batcher", daemon=True)
        self._thread.start()

    def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        """Predictions for `texts`, in order (blocks until the worker has scored them)."""
        if not texts:
            return []
        future: Future = Future()
        self._queue.put((texts, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            pending = [item]
            size = len(item[0])
            # Take whatever arrived while the previous batch ran; never wait for more.
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
            self._score(pending)

    def _score(self, pending: list[tuple[list[str], Future]]) -> None:
        texts = [text for request_texts, _ in pending for text in request_texts]
        try:
            predictions = self.handler.predict_fn(texts, self.bundle)
        except Exception as error:
            for _, future in pending:
                future.set_exception(error)
            return
        self.batches += 1
        start = 0
        for request_texts, future in pending:
            future.set_result(predictions[start : start + len(request_texts)])
            start += len(request_texts)


class EndpointServer(ThreadingHTTPServer):
    """A threading HTTP server holding one loaded model and its micro-batcher."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], bundle: Bundle, max_batch: int = 256, handler: ModuleType = inference
    ) -> None:
        super().__init__(address, _Handler)
        self.bundle = bundle
        self.batcher = MicroBatcher(bundle, max_batch=max_batch, handler=handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        """Stop serving, close the socket and the batch worker."""
        self.shutdown()
        self.server_close()
        self.batcher.close()


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/ping":
            self._send(200, {"status": "healthy", "model_version": self.server.bundle.version})
        else:
            self._send_error(404, f"no route GET {self.path.split('?')[0]}")

    def do_POST(self) -> None:
        started = time.perf_counter()
        match = INVOCATION_PATH.match(self.path.split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        if match is None:
            self._discard(length)
            self._send_error(404, f"no route POST {self.path.split('?')[0]}")
            return
        endpoint = match.group("name") or "local"
        status, inputs, body = self._invoke(length)
        latency_ms = (time.perf_counter() - started) * 1000
        # Logged before the answer goes out, so a caller never sees a response without its log line.
        logger.info(
            "invocation endpoint=%s status=%d inputs=%d latency_ms=%.1f", endpoint, status, inputs, latency_ms
        )
        if status == 200:
            self._send_raw(200, body, {"X-Amzn-Invoked-Production-Variant": self.server.bundle.version})
        else:
            self._send_error(status, body.decode())

    def _invoke(self, length: int) -> tuple[int, int, bytes]:
        """(status, number of inputs, response body or error message) for one invocation."""
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return 413, 0, f"request body of {length} bytes exceeds {MAX_BODY_BYTES}".encode()
        inputs = 0
        try:
            texts = inference.input_fn(self.rfile.read(length), self.headers.get("Content-Type"))
            inputs = len(texts)
            response = inference.output_fn(self.server.batcher.submit(texts), self.headers.get("Accept"))
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


def make_server(
    model_dir: str | Path,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    backend: str = "torch",
    max_batch: int = 256,
) -> EndpointServer:
    """Load the model once and bind a server (not yet serving) to `host:port` (0 = any free port).

    The handler follows the folder's config: an extractor (`*ForTokenClassification`) is served
    by `ner_inference`, anything else by the classifier's `inference`.
    """
    handler = handler_for(model_dir)
    bundle = handler.load_model(model_dir, backend=backend)
    server = EndpointServer((host, port), bundle, max_batch=max_batch, handler=handler)
    logger.info("model loaded version=%s backend=%s url=%s", bundle.version, backend, server.url)
    return server


def start_server(
    model_dir: str | Path,
    port: int = 0,
    backend: str = "torch",
    host: str = "127.0.0.1",
    max_batch: int = 256,
) -> tuple[EndpointServer, str]:
    """Serve `model_dir` from a background thread; returns the server (call `.stop()`) and its URL."""
    server = make_server(model_dir, port=port, host=host, backend=backend, max_batch=max_batch)
    thread = threading.Thread(target=server.serve_forever, name="pv-model-endpoint", daemon=True)
    thread.start()
    return server, server.url
