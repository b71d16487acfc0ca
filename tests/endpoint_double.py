"""A test double of the classifier endpoint that speaks the SageMaker runtime contract over HTTP.

It scores a sentence as an adverse event when it holds one of a few reaction words, so tests can
predict the verdicts; faults (throttling, 5xx, malformed or short answers, slowness) are scripted.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AE_WORDS = re.compile(
    r"\b(rash|hives|hospitali[sz]ed|bleed\w*|dizz\w*|faint\w*|vomit\w*|nause\w*|ache\w*|"
    r"swell\w*|seizure\w*|died|palpitations|itch\w*|headaches?)\b",
    re.IGNORECASE,
)


@dataclass
class Fault:
    """One scripted answer instead of a real one."""

    status: int = 500
    body: str = '{"error": "injected"}'
    delay_s: float = 0.0
    code: str | None = None  # x-amzn-ErrorType, e.g. "ThrottlingException"


@dataclass
class EndpointDouble:
    faults: deque[Fault] = field(default_factory=deque)
    always: Fault | None = None
    calls: int = 0
    inputs: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A request holding a sentence that matches is answered 500, as a model container that
    # chokes on some text answers (SageMaker's ModelError); `refused` counts those answers.
    refuses: re.Pattern[str] | None = None
    refused: int = 0
    # While `gate` is clear, requests wait for it (`held` counts the requests waiting).
    gate: threading.Event | None = None
    held: int = 0

    @staticmethod
    def score(sentence: str) -> dict[str, float | str]:
        if AE_WORDS.search(sentence):
            return {"label": "Adverse_Event", "score": 0.96}
        return {"label": "Not_AE", "score": 0.93}

    def next_fault(self) -> Fault | None:
        with self.lock:
            self.calls += 1
            if self.faults:
                return self.faults.popleft()
            return self.always


def start(double: EndpointDouble) -> tuple[ThreadingHTTPServer, str]:
    """Serve the double on 127.0.0.1 and a free port; returns the server and its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length))
            fault = double.next_fault()
            if fault is not None:
                time.sleep(fault.delay_s)
                self._reply(fault.status, fault.body.encode(), fault.code)
                return
            if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
                self._reply(400, b'{"message": "inputs must be a list"}', None)
                return
            if double.gate is not None and not double.gate.is_set():
                with double.lock:
                    double.held += 1
                double.gate.wait()
            if double.refuses is not None and any(
                isinstance(s, str) and double.refuses.search(s) for s in payload["inputs"]
            ):
                with double.lock:
                    double.refused += 1
                self._reply(500, b'{"message": "model failed on this input"}', None)
                return
            with double.lock:
                double.inputs.append(payload["inputs"])
            body = json.dumps([double.score(s) for s in payload["inputs"]]).encode()
            self._reply(200, body, None)

        def _reply(self, status: int, body: bytes, code: str | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Amzn-Invoked-Production-Variant", "double-v1")
            if code:
                self.send_header("x-amzn-ErrorType", code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
