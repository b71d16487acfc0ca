"""Logger, Tracer and Metrics shared by the handlers. Logs carry ids, never document text."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
