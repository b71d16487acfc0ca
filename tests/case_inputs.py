"""What case-intelligence tests hand to `assess_case`: a document of one text, as a channel parser
makes it, and an extractor endpoint double that tags the words it is told."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pv.models import Channel, SourceDocument, TextUnit

# Per channel: the text unit's kind, the source key and the reporter's metadata of a document.
_CHANNELS = {
    Channel.EMAIL: ("body", "email/case.txt", {"from": "Jane Doe <jane.doe@example.com>"}),
    Channel.SOCIAL: ("post", "social/feed.jsonl#1", {"author": "pat_k"}),
}


def document(
    text: str, channel: Channel = Channel.EMAIL, *, metadata: dict[str, str] | None = None
) -> SourceDocument:
    """`text` as the one text unit of a document: an email body from Jane Doe, or a social post by
    pat_k; `metadata` replaces the reporter's."""
    kind, source_key, reporter = _CHANNELS[channel]
    return SourceDocument(
        document_id="d" * 64,
        channel=channel,
        source_key=source_key,
        received_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        units=[TextUnit(kind=kind, text=text)],
        metadata=dict(reporter if metadata is None else metadata),
    )


class ExtractorDouble:
    """An extractor endpoint double that follows the contract (one entity list per input): it tags
    every occurrence of each `(type, text)` it was given, in any sentence, with score 0.9, and keeps
    the requests it was sent."""

    def __init__(self, tags: list[tuple[str, str]]) -> None:
        self.tags = tags
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> list[list[dict[str, Any]]]:
        self.requests.append(request)
        return [
            [
                {"type": kind, "text": text, "start": m.start(), "end": m.end(), "score": 0.9}
                for kind, text in self.tags
                for m in re.finditer(re.escape(text), sentence)
            ]
            for sentence in request["inputs"]
        ]
