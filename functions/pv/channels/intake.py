"""One entry point for an S3 object: pick the channel by key prefix, guard, parse, quarantine.

Each channel's parser is imported with the first object of its channel, not with this module: a
cold ScreenFunction loads the email parser (and the stdlib's email policy machinery) only when an
email arrives, the social one (its pydantic post model) only for a social file or post.
"""

from __future__ import annotations

from datetime import datetime

from pv.channels.base import MAX_POSTS_PER_FILE, ParseError, Reason, decode_text, looks_binary
from pv.models import Channel, Quarantined, SourceDocument, TextUnit, document_id_for

ParsedObject = SourceDocument | Quarantined

# Plain-text transcripts exported by older call-centre tools come in windows-1252.
_TEXT_FALLBACKS = ("cp1252",)


def channel_for(key: str) -> Channel | None:
    """The channel a key's prefix names, or None."""
    prefix = key.split("/", 1)[0] if "/" in key else ""
    try:
        return Channel(prefix)
    except ValueError:
        return None


def parse_object(
    key: str, body: bytes, received_at: datetime, max_bytes: int, max_posts: int = MAX_POSTS_PER_FILE
) -> list[ParsedObject]:
    """Parse one S3 object (key already URL-decoded) into documents or quarantine records.

    Never raises for bad input: every outcome is a SourceDocument or a Quarantined with a reason.
    A social JSON Lines file gives one entry per post (bad lines quarantined on their own).
    """
    document_id = document_id_for(body)
    channel = channel_for(key)

    def quarantined(reason: str) -> list[ParsedObject]:
        return [
            Quarantined(
                source_key=key,
                document_id=document_id,
                channel=channel,
                reason=reason,
                received_at=received_at,
            )
        ]

    if channel is None:
        return quarantined(Reason.UNKNOWN_PREFIX)
    if not body:
        return quarantined(Reason.EMPTY)
    if len(body) > max_bytes:  # before any decoding: the limit bounds memory and time
        return quarantined(Reason.TOO_LARGE)
    if looks_binary(body):
        return quarantined(Reason.BINARY)
    try:
        if channel is Channel.SOCIAL:
            from pv.channels.social import parse_jsonl

            return list(parse_jsonl(key, body, received_at, max_posts))
        units, metadata, received_at = _parse_whole(channel, key, body, received_at)
    except ParseError as error:
        return quarantined(error.reason)
    if not any(unit.is_screened and unit.text.strip() for unit in units):
        return quarantined(Reason.NO_TEXT)
    document = SourceDocument(
        document_id=document_id,
        channel=channel,
        source_key=key,
        received_at=received_at,
        units=units,
        metadata=metadata,
        language=metadata.get("language_code"),  # as the channel declares it (Call Analytics)
    )
    return [document]


def _parse_whole(
    channel: Channel, key: str, body: bytes, received_at: datetime
) -> tuple[list[TextUnit], dict[str, str], datetime]:
    """Units, metadata and received time of an email or a call transcript."""
    if channel is Channel.EMAIL:
        from pv.channels.email import parse_email

        return parse_email(body, received_at)
    from pv.channels.call import parse_text_transcript, parse_transcribe_json

    if key.lower().endswith(".json"):
        text, _ = decode_text(body)
        units, metadata = parse_transcribe_json(text)
    else:
        text, encoding = decode_text(body, _TEXT_FALLBACKS)
        units, metadata = parse_text_transcript(text)
        metadata["encoding"] = encoding
    return units, metadata, received_at
