"""S3 event notifications as S3 sends them, for moto (the local stack and the tests).

moto's notification records name the object's key, size and ETag only. S3 also sends the
object's `versionId` when the bucket is versioned (the template's intake bucket is) and a
`sequencer` that orders the events of one key. ScreenFunction reads the version an event names,
so a stand-in that leaves it out would hide an overwrite before screening. `install()` makes
moto's records carry both; it is idempotent and process-wide (moto's backends are too).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_installed = False
_lock = threading.Lock()
_sequence = itertools.count(1)


def install() -> None:
    """Make moto's S3 notification records carry `versionId` (versioned buckets) and `sequencer`."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.s3 import notifications

        original = notifications._get_s3_event

        def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
            event = original(event_name, bucket, key, notification_id)
            for record in event.get("Records", []):
                obj = record["s3"]["object"]
                if bucket.is_versioned and getattr(key, "version_id", "null") not in (None, "null"):
                    obj["versionId"] = key.version_id
                obj["sequencer"] = f"{next(_sequence):016X}"
            return event

        notifications._get_s3_event = s3_event
        _installed = True
