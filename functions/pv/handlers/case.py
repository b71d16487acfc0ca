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
from pv.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _handle(record: SQSRecord) -> None:
    request = CaseRequest.model_validate_json(record.body)
    result = runtime.idempotent_case_opener()(request=request)
    metrics.add_metric(name="CasesProcessed", unit=MetricUnit.Count, value=1)
    logger.info("case processed", message_id=record.message_id, **result)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    runtime.idempotency_config().register_lambda_context(context)
    return process_partial_response(event=event, record_handler=_handle, processor=processor, context=context)
