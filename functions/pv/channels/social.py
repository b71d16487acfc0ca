"""Social posts: JSON Lines files under social/ and single posts pushed to SocialQueue.

Post schema (one JSON object; unknown fields are ignored, the aliases cover the vendors' names):

    {
      "id": "1790012345",             # the platform's post id ("post_id" accepted); optional
      "text": "...",                  # the post ("body", "content" accepted); required, non-empty
      "author": "@handle",            # author handle ("author_handle", "user" accepted)
      "created_at": "2025-03-01T10:00:00Z",
      "platform": "x",                # x, reddit, facebook, forum, ...
      "language": "en",               # BCP 47 tag if the vendor knows it ("lang" accepted)
      "url": "https://...",
      "product": "Lipitor"            # what the feed collected the post for, or a review page's
                                      # product: a name or a list of names ("products" accepted)
    }

A post's product is the candidate suspect drug when its text names none ("2 weeks on this and my
legs ache" on Lipitor's review page); case intelligence records it as coming from the feed.

A post without an id gets a stable derived one (`derived-` + hash of platform, author,
created_at and text), so redelivery of the same post maps to the same document. A post's
document id is `post_document_id(post id, text)`, whether it came in a file or on the queue.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from pv.channels.base import MAX_POSTS_PER_FILE, ParseError, Reason, bom_encoding, decode_text, load_json
from pv.models import Channel, Quarantined, SourceDocument, TextUnit, document_id_for, post_document_id

QUEUE_FILE = "queue"  # the "file" part of the source key of posts pushed to SocialQueue


class SocialPost(BaseModel):
    """One social-media post as vendors deliver it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str | None = Field(default=None, validation_alias=AliasChoices("id", "post_id"))
    text: str = Field(validation_alias=AliasChoices("text", "body", "content"))
    author: str | None = Field(default=None, validation_alias=AliasChoices("author", "author_handle", "user"))
    created_at: str | None = None
    platform: str | None = None
    language: str | None = Field(default=None, validation_alias=AliasChoices("language", "lang"))
    url: str | None = None
    product: list[str] = Field(default_factory=list, validation_alias=AliasChoices("product", "products"))

    @field_validator("product", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # One name or a list of them; blanks and non-strings dropped, order kept, no repeats.
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return list(dict.fromkeys(n.strip() for n in names if isinstance(n, str) and n.strip()))

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Platforms use numeric ids; bool is an int subclass and no id.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    def post_id(self) -> str:
        """The post's id, or a stable one derived from its content when the vendor sent none."""
        if self.id and self.id.strip():
            return self.id.strip()
        seed = "\x1f".join((self.platform or "", self.author or "", self.created_at or "", self.text))
        return "derived-" + hashlib.sha256(seed.encode()).hexdigest()[:16]


def parse_post(payload: str) -> SocialPost:
    """Parse one post's JSON; raise ParseError (malformed_json, malformed_post, no_text)."""
    data = load_json(payload)
    if not isinstance(data, dict):
        raise ParseError(Reason.MALFORMED_POST)
    try:
        post = SocialPost.model_validate(data)
    except ValidationError as exc:
        raise ParseError(Reason.MALFORMED_POST) from exc
    if not post.text.strip():
        raise ParseError(Reason.NO_TEXT)
    return post


def post_document(post: SocialPost, file: str, received_at: datetime) -> SourceDocument:
    """A post as a SourceDocument with key social/<file>#<post id>."""
    post_id = post.post_id()
    metadata = {
        name: value
        for name, value in (
            ("post_id", post_id),
            ("author", post.author),
            ("created_at", post.created_at),
            ("platform", post.platform),
            ("url", post.url),
        )
        if value
    }
    return SourceDocument(
        document_id=post_document_id(post_id, post.text),
        channel=Channel.SOCIAL,
        source_key=f"social/{file}#{post_id}",
        received_at=received_at,
        units=[TextUnit(kind="post", text=post.text)],
        language=post.language,
        metadata=metadata,
        products=post.product,
    )


def parse_social_message(payload: str, received_at: datetime) -> SourceDocument | Quarantined:
    """One post pushed by a vendor to SocialQueue (the SQS message body)."""
    try:
        return post_document(parse_post(payload), QUEUE_FILE, received_at)
    except ParseError as error:
        digest = document_id_for(payload.encode("utf-8", "surrogatepass"))
        return Quarantined(
            source_key=f"social/{QUEUE_FILE}#message-{digest[:16]}",
            document_id=digest,
            channel=Channel.SOCIAL,
            reason=error.reason,
            received_at=received_at,
        )


def parse_jsonl(
    key: str, body: bytes, received_at: datetime, max_posts: int = MAX_POSTS_PER_FILE
) -> list[SourceDocument | Quarantined]:
    """Every post of a JSON Lines file; a bad line is quarantined on its own, blank lines skipped.

    Lines are decoded one by one (UTF-8, strict), so one wrongly encoded post does not take
    the file's other posts with it; a file with a UTF-16/32 byte-order mark is decoded whole.
    A bad line's document id hashes the file's key with the line, so the same broken line in
    two files is two records, and a redelivered file is the same one.

    The first `max_posts` non-blank lines are read (what one invocation can screen); the rest
    become one record, `post_limit`, keyed `social/<file>#lines-<first>-<last>` (split the file
    and send those lines again to have them screened).
    """
    file = key.removeprefix("social/")
    if bom_encoding(body):
        text, _ = decode_text(body)
        lines: list[bytes | str] = list(text.split("\n"))
    else:
        lines = list(body.split(b"\n"))
    results: list[SourceDocument | Quarantined] = []
    for number, raw in enumerate(lines, start=1):
        # Split on newlines only: str.splitlines() would also break on U+2028 and friends,
        # which JSON allows inside strings.
        line = raw.rstrip(b"\r") if isinstance(raw, bytes) else raw.rstrip("\r")
        if not line.strip():
            continue
        if len(results) == max_posts:
            results.append(_over_limit(key, file, lines, number, received_at))
            break
        try:
            text_line = decode_text(line)[0] if isinstance(line, bytes) else line
            results.append(post_document(parse_post(text_line), file, received_at))
        except ParseError as error:
            line_key = f"social/{file}#line-{number}"
            line_bytes = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
            results.append(
                Quarantined(
                    source_key=line_key,
                    document_id=document_id_for(line_key.encode() + b"\n" + line_bytes),
                    channel=Channel.SOCIAL,
                    reason=error.reason,
                    received_at=received_at,
                )
            )
    if not results:
        raise ParseError(Reason.NO_TEXT)
    return results


def _over_limit(
    key: str, file: str, lines: list[bytes | str], first: int, received_at: datetime
) -> Quarantined:
    """The lines of a file from `first` (1-based) on, not screened: one record that names them."""
    rest = lines[first - 1 :]
    last = first - 1 + max(i for i, line in enumerate(rest, start=1) if line.strip())
    tail = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in rest)
    return Quarantined(
        source_key=f"social/{file}#lines-{first}-{last}",
        document_id=document_id_for(key.encode() + b"\n" + tail),
        channel=Channel.SOCIAL,
        reason=Reason.POST_LIMIT,
        received_at=received_at,
    )
