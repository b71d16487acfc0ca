"""Moto's DynamoDB transactions, as the local stack runs them: item-level backups, same outcomes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
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


def _query_both_ways(client: Any, shortcut: Any, **kwargs: Any) -> tuple[Any, Any]:
    with shortcut():
        fast = client.query(**kwargs)
    slow = client.query(**kwargs)
    for page in (fast, slow):
        page.pop("ResponseMetadata", None)
    return fast, slow


def test_a_query_by_partition_finds_what_moto_finds_in_the_same_order() -> None:
    """GIVEN a table with a sort key and a global index, items in several partitions WHEN a query
    asks for one partition (forwards, backwards, by a sort-key range, in pages, on the index, for a
    missing partition) THEN the answer is moto's own, item for item and key for key."""
    from pv_local.emulation import query_by_partition

    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="keys",
            KeySchema=[
                {"AttributeName": "match_key", "KeyType": "HASH"},
                {"AttributeName": "case_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "match_key", "AttributeType": "S"},
                {"AttributeName": "case_id", "AttributeType": "S"},
                {"AttributeName": "n", "AttributeType": "N"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_n",
                    "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(30):
            client.put_item(
                TableName="keys",
                Item={
                    "match_key": {"S": f"k{i % 3}"},
                    "case_id": {"S": f"c{29 - i:02}"},
                    "n": {"N": str(i % 2)},
                },
            )
        queries = [
            {"KeyConditionExpression": "match_key = :k", "ExpressionAttributeValues": {":k": {"S": "k1"}}},
            {
                "KeyConditionExpression": "match_key = :k",
                "ExpressionAttributeValues": {":k": {"S": "k2"}},
                "ScanIndexForward": False,
                "ProjectionExpression": "case_id",
            },
            {
                "KeyConditionExpression": "match_key = :k AND case_id BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":k": {"S": "k0"}, ":a": {"S": "c05"}, ":b": {"S": "c20"}},
            },
            {
                "KeyConditionExpression": "match_key = :k",
                "ExpressionAttributeValues": {":k": {"S": "k0"}},
                "Limit": 4,
            },
            {"KeyConditionExpression": "match_key = :k", "ExpressionAttributeValues": {":k": {"S": "none"}}},
            {
                "IndexName": "by_n",
                "KeyConditionExpression": "n = :n",
                "ExpressionAttributeValues": {":n": {"N": "1"}},
            },
        ]
        for query in queries:
            fast, slow = _query_both_ways(client, query_by_partition, TableName="keys", **query)
            assert fast == slow
            assert bool(fast["Items"]) == (query["ExpressionAttributeValues"] != {":k": {"S": "none"}})
        start = client.query(TableName="keys", **queries[3])["LastEvaluatedKey"]
        fast_page, slow_page = _query_both_ways(
            client, query_by_partition, TableName="keys", ExclusiveStartKey=start, **queries[3]
        )
        assert fast_page == slow_page
        assert fast_page["Count"] == 4


def _updates(client: Any, item_id: str) -> list[Any]:
    """An update returning old values, one returning new ones, an upsert, a failed condition."""
    update = {
        "TableName": "cases",
        "Key": {"id": {"S": item_id}},
        "UpdateExpression": "SET v = v + :one, tags = :t",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"SS": ["x"]}},
    }
    answers: list[Any] = [
        client.update_item(**update, ReturnValues="ALL_OLD")["Attributes"],
        client.update_item(**update, ReturnValues="UPDATED_NEW")["Attributes"],
        client.update_item(
            TableName="cases",
            Key={"id": {"S": f"{item_id}-new"}},
            UpdateExpression="SET tags = :t",
            ExpressionAttributeValues={":t": {"SS": ["y"]}},
            ReturnValues="ALL_NEW",
        )["Attributes"],
    ]
    with pytest.raises(ClientError) as raised:
        client.update_item(**update, ConditionExpression="v = :one")
    answers.append(raised.value.response["Error"]["Code"])
    answers.append(client.get_item(TableName="cases", Key={"id": {"S": item_id}})["Item"])
    return json.loads(json.dumps(answers).replace(item_id, "ID"))


def test_an_update_of_a_streamless_table_answers_as_moto_does(dynamodb: Any) -> None:
    """GIVEN the item copy for the table's stream skipped WHEN an item is updated, a missing one
    created and a condition fails THEN the values returned and the item stored are moto's own."""
    from pv_local.emulation import update_without_stream_copy

    for item_id in ("case-1", "case-2"):
        dynamodb.put_item(TableName="cases", Item={"id": {"S": item_id}, "v": {"N": "1"}})
    with update_without_stream_copy():
        fast = _updates(dynamodb, "case-1")
    slow = _updates(dynamodb, "case-2")
    assert fast == slow
    assert fast[0] == {"id": {"S": "ID"}, "v": {"N": "1"}}
    assert fast[4] == {"id": {"S": "ID"}, "v": {"N": "3"}, "tags": {"SS": ["x"]}}


def test_a_table_with_a_stream_still_records_the_old_image() -> None:
    from pv_local.emulation import update_without_stream_copy

    with mock_aws(), update_without_stream_copy():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="streamed",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.put_item(TableName="streamed", Item={"id": {"S": "a"}, "v": {"N": "1"}})
        client.update_item(
            TableName="streamed",
            Key={"id": {"S": "a"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "2"}},
        )
        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["streamed"].stream_shard
        records = [r.record for r in shard.items]
    modify = [r["dynamodb"] for r in records if r["eventName"] == "MODIFY"]
    assert modify[0]["OldImage"] == {"id": {"S": "a"}, "v": {"N": "1"}}
    assert modify[0]["NewImage"] == {"id": {"S": "a"}, "v": {"N": "2"}}


def test_sqs_with_its_shortcuts_drops_expired_messages_and_counts_as_moto_does() -> None:
    """GIVEN a queue keeping messages 60 s, one message sent two minutes ago, one just now and one
    delayed WHEN they are received with SQS's clock and retention shortcuts THEN the expired one is
    not delivered, the fresh one is, and the approximate counts are moto's own."""
    from moto.sqs.models import sqs_backends
    from pv_local.emulation import sqs_clock, sqs_retention_by_attribute

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues["q"]
        queue._messages[0].sent_timestamp -= 120_000
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        with sqs_clock(), sqs_retention_by_attribute():
            sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=30)
            assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
            sqs.send_message(QueueUrl=url, MessageBody="new")
            fast_counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        slow_counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        queue._messages.pop(0)  # the expired message (moto leaves it in flight)
        with sqs_clock(), sqs_retention_by_attribute():
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["new"]
    assert fast_counts == slow_counts
    assert fast_counts == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


@contextmanager
def _counted(owner: Any, name: str) -> Iterator[list[int]]:
    """Count the calls of `owner.name` while open."""
    original = getattr(owner, name)
    calls = [0]

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(owner, name, counting)
    try:
        yield calls
    finally:
        setattr(owner, name, original)


def test_a_projection_read_in_one_pass_answers_as_moto_does(dynamodb: Any) -> None:
    """GIVEN stored cases with nested maps and lists WHEN they are read with projections (nested
    paths, a list element, a path inside another, a missing one) by GetItem, BatchGetItem and Query
    THEN the shortcut's answers are moto's own, and the item stored is unchanged."""
    from pv_local.emulation import projection_in_one_pass

    case = {
        "facts": {
            "M": {
                "suspect_drugs": {"L": [{"S": "drug-a"}, {"S": "drug-b"}]},
                "events": {"L": [{"S": "rash"}]},
                "mentions": {"L": [{"M": {"text": {"S": "a rash"}, "start": {"N": "3"}}}]},
            }
        },
        "regulatory": {
            "M": {"coding": {"L": [{"M": {"term": {"M": {"pt": {"S": "1"}}}}}]}, "keys": {"SS": ["k"]}}
        },
        "received_at": {"S": "2026-12-03T10:00:00Z"},
        "n": {"N": "2.5"},
    }
    for item_id in ("c1", "c2"):
        dynamodb.put_item(TableName="cases", Item={"id": {"S": item_id}, **case})
    stored = dynamodb.get_item(TableName="cases", Key={"id": {"S": "c1"}})["Item"]
    names = {"#f": "facts", "#r": "regulatory"}
    projections = [
        "id, received_at, #f.suspect_drugs, #f.events, #r.coding, #r.keys",
        "#f, #f.events, n",
        "#f.mentions[0].text, #r.coding[0].term.pt, missing.path",
    ]

    def reads() -> list[Any]:
        answers: list[Any] = []
        for projection in projections:
            used = {k: v for k, v in names.items() if k in projection}
            options = {"ProjectionExpression": projection, "ExpressionAttributeNames": used}
            answers.append(dynamodb.get_item(TableName="cases", Key={"id": {"S": "c1"}}, **options)["Item"])
            batch = dynamodb.batch_get_item(
                RequestItems={"cases": {"Keys": [{"id": {"S": "c1"}}, {"id": {"S": "c2"}}], **options}}
            )
            answers.append(sorted(batch["Responses"]["cases"], key=json.dumps))
            answers.append(
                dynamodb.query(
                    TableName="cases",
                    KeyConditionExpression="id = :id",
                    ExpressionAttributeValues={":id": {"S": "c2"}},
                    **options,
                )["Items"]
            )
        return answers

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("cases")
    mentions = table.get_item(DynamoType({"S": "c1"})).attrs["facts"].value["mentions"]
    with projection_in_one_pass():
        fast = reads()
        with _counted(DynamoType, "to_regular_json") as conversions:
            mentions.to_regular_json = lambda: pytest.fail("a branch no path names was converted")
            try:
                dynamodb.get_item(
                    TableName="cases",
                    Key={"id": {"S": "c1"}},
                    ProjectionExpression=projections[0],
                    ExpressionAttributeNames=names,
                )
            finally:
                del mentions.to_regular_json
    slow = reads()
    assert fast == slow
    # each value the six paths reach, once: id, received_at, facts with its two lists and their
    # three strings (6), regulatory with its coding list, map, term, pt and keys (6)
    assert conversions == [14]
    assert fast[0]["facts"] == {
        "M": {"suspect_drugs": case["facts"]["M"]["suspect_drugs"], "events": case["facts"]["M"]["events"]}
    }
    assert dynamodb.get_item(TableName="cases", Key={"id": {"S": "c1"}})["Item"] == stored


def test_an_item_size_checked_once_answers_as_moto_does(dynamodb: Any) -> None:
    """GIVEN items of many nested attributes, one just under moto's 400 KB limit and one just over
    WHEN they are put, transacted and batch-written with the size checked once THEN what is stored
    and refused is what moto stores and refuses, and each attribute's size is taken once."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from pv_local.emulation import item_size_checked_once

    nested = {"M": {f"k{i}": {"L": [{"S": "x" * 10}, {"N": "1.5"}, {"BOOL": True}]} for i in range(5)}}
    wide = {f"a{i}": nested for i in range(40)}

    def big(size: int) -> dict[str, Any]:
        return {"blob": {"S": "y" * size}}

    def writes(prefix: str) -> list[Any]:
        answers: list[Any] = []
        for n, attrs in enumerate((wide, big(404_000), big(406_000))):
            item = {"id": {"S": f"{prefix}{n}"}, **attrs}
            try:
                dynamodb.put_item(TableName="cases", Item=item)
                answers.append("stored")
            except ClientError as exc:
                answers.append(exc.response["Error"])
        dynamodb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "cases", "Item": {"id": {"S": f"{prefix}t"}, **wide}}}]
        )
        dynamodb.batch_write_item(
            RequestItems={"cases": [{"PutRequest": {"Item": {"id": {"S": f"{prefix}b"}, **wide}}}]}
        )
        for suffix in ("0", "1", "2", "t", "b"):
            found = dynamodb.get_item(TableName="cases", Key={"id": {"S": f"{prefix}{suffix}"}}).get("Item")
            answers.append(json.loads(json.dumps(found).replace(prefix, "P")) if found else None)
        return answers

    with item_size_checked_once():
        with _counted(DynamoType, "size") as sizes:
            dynamodb.put_item(TableName="cases", Item={"id": {"S": "counted"}, **wide})
        fast = writes("fast-")
    slow = writes("slow-")
    assert fast == slow
    assert fast[:2] == ["stored", "stored"]
    assert fast[2]["Code"] == "ValidationException"
    assert fast[5] is None  # the refused item is not stored
    # 41 attributes, each walked once (the nested ones through their members), not 41 x 40 / 2 times
    assert sizes[0] < 41 * 40


def test_sns_messages_signed_with_one_certificate_verify_as_moto_signs_them() -> None:
    """GIVEN a topic with a queue subscribed WHEN three messages are published with the signing
    certificate made once THEN each message verifies against the certificate its SigningCertURL
    names, and one certificate was made for the three."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.sns.models import sns_backends
    from pv_local.emulation import sns_signing_certificate_once

    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        with _counted(x509.CertificateBuilder, "sign") as certificates, sns_signing_certificate_once():
            for n in range(3):
                sns.publish(TopicArn=topic, Message=f"case {n}")
        bodies = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        ]
        served = sns_backends[DEFAULT_ACCOUNT_ID][REGION]._message_public_keys
        assert sorted(b["Message"] for b in bodies) == ["case 0", "case 1", "case 2"]
        assert len({b["SigningCertURL"] for b in bodies}) == 3
        for body in bodies:
            pem = served[body["SigningCertURL"].rsplit("/", 1)[1]]
            signed = "".join(
                f"{field}\n{body[field]}\n"
                for field in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
            )
            x509.load_pem_x509_certificate(pem).public_key().verify(
                base64.b64decode(body["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
    assert certificates == [1]


def test_values_converted_without_copies_answer_as_moto_does(dynamodb: Any) -> None:
    """GIVEN an item of every attribute type, nested maps and lists several levels deep WHEN its
    values are converted to plain JSON, read whole, projected and queried without the copies THEN
    every answer is moto's own, nothing was deep-copied, and changing an answer leaves the item."""
    from moto.dynamodb.models import dynamo_type
    from pv_local.emulation import regular_json_without_copies

    deep = {"M": {"a": {"L": [{"M": {"b": {"L": [{"S": "c"}, {"SS": ["d", "e"]}]}}}, {"NULL": True}]}}}
    item = {**EVERY_TYPE, "deep": deep}
    dynamodb.put_item(TableName="cases", Item=item)
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("cases")
    stored = table.get_item(DynamoType({"S": "all"}))
    key, value, projection = {"id": {"S": "all"}}, {":id": {"S": "all"}}, "deep.a[0], nested, raws"

    def answers() -> list[Any]:
        return [
            {name: value.to_regular_json() for name, value in stored.attrs.items()},
            stored.to_regular_json(),
            dynamodb.get_item(TableName="cases", Key=key)["Item"],
            dynamodb.get_item(TableName="cases", Key=key, ProjectionExpression=projection)["Item"],
            dynamodb.query(
                TableName="cases", KeyConditionExpression="id = :id", ExpressionAttributeValues=value
            )["Items"],
        ]

    with regular_json_without_copies():
        fast = answers()
        with _counted(dynamo_type.copy, "deepcopy") as copies:
            converted = stored.attrs["deep"].to_regular_json()
    slow = answers()
    assert fast == slow
    assert fast[2] == item
    assert copies == [0]
    converted["M"]["a"]["L"][0]["M"]["b"]["L"][1]["SS"].append("changed")
    converted["M"]["a"]["L"].clear()
    assert dynamodb.get_item(TableName="cases", Key=key)["Item"] == item


def test_an_update_returning_no_values_answers_as_moto_does(dynamodb: Any) -> None:
    """GIVEN the copy and JSON of the item skipped for updates returning no values WHEN items are
    updated returning nothing (by default and by name), returning values, upserted and refused by a
    condition (returning the item as it was) THEN every answer and every stored item is moto's own,
    and an update returning nothing converted no item to JSON."""
    from pv_local.emulation import update_without_returned_values

    def updates(item_id: str) -> list[Any]:
        answers = _updates(dynamodb, item_id)
        plain = {
            "TableName": "cases",
            "Key": {"id": {"S": item_id}},
            "UpdateExpression": "SET v = v + :one REMOVE tags",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        for extra in ({}, {"ReturnValues": "NONE"}, {"ReturnConsumedCapacity": "TOTAL"}):
            answer = dynamodb.update_item(**plain, **extra)
            answer.pop("ResponseMetadata")
            answers.append(answer)
        with pytest.raises(ClientError) as raised:
            dynamodb.update_item(
                **plain, ConditionExpression="v = :one", ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        answers.append(raised.value.response.get("Item"))
        answers.append(dynamodb.get_item(TableName="cases", Key={"id": {"S": item_id}})["Item"])
        return json.loads(json.dumps(answers).replace(item_id, "ID"))

    for item_id in ("case-1", "case-2"):
        dynamodb.put_item(TableName="cases", Item={"id": {"S": item_id}, "v": {"N": "1"}})
    with update_without_returned_values():
        fast = updates("case-1")
        with _counted(Item, "to_json") as conversions:
            dynamodb.update_item(
                TableName="cases",
                Key={"id": {"S": "case-1"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "9"}},
            )
    slow = updates("case-2")
    assert fast == slow
    assert [("Attributes" in answer) for answer in fast[5:8]] == [False, False, False]
    assert fast[8] == {"id": {"S": "ID"}, "v": {"N": "6"}}
    assert fast[9] == {"id": {"S": "ID"}, "v": {"N": "6"}}
    assert conversions == [0]


def test_json_bodies_read_as_sent_answer_as_moto_does(dynamodb: Any) -> None:
    """GIVEN requests with and without binary values (DynamoDB items, an SQS binary attribute, a
    KMS message) WHEN they are answered with plain JSON bodies read as sent THEN every answer and
    every stored item is moto's own, the service model was walked only for the bodies holding
    what its parser converts, and binary values still arrive as bytes."""
    from moto.core.parse import JSONParser
    from pv_local.emulation import json_bodies_as_sent

    sqs = boto3.client("sqs", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    plain = {k: v for k, v in EVERY_TYPE.items() if k not in ("raw", "raws", "mixed")}

    def requests(prefix: str) -> list[Any]:
        answers: list[Any] = []
        for n, item in enumerate((plain, EVERY_TYPE)):
            item_id = {"S": f"{prefix}{n}"}
            dynamodb.put_item(TableName="cases", Item={**item, "id": item_id})
            answers.append(
                dynamodb.update_item(
                    TableName="cases",
                    Key={"id": item_id},
                    UpdateExpression="SET n = n + :one, #names = :names",
                    ExpressionAttributeNames={"#names": "names"},
                    ExpressionAttributeValues={":one": {"N": "1"}, ":names": {"SS": ["c"]}},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            )
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "drugs", "Item": {**item, "id": {"S": f"{prefix}t{n}"}}}}
                ]
            )
            answers.append(dynamodb.get_item(TableName="drugs", Key={"id": {"S": f"{prefix}t{n}"}})["Item"])
            answers.append(
                dynamodb.query(
                    TableName="cases",
                    KeyConditionExpression="id = :id",
                    FilterExpression="flag = :no",
                    ExpressionAttributeValues={":id": item_id, ":no": {"BOOL": False}},
                )["Items"]
            )
        queue = sqs.create_queue(QueueName=f"{prefix}q")["QueueUrl"]
        sqs.send_message(
            QueueUrl=queue,
            MessageBody="case",
            MessageAttributes={"raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
        )
        received = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"][0]
        answers.append((received["Body"], received["MessageAttributes"]))
        answers.append(
            kms.generate_mac(KeyId=key_id, Message=b"\x00case", MacAlgorithm="HMAC_SHA_256")["Mac"]
        )
        return json.loads(
            json.dumps(answers, default=lambda b: base64.b64encode(b).decode()).replace(prefix, "P")
        )

    with json_bodies_as_sent(), _counted(JSONParser, "_parse_json_body") as walked:
        fast = requests("fast-")
    slow = requests("slow-")
    assert fast == slow
    assert fast[0]["n"] == {"N": "13.5"} and fast[0]["names"] == {"SS": ["c"]}
    assert fast[3]["raw"] == {"B": base64.b64encode(b"\x00\xffbytes").decode()}
    assert fast[6][1]["raw"]["BinaryValue"] == base64.b64encode(b"\x00\xff").decode()
    # walked: the put and the transaction writing binary values, and the binary message attribute
    # (KMS reads its own bodies)
    assert walked == [3]


def test_update_expressions_parsed_once_answer_as_moto_does(dynamodb: Any) -> None:
    """GIVEN update expressions parsed once per text WHEN the same expressions update several items
    with different values (a list appended, a set added to, an attribute removed), an item is
    upserted and an expression does not parse THEN every answer and stored item is moto's own,
    the error is moto's each time, and each text was parsed once."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from pv_local.emulation import update_expressions_parsed_once

    expressions = [
        ("SET v = v + :n, tags = list_append(if_not_exists(tags, :empty), :tag)", "ALL_NEW"),
        ("ADD seen :set REMOVE gone", "UPDATED_NEW"),
    ]

    def updates(prefix: str) -> list[Any]:
        answers: list[Any] = []
        for n in range(3):
            key = {"id": {"S": f"{prefix}{n}"}}  # the third is not stored: the ADD upserts it
            for expression, returned in expressions if n < 2 else expressions[1:]:
                answers.append(
                    dynamodb.update_item(
                        TableName="cases",
                        Key=key,
                        UpdateExpression=expression,
                        ExpressionAttributeValues={
                            ":n": {"N": str(n)},
                            ":empty": {"L": []},
                            ":tag": {"L": [{"S": f"t{n}"}]},
                        }
                        if expression.startswith("SET")
                        else {":set": {"SS": [f"s{n}"]}},
                        ReturnValues=returned,
                    ).get("Attributes")
                )
            for _attempt in range(2):
                with pytest.raises(ClientError) as raised:
                    dynamodb.update_item(TableName="cases", Key=key, UpdateExpression="SET = v")
                answers.append(raised.value.response["Error"]["Message"])
        answers += [
            dynamodb.get_item(TableName="cases", Key={"id": {"S": f"{prefix}{n}"}})["Item"] for n in (0, 1, 2)
        ]
        return json.loads(json.dumps(answers).replace(prefix, "P"))

    for prefix in ("fast-", "slow-"):
        for n in (0, 1):
            dynamodb.put_item(
                TableName="cases", Item={"id": {"S": f"{prefix}{n}"}, "v": {"N": "1"}, "gone": {"S": "x"}}
            )
    with update_expressions_parsed_once(), _counted(UpdateExpressionParser, "_parse") as parses:
        fast = updates("fast-")
    slow = updates("slow-")
    assert fast == slow
    assert fast[-2]["tags"] == {"L": [{"S": "t1"}]} and fast[-2]["v"] == {"N": "2"}
    assert "gone" not in fast[-2] and fast[-1] == {"id": {"S": "P2"}, "seen": {"SS": ["s2"]}}
    assert parses == [2 + 3 * 2]  # each good text once; the bad one each time (it never parses)


def test_messages_sent_without_the_queue_attributes_are_queued_as_moto_queues_them() -> None:
    """GIVEN a standard queue, a FIFO queue deduplicating by content and one that does not WHEN
    messages are sent (one twice, one without the id the FIFO queue needs, one in a batch) with the
    deduplication flag read alone THEN what is received, refused and counted is moto's own, and no
    message sent worked out the queue's attributes."""
    import moto.sqs.models as sqs_models
    from pv_local.emulation import sqs_send_without_queue_attributes

    def exchange(sqs: Any) -> list[Any]:
        answers: list[Any] = []
        standard = sqs.create_queue(QueueName="cases")["QueueUrl"]
        by_content = sqs.create_queue(
            QueueName="cases.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        by_id = sqs.create_queue(QueueName="ids.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        with _counted(sqs_models, "camelcase_to_underscores") as worked_out:
            for _ in range(2):
                sqs.send_message(QueueUrl=standard, MessageBody="case")
                sqs.send_message(QueueUrl=by_content, MessageBody="case", MessageGroupId="g")
            sqs.send_message_batch(QueueUrl=standard, Entries=[{"Id": "1", "MessageBody": "batched"}])
            for kwargs in ({}, {"MessageGroupId": "g"}):
                with pytest.raises(ClientError) as raised:
                    sqs.send_message(QueueUrl=by_id, MessageBody="case", **kwargs)
                answers.append(raised.value.response["Error"])
            sqs.send_message(
                QueueUrl=by_id, MessageBody="case", MessageGroupId="g", MessageDeduplicationId="d"
            )
        answers.append(worked_out[0])
        for url in (standard, by_content, by_id):
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            answers.append(sorted(m["Body"] for m in received))
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            answers.append({k: v for k, v in attributes.items() if not k.endswith(("Timestamp", "Arn"))})
        return answers

    with mock_aws(), sqs_send_without_queue_attributes():
        fast = exchange(boto3.client("sqs", region_name=REGION))
    with mock_aws():
        slow = exchange(boto3.client("sqs", region_name=REGION))
    assert fast[2] == 0 and slow[2] > 0  # moto works every attribute out per message
    assert fast[:2] + fast[3:] == slow[:2] + slow[3:]
    assert fast[3] == ["batched", "case", "case"] and fast[5] == ["case"]  # the FIFO twin deduplicated
    assert fast[4]["ApproximateNumberOfMessagesNotVisible"] == "3"
    assert fast[7] == ["case"]


def test_action_methods_listed_once_answer_as_moto_does(dynamodb: Any) -> None:
    """GIVEN a service's action methods listed once per response class WHEN DynamoDB and SQS are
    called several times each (a refused call among them) THEN the answers are moto's own and each
    class's methods were listed once, where moto lists them on every request."""
    import inspect

    from pv_local.emulation import action_methods_listed_once

    sqs = boto3.client("sqs", region_name=REGION)

    def calls(prefix: str) -> list[Any]:
        answers: list[Any] = []
        queue = sqs.create_queue(QueueName=f"{prefix}q")["QueueUrl"]
        for n in range(3):
            dynamodb.put_item(TableName="cases", Item={"id": {"S": f"{prefix}{n}"}, "v": {"N": str(n)}})
            answers.append(dynamodb.get_item(TableName="cases", Key={"id": {"S": f"{prefix}{n}"}})["Item"])
            sqs.send_message(QueueUrl=queue, MessageBody=str(n))
        with pytest.raises(ClientError) as raised:
            dynamodb.get_item(TableName="missing", Key={"id": {"S": "x"}})
        answers.append(raised.value.response["Error"]["Code"])
        answers.append(
            sorted(m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"])
        )
        return json.loads(json.dumps(answers).replace(prefix, "P"))

    with action_methods_listed_once(), _counted(inspect, "getmembers") as listings:
        fast = calls("fast-")
    with _counted(inspect, "getmembers") as moto_listings:
        slow = calls("slow-")
    assert fast == slow
    assert fast[-1] == ["0", "1", "2"]
    assert listings == [2] and moto_listings[0] > 10  # DynamoDB's class and SQS's, once each
