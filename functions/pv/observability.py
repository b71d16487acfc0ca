"""Logger, Tracer and Metrics shared by the handlers. Logs and traces carry ids, never document text.

Every call out of the functions goes through botocore (S3, SQS, DynamoDB, SNS and the endpoint),
so AWS calls are what X-Ray traces. Not with the X-Ray SDK's own botocore patch, though: it records
request parameters such as S3 object keys (a file name can be a patient's name) and each failed
call's full exception message (a model container's error can echo the sentences it was sent). The
calls are traced by `trace_aws_calls` instead: service, operation, region, request id, HTTP status,
the names of the stack's own resources, and for a failure its error code only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# The template sets both; the defaults keep a process that imports the handlers without them
# (a script, the local stack) from failing to flush metrics.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pharmacovigilance-intake")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PharmacovigilanceIntake")

# Request parameters a trace may show: the names of tables, indexes, queues, topics, endpoints and
# buckets (the stack's own resources). Never an object key, a version id, a prefix, a message or an
# item: those name or hold documents.
TRACED_PARAMETERS = {
    "TableName": "table_name",
    "IndexName": "index_name",
    "QueueUrl": "queue_url",
    "TopicArn": "topic_arn",
    "EndpointName": "endpoint_name",
    "Bucket": "bucket_name",
}

logger = Logger(service=SERVICE)
# auto_patch off: the SDK's botocore patch (see above) is replaced by trace_aws_calls, and patch_all
# would import every traceable library installed only to patch it (cold-start time).
tracer = Tracer(service=SERVICE, auto_patch=False)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def aws_call_metadata(
    wrapped: Any,
    instance: Any,
    args: Any,
    kwargs: Any,
    return_value: Any,
    exception: BaseException | None,
    subsegment: Any,
    stack: Any,
) -> None:
    """What an AWS call's subsegment records (an X-Ray SDK meta processor): no key, no message."""
    operation = kwargs.get("operation_name", args[0] if args else "")
    params = (args[1] if len(args) > 1 else kwargs.get("api_params")) or {}
    aws: dict[str, Any] = {"operation": operation, "region": instance.meta.region_name}
    aws.update({name: params[p] for p, name in TRACED_PARAMETERS.items() if isinstance(params.get(p), str)})
    if isinstance(params.get("RequestItems"), dict):  # BatchGetItem / BatchWriteItem
        aws["table_names"] = sorted(params["RequestItems"])
    response = return_value if isinstance(return_value, dict) else getattr(exception, "response", None) or {}
    meta = response.get("ResponseMetadata") or {}
    if meta.get("RequestId"):
        aws["request_id"] = meta["RequestId"]
    status = meta.get("HTTPStatusCode")
    if status is not None:
        subsegment.put_http_meta("status", status)
    if exception is not None:
        # The error code (ThrottlingException, ModelError, ConditionalCheckFailedException), never
        # the message.
        aws["error_code"] = (response.get("Error") or {}).get("Code") or type(exception).__name__
        if status == 429:
            subsegment.add_throttle_flag()
            subsegment.add_error_flag()
        elif status is None or int(status) >= 500:
            subsegment.add_fault_flag()
        else:
            subsegment.add_error_flag()
    subsegment.set_aws(aws)


def _traced_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    from aws_xray_sdk.core import xray_recorder

    service = instance._service_model.metadata["endpointPrefix"]
    if service == "xray":  # the SDK's own sampling and segment calls
        return wrapped(*args, **kwargs)
    return xray_recorder.record_subsegment(
        wrapped, instance, args, kwargs, name=service, namespace="aws", meta_processor=aws_call_metadata
    )


def trace_aws_calls() -> None:
    """Trace every botocore call as a subsegment holding `aws_call_metadata` (once per process)."""
    import botocore.client
    import wrapt
    from aws_xray_sdk.ext.boto_utils import inject_header

    if getattr(botocore.client, "_pv_traced", False):
        return
    botocore.client._pv_traced = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("botocore.client", "BaseClient._make_api_call", _traced_call)
    # The trace header on outgoing requests, as the SDK's patch adds it.
    wrapt.wrap_function_wrapper("botocore.endpoint", "Endpoint.prepare_request", inject_header)


if not tracer.disabled:
    trace_aws_calls()


# The failure metric the FailedMessagesAlarm watches: one count per failed message of a batch (0
# when none), with the handlers' other metrics (dimension: service).
FAILED_MESSAGES = "FailedMessages"


def record_failures(response: Mapping[str, Any]) -> None:
    """Count a batch response's failed messages (`batchItemFailures`) as FailedMessages."""
    failed = len(response.get("batchItemFailures") or [])
    metrics.add_metric(name=FAILED_MESSAGES, unit=MetricUnit.Count, value=failed)
