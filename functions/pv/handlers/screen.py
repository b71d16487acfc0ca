"""ScreenFunction: SQS batches from IntakeQueue (S3 notifications) and SocialQueue (posts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pv import runtime
from pv.observability import logger, metrics, record_failures, tracer
from pv.screening import IntakeMessage, MessageOutcome

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    pipeline = runtime.screening_pipeline()
    remaining_ms = context.get_remaining_time_in_millis
    outcomes = pipeline.screen([_message(r) for r in event.get("Records", [])], remaining_ms)

    def complete(record: SQSRecord) -> None:
        outcome = outcomes[record.message_id]
        try:
            pipeline.complete(outcome, remaining_ms)
        except Exception as exc:
            logger.warning("message failed", message_id=record.message_id, error=type(exc).__name__)
            raise
        _record_metrics(record.message_id, outcome)

    response = process_partial_response(
        event=event, record_handler=complete, processor=processor, context=context
    )
    record_failures(response)
    return response


def _message(record: dict[str, Any]) -> IntakeMessage:
    sent_ms = int(record.get("attributes", {}).get("SentTimestamp", 0)) or None
    sent_at = datetime.fromtimestamp(sent_ms / 1000, UTC) if sent_ms else datetime.now(UTC)
    return IntakeMessage(message_id=record["messageId"], body=record["body"], sent_at=sent_at)


def _record_metrics(message_id: str, outcome: MessageOutcome) -> None:
    for document_id, screening in outcome.screenings.items():
        if document_id in outcome.duplicates.values():
            continue
        if screening.status == "quarantined":
            metrics.add_metric(name="DocumentsQuarantined", unit=MetricUnit.Count, value=1)
            logger.warning(
                "document quarantined",
                message_id=message_id,
                document_id=document_id,
                reason=screening.quarantine_reason,
            )
            continue
        metrics.add_metric(name="DocumentsScreened", unit=MetricUnit.Count, value=1)
        if screening.capped_reason:
            metrics.add_metric(name="DocumentsCapped", unit=MetricUnit.Count, value=1)
        if screening.is_ae:
            metrics.add_metric(name="AdverseEventsFound", unit=MetricUnit.Count, value=1)
        if screening.unread_attachments:
            metrics.add_metric(
                name="UnreadAttachments", unit=MetricUnit.Count, value=screening.unread_attachments
            )
        logger.info(
            "document screened",
            message_id=message_id,
            document_id=document_id,
            is_ae=screening.is_ae,
            max_score=screening.max_score,
            sentences=screening.sentence_count,
            unscreened_sentences=screening.unscreened_sentences,
            unread_attachments=screening.unread_attachments,
        )
    if outcome.screenings:
        latency = next(iter(outcome.screenings.values())).timings_ms.get("classify_batch")
        if latency is not None:
            metrics.add_metric(name="EndpointLatency", unit=MetricUnit.Milliseconds, value=latency)
    if outcome.duplicates:
        metrics.add_metric(name="DuplicateDocuments", unit=MetricUnit.Count, value=len(outcome.duplicates))
