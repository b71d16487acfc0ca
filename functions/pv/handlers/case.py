"""CaseFunction: SQS batches from CaseQueue; one case and one alert per flagged document."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pv import runtime
from pv.models import CaseRequest
from pv.observability import logger, metrics, record_failures, tracer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
CaseRequest.model_rebuild()  # its validator now, at cold start: every record is one (pv.models)


# A case is not started with less time left than the slowest case takes to assess and store: the
# request fails and is retried, instead of the invocation timing out with the whole batch.
CASE_RESERVE_MS = 40_000


class OutOfTime(Exception):
    """Too little of the invocation is left to open this case; its message is retried."""


def _handler_for(context: LambdaContext) -> Any:
    def handle(record: SQSRecord) -> None:
        if context.get_remaining_time_in_millis() < CASE_RESERVE_MS:
            logger.warning("message failed", message_id=record.message_id, error=OutOfTime.__name__)
            raise OutOfTime(record.message_id)
        try:
            request = CaseRequest.model_validate_json(record.body)
            result = runtime.idempotent_case_opener()(request=request)
        except Exception as exc:
            logger.warning("message failed", message_id=record.message_id, error=type(exc).__name__)
            raise
        metrics.add_metric(name="CasesProcessed", unit=MetricUnit.Count, value=1)
        logger.info("case processed", message_id=record.message_id, **result)

    return handle


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime.idempotency_config().register_lambda_context(context)
    response = process_partial_response(
        event=event, record_handler=_handler_for(context), processor=processor, context=context
    )
    record_failures(response)
    return response
