"""ReconcileFunction: on a schedule, the gaps of the last window as metrics (and an alarm)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pv import runtime
from pv.config import settings
from pv.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = settings()
    until = datetime.now(UTC) - timedelta(minutes=config.reconcile_grace_minutes)
    gaps = runtime.reconcile(until - timedelta(minutes=config.reconcile_lookback_minutes), until)
    for name, value in gaps.metrics().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    summary = gaps.summary()  # counts and ids: no object key (a file name can name a patient)
    logger.info("reconciled", **summary)
    return summary
