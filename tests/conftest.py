"""Shared fixtures: moto-backed AWS resources, the endpoint double, and a tiny SQS-to-Lambda pump."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pv_local.provision import ProvisionedStack

sys.path.insert(0, str(Path(__file__).parent))  # test helpers (endpoint_double) import by name

# Never real AWS: dummy credentials and a region before anything makes a client.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    POWERTOOLS_SERVICE_NAME="pv-intake-test",
    POWERTOOLS_METRICS_NAMESPACE="PharmacovigilanceIntakeTest",
    POWERTOOLS_TRACE_DISABLED="true",
)

import endpoint_double
from pv_local import s3_events
from template_stack import TEST_PARAMETERS, provision_template

# moto's S3 notifications name the object version, as S3's do (the template's bucket is versioned).
s3_events.install()

# The tests' names for the template's resources: short name -> logical id.
RESOURCES = {
    "bucket": "IntakeBucket",
    "intake_queue": "IntakeQueue",
    "intake_dlq": "IntakeDLQ",
    "social_queue": "SocialQueue",
    "social_dlq": "SocialDLQ",
    "case_queue": "CaseQueue",
    "case_dlq": "CaseDLQ",
    "screenings_table": "ScreeningsTable",
    "cases_table": "CasesTable",
    "case_drugs_table": "CaseDrugsTable",
    "idempotency_table": "IdempotencyTable",
    "match_keys_table": "MatchKeysTable",
    "audit_table": "AuditTable",
    "topic": "SafetyAlertsTopic",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "pv-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:pv-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="session")
def idle_handlers() -> dict[str, Handler]:
    """Handlers of the local stack's functions that take a batch and report no failure: for tests
    of what the stack serves and wires, not of what the functions do."""

    def idle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": []}

    return {"ScreenFunction": idle, "CaseFunction": idle}


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[endpoint_double.EndpointDouble]:
    """The classifier endpoint double, reached through the unchanged sagemaker-runtime client."""
    double = endpoint_double.EndpointDouble()
    server, url = endpoint_double.start(double)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    yield double
    server.shutdown()


class Pipeline:
    """The template's resources in moto, and a pump that feeds their queues to the real handlers."""

    def __init__(self, stack: ProvisionedStack) -> None:
        import boto3
        from pv_local.stack import subscribe_alert_inbox

        self.stack = stack
        # Short names for the template's resources (what Ref returns for each).
        self.r = {name: stack.physical(logical_id) for name, logical_id in RESOURCES.items()}
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.resource("dynamodb")
        self.context = FakeLambdaContext()
        self.r["alerts_queue"] = subscribe_alert_inbox(
            self.sqs, boto3.client("sns"), self.r["topic"], stack.resolver.stack_name
        )

    def max_receive_count(self, queue: str) -> int:
        """The template's maxReceiveCount for a queue (`intake_queue`...)."""
        return int(self.stack.redrive_policy(RESOURCES[queue])["maxReceiveCount"])

    def environment(self, function: str) -> dict[str, str]:
        """A template function's environment, resolved against these resources."""
        return self.stack.environment(function)

    def upload(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.r["bucket"], Key=key, Body=body)

    def push_post(self, post: dict[str, Any] | str) -> None:
        body = post if isinstance(post, str) else json.dumps(post)
        self.sqs.send_message(QueueUrl=self.r["social_queue"], MessageBody=body)

    def deliver(self, queue: str, handler: Any, max_batches: int = 20) -> list[dict[str, Any]]:
        """Deliver the queue's messages in batches to `handler` as Lambda would; returns responses.

        Succeeded messages are deleted; failed ones are made visible again at once (Lambda waits
        for the visibility timeout; tests need not).
        """
        responses = []
        for _ in range(max_batches):
            messages = self.sqs.receive_message(
                QueueUrl=self.r[queue],
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            event = {"Records": [_lambda_record(m, self.r[queue]) for m in messages]}
            response = handler(event, self.context)
            responses.append(response)
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] in failed:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.r[queue], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.r[queue], ReceiptHandle=message["ReceiptHandle"])
            if failed:
                break  # leave failures for the caller to inspect
        return responses

    def screen(self, **kwargs: Any) -> list[dict[str, Any]]:
        from pv.handlers import screen

        return self.deliver("intake_queue", screen.handler, **kwargs) + self.deliver(
            "social_queue", screen.handler, **kwargs
        )

    def open_cases(self) -> list[dict[str, Any]]:
        from pv.handlers import case

        return self.deliver("case_queue", case.handler)

    def run(self) -> None:
        self.screen()
        self.open_cases()

    def screenings(self) -> list[dict[str, Any]]:
        return self.dynamodb.Table(self.r["screenings_table"]).scan()["Items"]

    def cases(self) -> list[dict[str, Any]]:
        return self.dynamodb.Table(self.r["cases_table"]).scan()["Items"]

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts received by the SQS subscriber of the topic (raw delivery off: SNS envelopes)."""
        alerts = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.r["alerts_queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return alerts
            for message in messages:
                alerts.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.r["alerts_queue"], ReceiptHandle=message["ReceiptHandle"]
                )

    def queue_depth(self, queue: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.r[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def _lambda_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    name = queue_url.rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:eu-west-1:123456789012:{name}",
        "awsRegion": "eu-west-1",
    }


@pytest.fixture
def template_parameters() -> dict[str, str]:
    """The template parameters the `pipeline` fixture's stack is created with (a test module
    overrides this fixture to deploy with others)."""
    return dict(TEST_PARAMETERS)


@contextlib.contextmanager
def deployed_pipeline(monkeypatch: pytest.MonkeyPatch, parameters: dict[str, str]) -> Iterator[Pipeline]:
    """The template deployed in moto with `parameters`, the functions' environments set through
    `monkeypatch`; the endpoint double's URL is the caller's to set."""
    from moto import mock_aws
    from pv import runtime

    with mock_aws():
        stack = provision_template(parameters)
        # The functions share this process: every variable the template sets on any of them is set.
        environment: dict[str, str] = {}
        for function, variables in stack.environments().items():
            for name, value in variables.items():
                assert environment.setdefault(name, value) == value, f"{function} sets {name} apart"
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        yield Pipeline(stack)
        runtime.reset()


@pytest.fixture(scope="session")
def start_pipeline() -> Callable[[pytest.MonkeyPatch, dict[str, str]], ContextManager[Pipeline]]:
    """`deployed_pipeline`, for a fixture of wider scope than `pipeline` (a calibration run)."""
    return deployed_pipeline


@pytest.fixture
def pipeline(
    endpoint: endpoint_double.EndpointDouble,
    monkeypatch: pytest.MonkeyPatch,
    template_parameters: dict[str, str],
) -> Iterator[Pipeline]:
    """The template's resources in moto, the functions' environments from the template, and the
    endpoint double behind them."""
    with deployed_pipeline(monkeypatch, template_parameters) as deployed:
        yield deployed


def _accept_every_message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


@pytest.fixture(scope="module")
def idle_stack() -> Iterator[Any]:
    """The template's local stack whose queue-fed functions accept every message (for tests of
    the stack's own plumbing); failed messages come back at once."""
    from pv_local.stack import LocalStack

    with LocalStack(
        handlers={"ScreenFunction": _accept_every_message, "CaseFunction": _accept_every_message},
        retry_delay_s=0,
    ) as local:
        yield local
