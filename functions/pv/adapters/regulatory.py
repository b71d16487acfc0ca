"""boto3 behind the regulatory domain: the match-key index and the E2B files (the cases themselves
change through the review workbench's store, pv.adapters.review_store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key


class MatchKeyTable:
    """The MatchKeysTable: one item per (keyed hash, case id); keys only, no raw identifier."""

    def __init__(self, table: Any) -> None:
        self.table = table  # boto3 dynamodb Table resource

    def case_ids(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for match_key in dict.fromkeys(keys):
            kwargs: dict[str, Any] = {"KeyConditionExpression": Key("match_key").eq(match_key)}
            while True:
                page = self.table.query(ProjectionExpression="case_id", **kwargs)
                found.update(item["case_id"] for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def add(self, case_id: str, keys: Sequence[str]) -> None:
        with self.table.batch_writer(overwrite_by_pkeys=["match_key", "case_id"]) as batch:
            for match_key in dict.fromkeys(keys):
                batch.put_item(Item={"match_key": match_key, "case_id": case_id})

    def writes(self, case_id: str, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The items `add` writes, as TransactWriteItems puts to write with the case itself."""
        return [
            {"Put": {"TableName": self.table.name, "Item": {"match_key": match_key, "case_id": case_id}}}
            for match_key in dict.fromkeys(keys)
        ]


@dataclass
class E2bBucket:
    """ICSR files in the intake bucket under e2b/ (never notified: no channel prefix)."""

    s3: Any
    bucket: str

    def put(self, key: str, xml: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=xml, ContentType="application/xml")
