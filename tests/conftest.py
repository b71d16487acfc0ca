"""Shared fixtures: moto-backed AWS resources, the endpoint double, and a tiny SQS-to-Lambda pump."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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

ENDPOINT_NAME = "ae-classifier-test"


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
    """The deployed resources in moto, and a pump that feeds their queues to the real handlers."""

    def __init__(self, resources: dict[str, str]) -> None:
        import boto3

        self.r = resources
        self.s3 = boto3.client("s3")
        self.sqs = boto3.client("sqs")
        self.dynamodb = boto3.resource("dynamodb")
        self.context = FakeLambdaContext()

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


def create_resources() -> dict[str, str]:
    """The template's data resources, in moto (names are random per test)."""
    import boto3

    suffix = uuid.uuid4().hex[:8]
    s3, sqs, ddb, sns = (boto3.client(s) for s in ("s3", "sqs", "dynamodb", "sns"))
    r: dict[str, str] = {"bucket": f"intake-{suffix}"}
    s3.create_bucket(Bucket=r["bucket"], CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for name in ("intake", "social", "case"):
        dlq = sqs.create_queue(QueueName=f"{name}-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        r[f"{name}_dlq"] = dlq
        r[f"{name}_queue"] = sqs.create_queue(
            QueueName=f"{name}-{suffix}",
            Attributes={
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )["QueueUrl"]
    intake_arn = sqs.get_queue_attributes(QueueUrl=r["intake_queue"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=r["bucket"],
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": intake_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{prefix}/"}]}},
                }
                for prefix in ("email", "call", "social")
            ]
        },
    )
    _drain(sqs, r["intake_queue"])  # the s3:TestEvent
    r["screenings_table"] = _table(ddb, f"screenings-{suffix}", "document_id")
    r["idempotency_table"] = _table(ddb, f"idempotency-{suffix}", "id")
    r["cases_table"] = f"cases-{suffix}"
    ddb.create_table(
        TableName=r["cases_table"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("case_id", "status", "due_date", "primary_drug", "created_at")
        ],
        KeySchema=[{"AttributeName": "case_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            _gsi("by-status-due", "status", "due_date"),
            _gsi("by-drug", "primary_drug", "created_at"),
        ],
    )
    r["topic"] = sns.create_topic(Name=f"alerts-{suffix}")["TopicArn"]
    r["alerts_queue"] = sqs.create_queue(QueueName=f"alerts-{suffix}")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=r["alerts_queue"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=r["topic"], Protocol="sqs", Endpoint=alerts_arn)
    return r


def _table(ddb: Any, name: str, key: str) -> str:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
    )
    return name


def _gsi(name: str, pk: str, sk: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }


def _drain(sqs: Any, queue_url: str) -> None:
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def pipeline(endpoint: endpoint_double.EndpointDouble, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """moto resources wired into the handlers' environment, with the endpoint double behind them."""
    from moto import mock_aws
    from pv import runtime

    with mock_aws():
        r = create_resources()
        env = {
            "INTAKE_BUCKET": r["bucket"],
            "SCREENINGS_TABLE": r["screenings_table"],
            "CASES_TABLE": r["cases_table"],
            "IDEMPOTENCY_TABLE": r["idempotency_table"],
            "CASE_QUEUE_URL": r["case_queue"],
            "SAFETY_ALERTS_TOPIC_ARN": r["topic"],
            "CLASSIFIER_ENDPOINT_NAME": ENDPOINT_NAME,
            "CLASSIFIER_THRESHOLD": "0.5",
            "CLASSIFIER_BATCH_SIZE": "8",
            "CLASSIFIER_TIMEOUT_S": "2",
            "CLASSIFIER_MAX_ATTEMPTS": "3",
            "MAX_DOCUMENT_BYTES": "65536",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        yield Pipeline(r)
        runtime.reset()
