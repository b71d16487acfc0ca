"""Pydantic models of intake and screening: what flows between parsers, screening and CaseQueue.

What case handling makes of a flagged document (facts, cases, alerts) is `pv.case_models`, off
ScreenFunction's import path: a cold screening container builds only the models it uses.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    """Where a document came from; also its S3 key prefix."""

    EMAIL = "email"
    CALL = "call"
    SOCIAL = "social"


UnitKind = Literal["subject", "body", "quoted", "signature", "turn", "post", "attachment"]


class TextUnit(BaseModel):
    """A piece of a document: an email body, a quoted reply, a speaker turn, a post, the text of
    an attached PDF."""

    model_config = ConfigDict(frozen=True)

    kind: UnitKind
    text: str
    speaker: str | None = None  # "caller" / "agent" / "unknown" in transcripts, None elsewhere

    @property
    def is_screened(self) -> bool:
        """Whether this unit is new text from the reporter (what the classifier sees).

        Quoted replies, signatures and the agent's own turns are kept but not screened:
        they repeat earlier text or are not the reporter speaking.
        """
        if self.kind in ("quoted", "signature"):
            return False
        return not (self.kind == "turn" and self.speaker == "agent")


class SourceDocument(BaseModel):
    """One document as received, parsed into text units. Holds personal data: never log it."""

    document_id: str = Field(description="sha256 of the bytes (a post: of channel id and text)")
    channel: Channel
    source_key: str = Field(description="S3 key, or social/<file>#<post id>")
    received_at: datetime
    units: list[TextUnit]
    language: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    products: list[str] = Field(
        default_factory=list,
        description="a social post's product (what the feed collected it for), as the feed names it",
    )
    source_version: str | None = Field(
        default=None, description="the S3 object version read (a versioned bucket's notification names it)"
    )

    @property
    def screened_units(self) -> list[TextUnit]:
        return [u for u in self.units if u.is_screened]

    @property
    def text(self) -> str:
        """The screened text, one unit per paragraph."""
        return "\n\n".join(u.text for u in self.screened_units)


def document_id_for(content: bytes) -> str:
    """A document's identity: the sha256 of its bytes."""
    return hashlib.sha256(content).hexdigest()


def source_ref(source_key: str, source_version: str | None) -> str:
    """One delivery's reference: the key, and the object version where the bucket is versioned."""
    return f"{source_key}?versionId={source_version}" if source_version else source_key


def post_document_id(post_id: str, text: str) -> str:
    """A social post's identity: the sha256 of its channel id and text."""
    return document_id_for(f"{post_id}\n{text}".encode())


class Quarantined(BaseModel):
    """A document (or one post of a file) that could not be parsed, with the reason why."""

    # Its validator is built with the first one: only unparseable input makes one.
    model_config = ConfigDict(defer_build=True)

    source_key: str
    document_id: str = Field(description="sha256 of the bytes that could not be parsed")
    channel: Channel | None = None
    reason: str = Field(description="short, fixed-vocabulary reason; never the document's text")
    received_at: datetime | None = None
    source_version: str | None = None


ParseResult = SourceDocument | Quarantined


class SentenceScore(BaseModel):
    """The classifier's verdict on one sentence."""

    text: str
    label: Literal["Adverse_Event", "Not_AE"]
    score: float = Field(description="probability of Adverse_Event")


# Flagged sentences a record carries itself (Screening, CaseRequest, Case): the top ones by score.
# A document with more keeps the full list in the bucket (`flagged_ref`): a 620 KB call note can
# flag 3,000 sentences, over DynamoDB's 400 KB item and SQS's 256 KB message.
MAX_INLINE_FLAGGED = 50


def inline_flagged(flagged: list[SentenceScore], limit: int = MAX_INLINE_FLAGGED) -> list[SentenceScore]:
    """The `limit` highest-scoring flagged sentences (the earlier first among equal scores), in
    document order."""
    if len(flagged) <= limit:
        return list(flagged)
    top = sorted(range(len(flagged)), key=lambda i: (-flagged[i].score, i))[:limit]
    return [flagged[i] for i in sorted(top)]


ScreeningStatus = Literal["screened", "quarantined"]
FlagSource = Literal["classifier", "rules"]


class Screening(BaseModel):
    """The one screening record every document gets (including unparseable ones)."""

    document_id: str
    source_key: str
    source_version: str | None = Field(default=None, description="the S3 object version screened")
    channel: Channel | None = None
    status: ScreeningStatus
    is_ae: bool = False
    max_score: float | None = None
    threshold: float | None = None
    sentence_count: int = Field(default=0, description="sentences screened")
    unscreened_sentences: int = Field(
        default=0, description="sentences after the first MAX_SENTENCES_PER_DOCUMENT, not screened"
    )
    capped_reason: Literal["sentence_limit"] | None = Field(
        default=None, description="why part of the document was not screened (see unscreened_sentences)"
    )
    flagged: list[SentenceScore] = Field(
        default_factory=list, description="the top MAX_INLINE_FLAGGED flagged sentences, in order"
    )
    flagged_count: int = Field(default=0, description="how many sentences were flagged in all")
    flagged_ref: str | None = Field(
        default=None, description="S3 key of the full flagged list, when there are more than `flagged` holds"
    )
    flag_sources: list[FlagSource] = Field(
        default_factory=list, description="what found the adverse event: the classifier, the rules, or both"
    )
    model: str | None = Field(default=None, description="model version the endpoint reports")
    endpoint_calls: int = 0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    quarantine_reason: str | None = None
    received_at: datetime | None = None
    screened_at: datetime
    duplicate_keys: list[str] = Field(
        default_factory=list,
        description="other deliveries of the same bytes, not screened again: keys, or `key?versionId=v`"
        " for another version (`source_ref`)",
    )
    unread_attachments: int = Field(
        default=0, description="attachments whose text was not screened (not a PDF with a text layer)"
    )


class CaseRequest(BaseModel):
    """The CaseQueue message: a flagged document, by reference (the text stays in the bucket)."""

    # Built with ScreenFunction's first flagged document; CaseFunction's handler builds it at
    # import, since every one of its requests reads one.
    model_config = ConfigDict(defer_build=True)

    document_id: str
    channel: Channel
    source_key: str
    received_at: datetime
    document_ref: str = Field(description="S3 key of the parsed SourceDocument JSON")
    flagged: list[SentenceScore] = Field(description="the top MAX_INLINE_FLAGGED flagged sentences")
    flagged_count: int = Field(default=0, description="how many sentences were flagged in all")
    flagged_ref: str | None = Field(
        default=None, description="S3 key of the full flagged list, when there are more than `flagged` holds"
    )
    max_score: float
    model: str | None = None
