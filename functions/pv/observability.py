"""Logger, Tracer and Metrics shared by the handlers. Logs carry ids, never document text."""

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# Every call out of the functions goes through botocore (S3, SQS, DynamoDB, SNS and the endpoint),
# so that is all the X-Ray SDK patches. Its default, patch_all, imports every library it can trace
# that happens to be installed (requests, httpx, sqlite3, SQL drivers...) only to patch it: cold-start
# time spent on modules these functions never use. Tracing itself stays on.
TRACED_MODULES = ("botocore",)

# The template sets both; the defaults keep a process that imports the handlers without them
# (a script, the local stack) from failing to flush metrics.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pharmacovigilance-intake")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PharmacovigilanceIntake")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

# The failure metric the alarms watch: one count per failed message of a batch (0 when none, so an
# alarm always has data), per function. Its dimensions are the service and the function's name.
FAILED_MESSAGES = "FailedMessages"


def record_failures(function: str, response: Mapping[str, Any]) -> None:
    """Emit FailedMessages for a batch response (`batchItemFailures`), with a `function` dimension
    (ScreenFunction, CaseFunction) beside the service; it is flushed at once, apart from the
    handler's other metrics, so their dimensions stay as they are."""
    failed = len(response.get("batchItemFailures") or [])
    with single_metric(
        name=FAILED_MESSAGES,
        unit=MetricUnit.Count,
        value=failed,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="function", value=function)
