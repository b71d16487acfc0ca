"""`pv local up` as a user starts it, in a folder of its own, driven through the stack.json it
writes: the review API with the development users' tokens, files dropped into the watched folder."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

WATCHED = "in"


@dataclass
class Answer:
    status: int
    body: Any
    text: str


def request(url: str, method: str = "GET", token: str | None = None, body: Any = None) -> Answer:
    """An HTTP request with a bearer token (none when None) and a JSON body; any status answers."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method, headers=headers), timeout=60
        ) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return Answer(status, parsed, text)


@dataclass
class LocalUp:
    work: Path
    stack: dict[str, Any]  # stack.json
    log: Path

    @property
    def stack_file(self) -> Path:
        return self.work / ".artifacts" / "local" / "stack.json"

    def call(self, method: str, path: str, body: Any = None, role: str = "reviewer") -> Answer:
        """A request to the review API with `role`'s token."""
        return request(self.stack["review_url"] + path, method, self.stack["tokens"][role], body)

    def client(self, service: str) -> Any:
        """A boto3 client of the stack's moto endpoint."""
        return boto3.client(
            service,
            endpoint_url=self.stack["endpoint_url"],
            region_name=self.stack["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def get(self, path: str, role: str = "reviewer") -> Any:
        answer = self.call("GET", path, role=role)
        assert answer.status == 200, answer.text
        return answer.body

    def drop(self, key: str, body: bytes) -> None:
        """Copy a file into the watched folder (`email/x.eml`), as a user would."""
        path = self.work / WATCHED / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    def until(self, condition: Callable[[], Any], timeout_s: float = 240.0) -> Any:
        """Poll until `condition()` is truthy; its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = condition()
            if value:
                return value
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.5)


@contextlib.contextmanager
def local_up(work: Path, endpoint_url: str, *options: str, timeout_s: float = 300.0) -> Iterator[LocalUp]:
    """`pv local up --watch in --endpoint-url URL [options]` in `work`, until its stack.json
    answers; stopped with Ctrl-C (SIGINT) afterwards."""
    (work / WATCHED).mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pv_local.cli",
        "local",
        "up",
        "--watch",
        WATCHED,
        "--endpoint-url",
        endpoint_url,
        *options,
    ]
    log_path = work / "pv-local-up.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    stack_file = work / ".artifacts" / "local" / "stack.json"
    try:
        deadline = time.monotonic() + timeout_s
        stack = None
        while stack is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            if stack_file.is_file():
                with contextlib.suppress(ValueError):
                    stack = json.loads(stack_file.read_text())
        assert process.poll() is None and stack is not None, log_path.read_text()[-3000:]
        yield LocalUp(work, stack, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
