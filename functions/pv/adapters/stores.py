"""DynamoDB tables: one screening record per document, and the item helpers every table uses.

The Cases table and its drug index are `pv.adapters.case_store` (CaseFunction's, off
ScreenFunction's import path).
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pv.models import Screening

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter

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


def batch_get(table: Any, key: str, values: list[str], **options: Any) -> list[dict[str, Any]]:
    """The items of `table` whose `key` is one of `values`, in any order (one BatchGetItem per 100
    keys, throttled keys asked again); `options`: ProjectionExpression, ConsistentRead."""
    ids = list(dict.fromkeys(values))
    found: list[dict[str, Any]] = []
    client = table.meta.client  # the Table's client (de)serializes values as the Table does
    for start in range(0, len(ids), _BATCH_GET_MAX):
        keys = [{key: i} for i in ids[start : start + _BATCH_GET_MAX]]
        request: dict[str, Any] = {table.name: {"Keys": keys, **options}}
        for attempt in itertools.count():
            if not request:
                break
            if attempt:
                time.sleep(min(1.0, 0.05 * 2**attempt))
            response = client.batch_get_item(RequestItems=request)
            found.extend(response["Responses"].get(table.name, []))
            request = response.get("UnprocessedKeys") or {}
    return found


class OriginalNotScreened(Exception):
    """A duplicate arrived before the first delivery of its document was recorded."""


def is_conditional_failure(exc: ClientError) -> bool:
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
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def record_duplicate(self, document_id: str, ref: str) -> None:
        """Note another delivery of an already screened document (once per key and version).

        `ref`: `source_ref(key, version)`. The screened delivery itself is not noted again.
        Raises `OriginalNotScreened` while the first delivery has no record yet (it failed, or
        is later in the same batch), so the duplicate's message is retried after it.
        """
        key, _, version = ref.partition("?versionId=")
        values = {":none": [], ":refs": [ref], ":ref": ref, ":key": key}
        other = "source_key <> :key"
        if version:
            other = f"({other} OR attribute_not_exists(source_version) OR source_version <> :version)"
            values[":version"] = version
        try:
            self.table.update_item(
                Key={"document_id": document_id},
                UpdateExpression="SET duplicate_keys = "
                "list_append(if_not_exists(duplicate_keys, :none), :refs)",
                ConditionExpression="attribute_exists(document_id)"
                f" AND NOT contains(duplicate_keys, :ref) AND {other}",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            if not self.existing([document_id]):
                raise OriginalNotScreened(document_id) from exc

    def existing(self, document_ids: list[str]) -> set[str]:
        """Which of these documents already have a screening record (one BatchGetItem per 100 ids,
        not one GetItem per document)."""
        return existing_keys(self.table, "document_id", document_ids)

    def screened_since(self, since: datetime) -> list[dict[str, Any]]:
        """The records screened at or after `since`, as stored (a filtered scan: for the scheduled
        reconciliation and operators, not hot paths)."""
        from boto3.dynamodb.conditions import Attr

        return [
            from_item(i)
            for i in scan_items(self.table, FilterExpression=Attr("screened_at").gte(stored_datetime(since)))
        ]

    def get(self, document_id: str) -> Screening | None:
        item = self.table.get_item(Key={"document_id": document_id}).get("Item")
        return Screening.model_validate(from_item(item)) if item else None

    def list(self) -> list[Screening]:
        """Every record, newest first (a scan: for the local stack and operators, not hot paths)."""
        records = [Screening.model_validate(from_item(i)) for i in scan_items(self.table)]
        return sorted(records, key=lambda s: s.screened_at, reverse=True)


class TransactionConflict(Exception):
    """A condition of a transaction failed; `index` is the position of the item that failed it."""

    def __init__(self, index: int | None) -> None:
        super().__init__(f"condition failed on item {index}")
        self.index = index


def transact(client: Any, actions: list[dict[str, Any]]) -> None:
    """One TransactWriteItems, all or nothing. `client`: a Table resource's `meta.client`, which
    takes plain values (floats as Decimals) in `Item`, `Key` and `ExpressionAttributeValues`.
    Raises `TransactionConflict` when a condition failed."""
    items = []
    for action in actions:
        ((kind, spec),) = action.items()
        spec = dict(spec)
        for field in ("Item", "Key", "ExpressionAttributeValues"):
            if field in spec:
                spec[field] = to_plain_item(spec[field])
        items.append({kind: spec})
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
        if not failed and reasons:
            raise
        raise TransactionConflict(failed[0] if failed else None) from exc


def existing_keys(table: Any, key: str, ids: list[str]) -> set[str]:
    """Which of these hash keys have an item in `table` (`batch_get` of the key alone)."""
    items = batch_get(table, key, ids, ProjectionExpression="#k", ExpressionAttributeNames={"#k": key})
    return {item[key] for item in items}


def stored_datetime(value: datetime) -> str:
    """A datetime as the models store it (pydantic's JSON form), so stored values compare as text."""
    return str(_datetime_adapter().dump_python(value, mode="json"))


@cache
def _datetime_adapter() -> TypeAdapter[datetime]:
    # Built on first use: only the reconciliation's and the alert-pending queries compare times.
    from pydantic import TypeAdapter

    return TypeAdapter(datetime)


def to_plain_item(values: dict[str, Any]) -> dict[str, Any]:
    """Floats as Decimals (what DynamoDB takes), everything else as it is."""
    return json.loads(json.dumps(values, default=_plain), parse_float=Decimal)


def scan_items(table: Any, **scan: Any) -> list[dict[str, Any]]:
    """Every item of a table (that `scan`'s FilterExpression keeps), page by page."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = dict(scan)
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
