"""The Cases table (its alert-pending and status indexes) and the case-drug index table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from pv.adapters.stores import (
    TransactionConflict,
    batch_get,
    existing_keys,
    from_item,
    is_conditional_failure,
    scan_items,
    stored_datetime,
    to_item,
    transact,
)
from pv.case_models import Case, CaseFacts
from pv.regulatory.linking import LINKED_CASE_ATTRIBUTES, LinkedCase

# What the inbox's indexes carry besides their keys (status, due date, case id, drug): the names
# match the template's index projections. No text, no personal data.
LISTED_ATTRIBUTES = ("channel", "received_at", "serious", "listed_drugs", "listed_events", "version")
# The sparse index of cases whose alert is not sent yet (template: CasesTable's by-alert-pending):
# a case carries ALERT_PENDING until mark_alert_sent removes it, so the index holds only those.
ALERT_PENDING_INDEX = "by-alert-pending"
ALERT_PENDING = "alert_pending"
# A transaction holds at most 100 items: the case, one index item per drug, and what is written
# with the case (its match keys; a reviewer's change writes its audit record in their place).
MAX_TRANSACTION_ITEMS = 100
MAX_INDEXED_DRUGS = 90
MAX_WRITTEN_WITH_CASE = MAX_TRANSACTION_ITEMS - 1 - MAX_INDEXED_DRUGS


def _projection(paths: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """A ProjectionExpression of these attribute paths, every name through a placeholder (some are
    reserved words), and its ExpressionAttributeNames."""
    placeholders: dict[str, str] = {}
    expression = ", ".join(
        ".".join(placeholders.setdefault(part, f"#a{len(placeholders)}") for part in path.split("."))
        for path in paths
    )
    return expression, {placeholder: name for name, placeholder in placeholders.items()}


# What linking reads of a stored case (`LinkedCase`), worked out once.
_LINKED_PROJECTION, _LINKED_NAMES = _projection(LINKED_CASE_ATTRIBUTES)


def listing_attributes(case: Case, listed: CaseFacts) -> dict[str, Any]:
    """The inbox's view of a case: its status and due date, and the publishable drug and event
    names of `listed` (`pv.cases.publishable_facts`)."""
    return {
        "status": case.status,
        "due_date": case.due_date.isoformat(),
        "channel": case.channel.value,
        "received_at": case.received_at.isoformat(),
        "serious": listed.serious,
        "listed_drugs": list(dict.fromkeys(listed.suspect_drugs)),
        "listed_events": list(dict.fromkeys(listed.events)),
        "version": case.version,
    }


def drug_index_items(case_id: str, listing: dict[str, Any]) -> list[dict[str, Any]]:
    """One item per listed suspect drug: a case is found under any of them (a GSI indexes one value
    per item, so the drugs of a case are items of their own)."""
    return [
        {"case_id": case_id, "drug": drug, **listing} for drug in listing["listed_drugs"][:MAX_INDEXED_DRUGS]
    ]


class CaseStore:
    """The Cases table (its GSI `by-status-due` lists cases by status and due date) and, when
    given, the case-drug index table (a case found under any of its suspect drugs)."""

    def __init__(self, table: Any, drug_index: Any | None = None) -> None:
        self.table = table
        self.drug_index = drug_index

    def create(
        self, case: Case, listed: CaseFacts | None = None, with_case: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Store a new case and its drug index items in one transaction; False when a case with
        this id already exists. `listed`: the publishable facts the inbox shows (the case's own
        when not given); `with_case`: more TransactWriteItems actions (plain values, at most
        MAX_WRITTEN_WITH_CASE) written with the case or not at all."""
        if len(with_case) > MAX_WRITTEN_WITH_CASE:
            raise ValueError(f"at most {MAX_WRITTEN_WITH_CASE} items are written with a case")
        listing = listing_attributes(case, listed or case.facts)
        item = to_item(case, **listing)
        if case.alert_state != "sent":
            item[ALERT_PENDING] = "pending"
        condition = "attribute_not_exists(case_id)"
        if self.drug_index is None and not with_case:
            try:
                self.table.put_item(Item=item, ConditionExpression=condition)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
            return True
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table.name, "Item": item, "ConditionExpression": condition}}
        ]
        if self.drug_index is not None:
            actions += [
                {"Put": {"TableName": self.drug_index.name, "Item": index_item}}
                for index_item in drug_index_items(case.case_id, listing)
            ]
        actions += with_case
        try:
            transact(self.table.meta.client, actions)
        except TransactionConflict:
            return False
        return True

    def existing(self, case_ids: list[str]) -> set[str]:
        """Which of these cases are stored (BatchGetItem, 100 ids a request)."""
        return existing_keys(self.table, "case_id", case_ids)

    def get(self, case_id: str) -> Case | None:
        item = self.table.get_item(Key={"case_id": case_id}, ConsistentRead=True).get("Item")
        return Case.model_validate(from_item(item)) if item else None

    def linked_cases(self, case_ids: list[str]) -> list[LinkedCase]:
        """What linking reads of the stored cases among these ids (`LINKED_CASE_ATTRIBUTES`
        alone, one BatchGetItem per 100 ids), in the order given."""
        items = batch_get(
            self.table,
            "case_id",
            case_ids,
            ConsistentRead=True,
            ProjectionExpression=_LINKED_PROJECTION,
            ExpressionAttributeNames=_LINKED_NAMES,
        )
        by_id = {i["case_id"]: i for i in items}
        return [LinkedCase.model_validate(from_item(by_id[i])) for i in dict.fromkeys(case_ids) if i in by_id]

    def mark_alert_sent(self, case_id: str) -> None:
        """Record the alert as published; the case leaves the alert-pending index."""
        self.table.update_item(
            Key={"case_id": case_id},
            UpdateExpression=f"SET alert_state = :sent REMOVE {ALERT_PENDING}",
            ExpressionAttributeValues={":sent": "sent"},
        )

    def pending_alerts(self, created_before: datetime | None = None) -> list[str]:
        """Ids of the cases whose alert is not sent, oldest first (the sparse index, not a scan);
        `created_before`: leaves out cases still being opened."""
        condition = "#pending = :pending"
        values: dict[str, Any] = {":pending": "pending"}
        if created_before is not None:
            condition += " AND created_at < :before"
            values[":before"] = stored_datetime(created_before)
        kwargs: dict[str, Any] = {
            "IndexName": ALERT_PENDING_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#pending": ALERT_PENDING},
            "ExpressionAttributeValues": values,
        }
        ids: list[str] = []
        while True:
            page = self.table.query(**kwargs)
            ids += [item["case_id"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(
        self, *, status: str | None = None, serious: bool | None = None, drug: str | None = None
    ) -> list[Case]:
        """Every case, newest first, filtered by status, seriousness and suspect drug (a scan: for
        the local stack and operators; the review API pages through the indexes instead)."""
        cases = [Case.model_validate(from_item(i)) for i in scan_items(self.table)]
        cases = [
            c
            for c in cases
            if (status is None or c.status == status)
            and (serious is None or c.facts.serious == serious)
            and (drug is None or drug.lower() in c.facts.suspect_drugs)
        ]
        return sorted(cases, key=lambda c: c.created_at, reverse=True)
