"""The local stack answers its own AWS calls in process, and moto's transactions copy only their items."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from pv_local.emulation import item_level_transactions
from pv_local.stack import LocalStack

REGION = "eu-west-1"


def _succeed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


class CountingApp:
    """Counts the requests that reach the moto server over HTTP."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        handlers={"ScreenFunction": _succeed, "CaseFunction": _succeed}, retry_delay_s=0
    ) as local:
        yield local


def test_the_stacks_own_calls_never_reach_moto_over_http(stack: LocalStack) -> None:
    """GIVEN the moto server counting its HTTP requests WHEN this process puts and reads an object
    and sends a message THEN every call was answered in process, with moto's own state and URLs."""
    server = stack._moto._server
    counting = CountingApp(server.app)
    server.app = counting
    try:
        before = stack.transport.total_calls()
        stack.client("s3").put_object(Bucket=stack.bucket, Key="e2b/x.xml", Body=b"<x>caf\xc3\xa9</x>")
        body = stack.client("s3").get_object(Bucket=stack.bucket, Key="e2b/x.xml")["Body"].read()
        stack.send("SocialQueue", json.dumps({"post": 1}))
        stack.run_until_idle(timeout_s=30)
    finally:
        server.app = counting.app
    assert body == b"<x>caf\xc3\xa9</x>"
    assert counting.requests == 0
    assert stack.transport.total_calls() - before >= 4
    # Another process (stack.json's users) still reaches the same state over HTTP.
    http = boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    http.meta.events.unregister("before-send", stack.transport)
    assert http.get_object(Bucket=stack.bucket, Key="e2b/x.xml")["Body"].read() == body


def test_a_backlog_is_pumped_in_batches_without_per_message_round_trips(stack: LocalStack) -> None:
    """GIVEN 45 posts on SocialQueue WHEN the pump drains it THEN it received and deleted them ten at
    a time, as Lambda's pollers do: one receive per source and round (a batch, or an empty look at
    a queue with nothing waiting) until the empty round that ends it, one DeleteMessageBatch per
    batch, and no call made for a single message."""
    for n in range(45):
        stack.send("SocialQueue", json.dumps({"post": n}))
    before = dict(stack.transport.calls)
    stats = stack.run_until_idle(timeout_s=60)
    calls = {k: v - before.get(k, 0) for k, v in stack.transport.calls.items() if v != before.get(k, 0)}
    batches = 5  # 45 messages, BatchSize 10
    assert stats.delivered >= 45
    assert calls["sqs.DeleteMessageBatch"] == batches
    sources = len(stack.pump.sources)
    assert calls["sqs.ReceiveMessage"] <= (batches + 2) * sources
    assert calls.get("sqs.GetQueueAttributes", 0) <= 2 * sources  # the idle checks
    assert not {"sqs.DeleteMessage", "sqs.ChangeMessageVisibility"} & set(calls)


def test_function_cpu_excludes_the_time_spent_inside_moto(stack: LocalStack) -> None:
    """Moto answers on the function's own thread: that time is counted apart, not as the function's."""
    seen: dict[str, float] = {}

    def screen(event: dict[str, Any], context: Any) -> dict[str, Any]:
        s3 = stack.client("s3")
        for n in range(5):
            s3.put_object(Bucket=stack.bucket, Key=f"e2b/{n}.xml", Body=b"<x/>")
        seen["calls"] = 5
        return {"batchItemFailures": []}

    function = stack.functions["ScreenFunction"]
    original = function.handler
    function.handler = screen
    try:
        stack.send("SocialQueue", json.dumps({"post": "x"}))
        stack.run_until_idle(timeout_s=30)
    finally:
        function.handler = original
    assert seen["calls"] == 5
    assert stack.pump.stats.emulator_wall_s["ScreenFunction"] > 0
    assert stack.pump.stats.emulator_cpu_s["ScreenFunction"] > 0


# Moto's transactions with item-level backups --------------------------------------------


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), item_level_transactions():
        client = boto3.client("dynamodb", region_name=REGION)
        for name in ("cases", "drugs"):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        client.put_item(TableName="cases", Item={"id": {"S": "a"}, "v": {"N": "1"}})
        client.put_item(TableName="drugs", Item={"id": {"S": "d"}, "v": {"N": "1"}})
        yield client


def _items(client: Any, table: str) -> dict[str, str]:
    return {i["id"]["S"]: i["v"]["N"] for i in client.scan(TableName=table)["Items"]}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    """GIVEN a transaction that writes a new item, updates one and puts another table's item, and
    whose last condition fails WHEN it runs THEN it is cancelled and nothing it wrote remains; the
    tables were not copied to get there (moto alone puts a deep copy of each table back)."""
    tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
    before = {name: id(table) for name, table in tables.items()}
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "cases", "Item": {"id": {"S": "b"}, "v": {"N": "2"}}}},
                {
                    "Update": {
                        "TableName": "cases",
                        "Key": {"id": {"S": "a"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "9"}},
                    }
                },
                {"Put": {"TableName": "drugs", "Item": {"id": {"S": "d"}, "v": {"N": "7"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "drugs",
                        "Key": {"id": {"S": "x"}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _items(dynamodb, "cases") == {"a": "1"}
    assert _items(dynamodb, "drugs") == {"d": "1"}
    assert {name: id(table) for name, table in tables.items()} == before


def test_a_transaction_naming_one_item_twice_is_rejected_and_writes_nothing(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "cases", "Item": {"id": {"S": "c"}, "v": {"N": "3"}}}},
                {"Put": {"TableName": "cases", "Item": {"id": {"S": "c"}, "v": {"N": "4"}}}},
            ]
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _items(dynamodb, "cases") == {"a": "1"}


def test_a_transaction_that_holds_applies_all_its_writes(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "cases", "Item": {"id": {"S": "b"}, "v": {"N": "2"}}}},
            {"Delete": {"TableName": "drugs", "Key": {"id": {"S": "d"}}}},
        ]
    )
    assert _items(dynamodb, "cases") == {"a": "1", "b": "2"}
    assert _items(dynamodb, "drugs") == {}
