"""DynamoDB tables: one screening record per document, and the cases."""

from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from pv.models import Case, Screening

NO_DRUG = "unknown"
_BATCH_GET_MAX = 100  # keys per DynamoDB BatchGetItem


def to_item(model: BaseModel, **extra: Any) -> dict[str, Any]:
    """A pydantic model as a DynamoDB item (floats become Decimals, None values are dropped)."""
    item = json.loads(model.model_dump_json(exclude_none=True), parse_float=Decimal)
    item.update(extra)
    return item


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item back to plain JSON types."""
    return json.loads(json.dumps(item, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


class OriginalNotScreened(Exception):
    """A duplicate arrived before the first delivery of its document was recorded."""


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class ScreeningStore:
    """The Screenings table: exactly one record per document id."""

    def __init__(self, table: Any) -> None:
        self.table = table  # boto3 dynamodb Table resource

    def put_if_absent(self, screening: Screening) -> bool:
        """Write the record unless one exists; False when the document was already screened."""
        try:
            self.table.put_item(
                Item=to_item(screening), ConditionExpression="attribute_not_exists(document_id)"
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def record_duplicate(self, document_id: str, source_key: str) -> None:
        """Note another key that delivered an already screened document (once per key).

        Raises `OriginalNotScreened` while the first delivery has no record yet (it failed, or
        is later in the same batch), so the duplicate's message is retried after it.
        """
        try:
            self.table.update_item(
                Key={"document_id": document_id},
                UpdateExpression="SET duplicate_keys = "
                "list_append(if_not_exists(duplicate_keys, :none), :keys)",
                ConditionExpression="attribute_exists(document_id) AND source_key <> :key"
                " AND NOT contains(duplicate_keys, :key)",
                ExpressionAttributeValues={":none": [], ":keys": [source_key], ":key": source_key},
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            if not self.existing([document_id]):
                raise OriginalNotScreened(document_id) from exc

    def existing(self, document_ids: list[str]) -> set[str]:
        """Which of these documents already have a screening record (one BatchGetItem per 100 ids,
        not one GetItem per document)."""
        ids = list(dict.fromkeys(document_ids))
        found: set[str] = set()
        client = self.table.meta.client
        for start in range(0, len(ids), _BATCH_GET_MAX):
            # The Table's client (de)serializes attribute values as the Table does.
            keys = [{"document_id": i} for i in ids[start : start + _BATCH_GET_MAX]]
            request: dict[str, Any] = {self.table.name: {"Keys": keys, "ProjectionExpression": "document_id"}}
            for attempt in itertools.count():
                if not request:
                    break
                if attempt:
                    time.sleep(min(1.0, 0.05 * 2**attempt))
                response = client.batch_get_item(RequestItems=request)
                found.update(item["document_id"] for item in response["Responses"].get(self.table.name, []))
                request = response.get("UnprocessedKeys") or {}  # throttled keys: asked again
        return found

    def get(self, document_id: str) -> Screening | None:
        item = self.table.get_item(Key={"document_id": document_id}).get("Item")
        return Screening.model_validate(from_item(item)) if item else None

    def list(self) -> list[Screening]:
        """Every record, newest first (a scan: for the local stack and operators, not hot paths)."""
        records = [Screening.model_validate(from_item(i)) for i in scan_items(self.table)]
        return sorted(records, key=lambda s: s.screened_at, reverse=True)


class CaseStore:
    """The Cases table, with GSIs by status and due date, and by suspect drug."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def create(self, case: Case) -> bool:
        """Store a new case; False when a case with this id already exists."""
        drugs = case.facts.suspect_drugs
        item = to_item(
            case,
            primary_drug=drugs[0] if drugs else NO_DRUG,
            serious=case.facts.serious,
        )
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(case_id)")
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def get(self, case_id: str) -> Case | None:
        item = self.table.get_item(Key={"case_id": case_id}, ConsistentRead=True).get("Item")
        return Case.model_validate(from_item(item)) if item else None

    def mark_alert_sent(self, case_id: str) -> None:
        self.table.update_item(
            Key={"case_id": case_id},
            UpdateExpression="SET alert_state = :sent",
            ExpressionAttributeValues={":sent": "sent"},
        )

    def list(
        self, *, status: str | None = None, serious: bool | None = None, drug: str | None = None
    ) -> list[Case]:
        """Cases newest first, filtered by status, seriousness and suspect drug."""
        if drug is not None:
            items = _query(self.table, "by-drug", Key("primary_drug").eq(drug.lower()))
        elif status is not None:
            items = _query(self.table, "by-status-due", Key("status").eq(status))
        else:
            items = scan_items(self.table)
        cases = [Case.model_validate(from_item(i)) for i in items]
        cases = [
            c
            for c in cases
            if (status is None or c.status == status)
            and (serious is None or c.facts.serious == serious)
            and (drug is None or drug.lower() in c.facts.suspect_drugs)
        ]
        return sorted(cases, key=lambda c: c.created_at, reverse=True)


def scan_items(table: Any) -> list[dict[str, Any]]:
    """Every item of a table, page by page."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _query(table: Any, index: str, condition: Any) -> list[dict[str, Any]]:
    items, kwargs = [], {"IndexName": index, "KeyConditionExpression": condition}
    while True:
        page = table.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
