"""`pv local up --watch DIR`: upload files as they appear under DIR/email|call|social, pump, report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from pv_local.stack import LocalStack, ReceivedAlert

CHANNEL_DIRS = ("email", "call", "social")


class FolderWatcher:
    """Finds new or changed files under the channel folders, once their size has settled."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._uploaded: dict[Path, tuple[float, int]] = {}
        self._seen: dict[Path, tuple[float, int]] = {}

    def ready(self) -> list[tuple[str, Path]]:
        """(key, path) of files to upload now: new or changed, and unchanged since the last look."""
        found = []
        for channel in CHANNEL_DIRS:
            folder = self.root / channel
            if not folder.is_dir():
                continue
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                signature = (stat.st_mtime, stat.st_size)
                previous = self._seen.get(path)
                self._seen[path] = signature
                # A file still being copied changes between looks: wait until it holds still.
                if previous == signature and self._uploaded.get(path) != signature:
                    self._uploaded[path] = signature
                    found.append((path.relative_to(self.root).as_posix(), path))
        return found


def watch(
    stack: LocalStack,
    root: Path,
    stop: threading.Event,
    *,
    on_upload: Callable[[str], None] = lambda key: None,
    on_alert: Callable[[ReceivedAlert], None] = lambda alert: None,
    interval_s: float = 0.5,
) -> None:
    """Until `stop` is set: upload settled files, deliver queued messages, report new alerts."""
    for channel in CHANNEL_DIRS:
        (root / channel).mkdir(parents=True, exist_ok=True)
    watcher = FolderWatcher(root)
    while not stop.is_set():
        for key, path in watcher.ready():
            stack.upload(key, path.read_bytes())
            on_upload(key)
        delivered = stack.pump.poll_once()
        for alert in stack.new_alerts():
            on_alert(alert)
        if delivered == 0:
            stop.wait(interval_s)
