"""boto3 behind the regulatory domain: the match-key index, regulatory records of cases, E2B files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key

from pv.adapters.stores import to_item
from pv.models import Case
from pv.regulatory.models import RegulatoryRecord

# (case as read, its new record, what changed, who) -> a TransactWriteItems entry for the audit
# table, from the review workbench's audit path; None until it gives one.
AuditItem = Callable[[Case, RegulatoryRecord, str, str], dict[str, Any]]


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


@dataclass
class CaseRegulatoryStore:
    """Writes the `regulatory` attribute of cases in the Cases table, several in one transaction."""

    table: Any  # boto3 dynamodb Table resource
    audit_item: AuditItem | None = None

    def save(self, changes: Sequence[tuple[Case, RegulatoryRecord, str]], actor: str) -> None:
        items: list[dict[str, Any]] = []
        for case, record, what in changes:
            items.append(
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": {"case_id": case.case_id},
                        "UpdateExpression": "SET regulatory = :record",
                        "ConditionExpression": "attribute_exists(case_id)",
                        "ExpressionAttributeValues": {":record": to_item(record)},
                    }
                }
            )
            if self.audit_item is not None:
                items.append(self.audit_item(case, record, what, actor))
        # The resource's client takes plain values (it serializes them as the Table does).
        self.table.meta.client.transact_write_items(TransactItems=items)


@dataclass
class E2bBucket:
    """ICSR files in the intake bucket under e2b/ (never notified: no channel prefix)."""

    s3: Any
    bucket: str

    def put(self, key: str, xml: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=xml, ContentType="application/xml")
