"""`pv-model serve` in a process of its own, for benchmarks: its URL and its resident memory.

A served model measured inside the caller's process shares that process's interpreter lock and
memory with the caller (a benchmark client, the whole local stack); run apart, as on SageMaker,
its throughput is the server's own and its RSS is what an endpoint needs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

_SERVING = re.compile(r" at (http://[^/\s]+)/endpoints/")


class ServerProcess:
    """A model server started as `pv-model serve --port 0`; a context manager that stops it."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        backend: str = "onnx-int8",
        workers: int | None = None,
        log_path: str | Path | None = None,
        startup_timeout_s: float = 180.0,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.backend = backend
        self.workers = workers
        self.log_path = Path(log_path) if log_path is not None else None
        self.startup_timeout_s = startup_timeout_s
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server process is not running")
        return self._process.pid

    def start(self) -> str:
        """Start the server and wait until it prints its URL; returns the URL."""
        command = [sys.executable, "-m", "pv_model.cli", "serve", "--model", str(self.model_dir)]
        command += ["--backend", self.backend, "--port", "0"]
        if self.workers:
            command += ["--workers", str(self.workers)]
        log = self.log_path.open("w", encoding="utf-8") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ)
            )
        finally:
            if self.log_path:
                log.close()  # type: ignore[union-attr]
        found: list[str] = []
        stdout = self._process.stdout
        assert stdout is not None

        def read_url() -> None:
            for line in stdout:
                match = _SERVING.search(line)
                if match:
                    found.append(match.group(1))
                    return

        reader = threading.Thread(target=read_url, daemon=True)
        reader.start()
        reader.join(self.startup_timeout_s)
        if not found:
            self.stop()
            raise RuntimeError(f"pv-model serve did not start within {self.startup_timeout_s:.0f}s")
        self.url = found[0]
        return self.url

    def rss_mb(self) -> float | None:
        """Resident memory now, in MB (None where /proc is missing)."""
        return _proc_status_mb(self.pid, "VmRSS")

    def peak_rss_mb(self) -> float | None:
        """The most resident memory the process has held (its high-water mark), in MB."""
        return _proc_status_mb(self.pid, "VmHWM")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _proc_status_mb(pid: int, field: str) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else None
