"""Logger, Tracer and Metrics shared by the handlers. Logs carry ids, never document text."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

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
