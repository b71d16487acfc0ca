"""Screening: turn intake messages into documents, classify their sentences, record and route them.

A batch of messages is screened together so that the sentences of its documents share endpoint
calls; each document is scored (or fails) on its own and each message then completes (or fails)
on its own, so one bad document never fails the rest of the batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, ValidationError

from pv.adapters.bucket import IntakeBucket, ObjectMissing, ObjectTooLarge
from pv.adapters.endpoint import ClassifierClient, DeadlineReached
from pv.adapters.stores import ScreeningStore
from pv.channels import MAX_POSTS_PER_FILE, parse_object
from pv.models import (
    CaseRequest,
    Channel,
    FlagSource,
    ParseResult,
    Quarantined,
    Screening,
    SentenceScore,
    SourceDocument,
    document_id_for,
    inline_flagged,
    source_ref,
)
from pv.sentences import document_sentences

logger = Logger(child=True)

RuleCheck = Callable[[SourceDocument], list[str]]

OBJECT_MISSING = "object_missing"
TOO_LARGE = "too_large"
# Sentences of one document sent to the classifier (some 160 requests of 32): one invocation's
# work. The rest is counted on the screening record (`unscreened_sentences`, `sentence_limit`).
MAX_SENTENCES_PER_DOCUMENT = 5000
# Time kept back at the end of an invocation: no request is started with less left (the slowest
# request, all its attempts, plus writing the records) nor a message completed with less than
# COMPLETE_RESERVE_MS; those messages fail, to be retried, before the function's timeout.
COMPLETE_RESERVE_MS = 5_000


def _unlimited() -> int:
    return 2**31


class S3Object(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str
    size: int | None = None
    # Present when the bucket is versioned: the version this event is about (read that one).
    versionId: str | None = None


class S3Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str


class S3Entity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(BaseModel):
    """An S3 notification record. Lenient: moto's records lack fields that real S3 sends."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    eventName: str = "ObjectCreated:Put"
    eventTime: datetime | None = None
    s3: S3Entity


class S3Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")
    Records: list[S3EventRecord] = []


@dataclass
class IntakeMessage:
    """One SQS message for ScreenFunction: an S3 notification or a social post."""

    message_id: str
    body: str
    sent_at: datetime


@dataclass
class MessageOutcome:
    """What screening made of one message; `error` set means the message must be retried."""

    results: list[ParseResult] = field(default_factory=list)
    screenings: dict[str, Screening] = field(default_factory=dict)
    documents: dict[str, SourceDocument] = field(default_factory=dict)
    # source_ref (key, with the version where there is one) -> document id screened before
    duplicates: dict[str, str] = field(default_factory=dict)
    # document id -> every flagged sentence, where there are more than its Screening holds
    flagged: dict[str, list[SentenceScore]] = field(default_factory=dict)
    error: Exception | None = None


@dataclass
class ScreeningPipeline:
    """Reads, parses, classifies, records and routes documents. Knows nothing of Lambda."""

    bucket: IntakeBucket
    screenings: ScreeningStore
    sqs: Any
    case_queue_url: str
    classifier: ClassifierClient
    threshold: float
    max_document_bytes: int
    # The case-intelligence rules as a second detector: the sentences where they find a suspect
    # drug with a reaction the reporter does not deny. The classifier learnt from case reports
    # and misses much patient wording; for a safety team a missed AE costs more than a review.
    rule_check: RuleCheck | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    max_sentences: int = MAX_SENTENCES_PER_DOCUMENT
    max_posts: int = MAX_POSTS_PER_FILE
    # No message is read nor request started with less than this left (`screen`'s remaining_ms).
    reserve_ms: int = 60_000

    def screen(
        self, messages: list[IntakeMessage], remaining_ms: Callable[[], int] = _unlimited
    ) -> dict[str, MessageOutcome]:
        """Screen a batch of messages together; nothing is written yet (see `complete`).

        `remaining_ms`: the invocation's time left (the Lambda context's). Messages not read, and
        documents not scored, before it falls under `reserve_ms` fail with `DeadlineReached`, so
        they are retried instead of the whole batch timing out.
        """
        outcomes: dict[str, MessageOutcome] = {}
        for message in messages:
            if remaining_ms() < self.reserve_ms:
                outcomes[message.message_id] = MessageOutcome(error=DeadlineReached())
                continue
            outcomes[message.message_id] = self._load(message)
        pending = self._new_documents(outcomes)
        self._classify(pending, outcomes, may_call=lambda: remaining_ms() >= self.reserve_ms)
        return outcomes

    def complete(self, outcome: MessageOutcome, remaining_ms: Callable[[], int] = _unlimited) -> None:
        """Record and route one message's documents; raises when the message must be retried.

        The case request is sent before the screening record is written: a crash in between
        re-screens the document, and CaseFunction's idempotency absorbs the second request.
        """
        if outcome.error is not None:
            raise outcome.error
        if remaining_ms() < COMPLETE_RESERVE_MS:
            raise DeadlineReached()
        for document_id, screening in list(outcome.screenings.items()):
            if document_id in outcome.flagged:
                # Before the case request and the record that name it.
                ref = self.bucket.put_flagged(document_id, outcome.flagged[document_id])
                screening = screening.model_copy(update={"flagged_ref": ref})
                outcome.screenings[document_id] = screening
            if screening.is_ae:
                document = outcome.documents[document_id]
                self.sqs.send_message(
                    QueueUrl=self.case_queue_url,
                    MessageBody=self._case_request(document, screening).model_dump_json(),
                )
            if not self.screenings.put_if_absent(screening):
                outcome.duplicates[source_ref(screening.source_key, screening.source_version)] = document_id
        for ref, document_id in outcome.duplicates.items():
            # Its terminal state: a duplicate of the document already screened under another key
            # (or as another version of the same key).
            self.screenings.record_duplicate(document_id, ref)

    def _case_request(self, document: SourceDocument, screening: Screening) -> CaseRequest:
        return CaseRequest(
            document_id=document.document_id,
            channel=document.channel,
            source_key=document.source_key,
            received_at=document.received_at,
            document_ref=self.bucket.put_parsed(document),
            flagged=screening.flagged,
            flagged_count=screening.flagged_count,
            flagged_ref=screening.flagged_ref,
            max_score=screening.max_score or 0.0,
            model=screening.model,
        )

    def _load(self, message: IntakeMessage) -> MessageOutcome:
        outcome = MessageOutcome()
        started = time.perf_counter()
        try:
            outcome.results = self._parse_message(message)
        except Exception as exc:  # AWS failures: the message goes back to the queue
            logger.warning("intake read failed", message_id=message.message_id, error=type(exc).__name__)
            outcome.error = exc
            return outcome
        parse_ms = (time.perf_counter() - started) * 1000
        for result in outcome.results:
            if isinstance(result, Quarantined):
                outcome.screenings[result.document_id] = self._quarantined(result, parse_ms)
            else:
                outcome.documents[result.document_id] = result
        return outcome

    def _parse_message(self, message: IntakeMessage) -> list[ParseResult]:
        try:
            payload = json.loads(message.body)
        except (ValueError, RecursionError):  # absurdly deep JSON is a malformed post, not a retry
            payload = None
        if isinstance(payload, dict) and ("Records" in payload or payload.get("Event") == "s3:TestEvent"):
            return self._parse_notification(payload)
        from pv.channels.social import parse_social_message  # with the container's first post

        return [parse_social_message(message.body, message.sent_at)]

    def _parse_notification(self, payload: dict[str, Any]) -> list[ParseResult]:
        if payload.get("Event") == "s3:TestEvent":
            return []  # S3 sends this once when notifications are configured
        try:
            notification = S3Notification.model_validate(payload)
        except ValidationError:
            body = json.dumps(payload, sort_keys=True).encode()
            return [
                Quarantined(source_key="", document_id=document_id_for(body), reason="malformed_notification")
            ]
        results: list[ParseResult] = []
        for record in notification.Records:
            if not record.eventName.startswith("ObjectCreated"):
                continue
            key = unquote_plus(record.s3.object.key)
            version = record.s3.object.versionId
            received_at = record.eventTime or self.clock()
            try:
                body = self.bucket.read(
                    key, self.max_document_bytes, bucket=record.s3.bucket.name, version_id=version
                )
            except ObjectMissing:
                results.append(_quarantine_unread(key, version, OBJECT_MISSING, received_at))
                continue
            except ObjectTooLarge:
                results.append(_quarantine_unread(key, version, TOO_LARGE, received_at))
                continue
            parsed = parse_object(key, body, received_at, self.max_document_bytes, self.max_posts)
            results.extend(r.model_copy(update={"source_version": version}) if version else r for r in parsed)
        return results

    def _new_documents(self, outcomes: dict[str, MessageOutcome]) -> list[tuple[str, SourceDocument]]:
        """Documents not screened before (nor earlier in this batch); the rest are duplicates."""
        candidates = [
            (message_id, document)
            for message_id, outcome in outcomes.items()
            for document in outcome.documents.values()
        ]
        seen = self.screenings.existing([d.document_id for _, d in candidates])
        pending = []
        for message_id, document in candidates:
            if document.document_id in seen:
                ref = source_ref(document.source_key, document.source_version)
                outcomes[message_id].duplicates[ref] = document.document_id
                del outcomes[message_id].documents[document.document_id]
                continue
            seen.add(document.document_id)
            pending.append((message_id, document))
        return pending

    def _classify(
        self,
        pending: list[tuple[str, SourceDocument]],
        outcomes: dict[str, MessageOutcome],
        may_call: Callable[[], bool],
    ) -> None:
        """Score every pending document's sentences (the first `max_sentences` of each); a
        document the endpoint fails on fails its own message only
        (`ClassifierClient.classify_documents`)."""
        every = [document_sentences(document) for _, document in pending]
        texts = [sentences[: self.max_sentences] for sentences in every]
        started = time.perf_counter()
        classification = self.classifier.classify_documents(texts, may_call=may_call) if any(texts) else None
        classify_ms = (time.perf_counter() - started) * 1000
        for k, ((message_id, document), sentences) in enumerate(zip(pending, texts, strict=True)):
            unscreened = len(every[k]) - len(sentences)
            outcome = outcomes[message_id]
            if not sentences:
                quarantined = Quarantined(
                    source_key=document.source_key,
                    document_id=document.document_id,
                    channel=document.channel,
                    reason="no_text",
                    received_at=document.received_at,
                    source_version=document.source_version,
                )
                outcome.screenings[document.document_id] = self._quarantined(quarantined, 0.0)
                continue
            assert classification is not None
            result = classification.documents[k]
            if result.error is not None:
                outcome.error = result.error
                continue
            scores = result.probabilities
            scored = dict(zip(sentences, scores, strict=True))
            flagged = [
                SentenceScore(text=text, label="Adverse_Event", score=round(score, 4))
                for text, score in scored.items()
                if score >= self.threshold
            ]
            sources: list[FlagSource] = ["classifier"] if flagged else []
            if not flagged and self.rule_check is not None:
                evidence = [text for text in self.rule_check(document) if text in scored]
                flagged = [SentenceScore(text=t, label="Not_AE", score=round(scored[t], 4)) for t in evidence]
                sources = ["rules"] if flagged else []
            inline = inline_flagged(flagged)
            if len(inline) < len(flagged):
                outcome.flagged[document.document_id] = flagged
            outcome.screenings[document.document_id] = Screening(
                document_id=document.document_id,
                source_key=document.source_key,
                source_version=document.source_version,
                channel=document.channel,
                status="screened",
                is_ae=bool(flagged),
                flag_sources=sources,
                max_score=round(max(scores), 4),
                threshold=self.threshold,
                sentence_count=len(sentences),
                unscreened_sentences=unscreened,
                capped_reason="sentence_limit" if unscreened else None,
                flagged=inline,
                flagged_count=len(flagged),
                model=classification.model,
                endpoint_calls=result.calls,
                timings_ms={"classify_batch": round(classify_ms, 1)},
                received_at=document.received_at,
                screened_at=self.clock(),
                unread_attachments=_unread_attachments(document),
            )

    def _quarantined(self, item: Quarantined, parse_ms: float) -> Screening:
        return Screening(
            document_id=item.document_id,
            source_key=item.source_key,
            source_version=item.source_version,
            channel=item.channel,
            status="quarantined",
            quarantine_reason=item.reason,
            timings_ms={"parse": round(parse_ms, 1)},
            received_at=item.received_at,
            screened_at=self.clock(),
        )


def _quarantine_unread(key: str, version: str | None, reason: str, received_at: datetime) -> Quarantined:
    """An object that was not read; its identity is the reason, the key and the version, so each
    version of a key gets its own record."""
    prefix = key.split("/", 1)[0]
    channel = Channel(prefix) if prefix in {c.value for c in Channel} else None
    return Quarantined(
        source_key=key,
        source_version=version,
        document_id=document_id_for(f"{reason}:{source_ref(key, version)}".encode()),
        channel=channel,
        reason=reason,
        received_at=received_at,
    )


def _unread_attachments(document: SourceDocument) -> int:
    """Attachments the email parser counted but whose text is not among the document's units."""
    counted = document.metadata.get("attachments", "0")
    read = document.metadata.get("attachments_read", "0")
    return max(0, int(counted) - int(read)) if counted.isdigit() and read.isdigit() else 0
