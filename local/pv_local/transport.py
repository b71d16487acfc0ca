"""In-process calls to the local moto server: this process's boto3 requests skip HTTP.

The local stack's functions run in this process beside moto, so each AWS call they make over
HTTP to the moto server costs a new TCP connection (moto's werkzeug server closes every
connection), a request parse and a handoff to a server thread, on the same cores, for each of a
document's dozen calls. `InProcessMoto` answers those requests on botocore's `before-send` event
instead: the signed request botocore built goes straight into the same WSGI application the moto
server runs (same routing, same URLs, same backends and state), and its response comes back as
the one botocore would have read from the socket. Only requests for the moto server's own
`host:port` are answered; anything else (the model endpoint, real AWS) goes out as before, and
other processes (a user's scripts, `stack.json`) still reach moto over HTTP.

It also counts what it answered (`calls`) and the time spent in moto per thread, so the pump can
tell a function's own CPU from the emulator's (`thread_seconds`).
"""

from __future__ import annotations

import io
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

_EVENT = "before-send"
_UNIQUE_ID = "pv-local-in-process-moto"


class _RawBody(io.BytesIO):
    """A response body botocore can read whole or stream (what urllib3 would give it)."""

    def stream(self, amt: int | None = 1024 * 1024, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


class InProcessMoto:
    """Answers this process's boto3 requests for the moto server at `netloc` from its WSGI app."""

    def __init__(self, app: Any, netloc: str) -> None:
        self.app = app  # moto's DomainDispatcherApplication (the one the server runs)
        self.netloc = netloc  # "127.0.0.1:PORT"
        self.calls: Counter[str] = Counter()  # "service.Operation" -> requests answered
        self.seconds: dict[str, float] = {}  # "service.Operation" -> wall seconds inside moto
        self._lock = threading.Lock()
        self._local = threading.local()
        self._apps: dict[str, Any] = {}  # botocore service id -> moto's app for that service

    # botocore's hook ----------------------------------------------------------------------

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        parsed = urllib.parse.urlsplit(request.url)
        if parsed.netloc != self.netloc:
            return None
        operation = _operation(kwargs)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            status, headers, body = self._dispatch(request, parsed, operation.partition(".")[0])
        finally:
            local, wall = self._local, time.perf_counter() - wall
            local.wall = getattr(local, "wall", 0.0) + wall
            local.cpu = getattr(local, "cpu", 0.0) + time.thread_time() - cpu
            with self._lock:
                self.calls[operation] += 1
                self.seconds[operation] = self.seconds.get(operation, 0.0) + wall
        return AWSResponse(request.url, status, headers, _RawBody(body))  # type: ignore[arg-type]

    def _dispatch(
        self, request: AWSPreparedRequest, parsed: urllib.parse.SplitResult, service: str
    ) -> tuple[int, dict[str, str], bytes]:
        from moto.core.request import (
            PRESERVED_HEADER_NAMES_ENVIRON_KEY,
            environ_key_for_header,
            should_preserve_original_header_name,
        )
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        headers.setdefault("Host", self.netloc)
        host, _, port = self.netloc.partition(":")
        builder = EnvironBuilder(
            method=request.method,
            path=urllib.parse.unquote(parsed.path) or "/",
            query_string=parsed.query,
            headers=headers,
            data=body or b"",
            base_url=f"{parsed.scheme}://{self.netloc}/",
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["RAW_URI"] = environ["REQUEST_URI"] = parsed.path + (
            f"?{parsed.query}" if parsed.query else ""
        )
        environ["SERVER_NAME"], environ["SERVER_PORT"] = host, port or "80"
        # As moto's request handler does: S3 metadata keys keep their underscores.
        preserved: dict[str, str] = {}
        for name, value in headers.items():
            if should_preserve_original_header_name(name):
                key = environ_key_for_header(name)
                preserved.setdefault(key, name)
                environ[key] = value
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
        # The dispatcher finds a request's service by inferring it from headers and listing moto's
        # modules on disk, each time; here the service is known, so its app is looked up once.
        app = self._apps.get(service)
        if app is None:
            app = self._apps.setdefault(service, self.app.get_application(environ))
        iterable, status, response_headers = run_wsgi_app(app, environ, buffered=True)
        try:
            content = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return int(status.split(" ", 1)[0]), dict(response_headers.items()), content

    # accounting ---------------------------------------------------------------------------

    def thread_seconds(self) -> tuple[float, float]:
        """(wall, CPU) seconds this thread has spent inside moto through this transport."""
        return getattr(self._local, "wall", 0.0), getattr(self._local, "cpu", 0.0)

    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    # installation -------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[InProcessMoto]:
        """Answer requests in process for every boto3 session made while installed, and the
        default session if there is one already."""
        entry = (_EVENT, self)
        BUILTIN_HANDLERS.append(entry)
        default = boto3.DEFAULT_SESSION
        if default is not None:
            default._session.get_component("event_emitter").register_first(_EVENT, self, unique_id=_UNIQUE_ID)
        try:
            yield self
        finally:
            BUILTIN_HANDLERS.remove(entry)
            if default is not None:
                default._session.get_component("event_emitter").unregister(_EVENT, unique_id=_UNIQUE_ID)


def _operation(kwargs: dict[str, Any]) -> str:
    """`before-send.sqs.ReceiveMessage` -> `sqs.ReceiveMessage`."""
    return str(kwargs.get("event_name", "")).partition(".")[2]
