"""Moto's DynamoDB transactions, as the local stack runs them: item-level backups, same outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from pv_local.emulation import item_level_transactions

REGION = "eu-west-1"


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


EVERY_TYPE = {
    "id": {"S": "all"},
    "n": {"N": "12.5"},
    "flag": {"BOOL": False},
    "none": {"NULL": True},
    "names": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"deep": {"BOOL": True}}}]}}},
    "raw": {"B": b"\x00\xffbytes"},
    "raws": {"BS": [b"\x01", b"\x02"]},
    "mixed": {"L": [{"S": "y"}, {"B": b"\x03"}]},
}


def test_attribute_values_are_written_as_moto_writes_them(dynamodb: Any) -> None:
    """GIVEN an item of every attribute type (binary too, nested in maps and lists) WHEN it is read
    with plain attribute values THEN the answer is the one moto's own serializer gives."""
    from pv_local.emulation import plain_attribute_values

    dynamodb.put_item(TableName="cases", Item=EVERY_TYPE)
    key = {"id": {"S": "all"}}
    with plain_attribute_values():
        fast = dynamodb.get_item(TableName="cases", Key=key)["Item"]
        fast_query = dynamodb.query(
            TableName="cases",
            KeyConditionExpression="id = :id",
            ExpressionAttributeValues={":id": {"S": "all"}},
        )["Items"]
    slow = dynamodb.get_item(TableName="cases", Key=key)["Item"]
    assert fast == slow == EVERY_TYPE
    assert fast_query == [EVERY_TYPE]
