"""The review side of the Cases table: inbox pages from its indexes, and each change applied to a
case together with its audit record in one transaction.

Indexes (template.yaml):
- `by-status-due` on the Cases table (status, due date): a case item's status and due date are
  updated with every change, so the index follows them;
- `by-drug-due` on the CaseDrugs table (drug, due date): one item per listed suspect drug of a
  case, written and updated in the same transactions as the case;
both project only what an inbox line shows (`LISTED_ATTRIBUTES`): no text, no personal data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from pv.case_models import Case
from pv.review.lifecycle import is_overdue
from pv.review.models import AuditRecord, CasePage, CaseRow, InboxQuery

from .case_store import CaseStore, drug_index_items
from .stores import TransactionConflict, from_item, to_item, transact

STATUS_INDEX = "by-status-due"
DRUG_INDEX = "by-drug-due"


class StaleVersion(Exception):
    """The case (or `case_id`, another case of the same change) changed since the version the
    caller saw."""

    def __init__(self, current: int | None, case_id: str | None = None) -> None:
        super().__init__(f"{case_id or 'the case'} is at version {current}")
        self.current = current
        self.case_id = case_id


@dataclass(frozen=True)
class CaseWrite:
    """One case's part of a transaction: the case as read and as changed, its audit record and
    its inbox line."""

    before: Case
    after: Case
    record: AuditRecord
    listing: dict[str, Any]


class BadCursor(ValueError):
    """A cursor that is not ours, or belongs to other filters."""


@dataclass(frozen=True)
class _Partition:
    """One sorted run of an index: a status of `by-status-due`, or a drug of `by-drug-due`."""

    name: str
    table: Any
    index: str
    key: ConditionBase
    filter: ConditionBase | None
    start_keys: tuple[str, ...]  # the item attributes an ExclusiveStartKey of this index needs


class ReviewStore:
    """Inbox queries, case changes with their audit records, and audit trails."""

    def __init__(self, cases: CaseStore, audit_table: Any) -> None:
        if cases.drug_index is None:
            raise ValueError("the review store needs the case-drug index table")
        self.cases = cases
        self.drug_index: Any = cases.drug_index
        self.audit = audit_table

    # inbox ---------------------------------------------------------------------------------

    def page(self, query: InboxQuery, today: date) -> CasePage:
        """A page of inbox lines sorted by due date: the runs of the indexes the filters name,
        merged. Never a scan."""
        partitions = self._partitions(query)
        positions = self._positions(query, partitions)
        fetched = {
            p.name: self._fetch(p, positions[p.name], query)
            for p in partitions
            if positions[p.name] != "done"
        }
        descending = query.order == "desc"

        def sort_key(entry: tuple[int, dict[str, Any]]) -> tuple[str, int]:
            return (entry[1]["due_date"], entry[0])

        runs = [
            [(i, item) for item in fetched[p.name][0]] for i, p in enumerate(partitions) if p.name in fetched
        ]
        merged = heapq.merge(*runs, key=sort_key, reverse=descending)
        taken: list[tuple[int, dict[str, Any]]] = []
        for entry in merged:
            if len(taken) == query.limit:
                break
            taken.append(entry)
        for i, p in enumerate(partitions):
            if p.name not in fetched:
                continue
            items, more = fetched[p.name]
            mine = [item for j, item in taken if j == i]
            if mine:
                positions[p.name] = {k: mine[-1][k] for k in p.start_keys}
            if len(mine) == len(items) and not more:
                positions[p.name] = "done"
        rows = [self._row(item, today) for _, item in taken]
        done = all(v == "done" for v in positions.values())
        return CasePage(cases=rows, next_cursor=None if done else _encode(query, positions))

    def _partitions(self, query: InboxQuery) -> list[_Partition]:
        due = Key("due_date").lt(query.due_before.isoformat()) if query.due_before else None
        filters: list[ConditionBase] = []
        if query.serious is not None:
            filters.append(Attr("serious").eq(query.serious))
        if query.channel is not None:
            filters.append(Attr("channel").eq(query.channel.value))
        if query.drug is not None:
            drug = query.drug.strip().lower()
            key = Key("drug").eq(drug) & due if due is not None else Key("drug").eq(drug)
            filters.append(Attr("status").is_in(list(query.statuses)))
            return [
                _Partition(
                    f"drug:{drug}",
                    self.drug_index,
                    DRUG_INDEX,
                    key,
                    _all(filters),
                    ("case_id", "drug", "due_date"),
                )
            ]
        return [
            _Partition(
                f"status:{status}",
                self.cases.table,
                STATUS_INDEX,
                Key("status").eq(status) & due if due is not None else Key("status").eq(status),
                _all(filters),
                ("case_id", "status", "due_date"),
            )
            for status in dict.fromkeys(query.statuses)
        ]

    @staticmethod
    def _positions(query: InboxQuery, partitions: list[_Partition]) -> dict[str, Any]:
        names = [p.name for p in partitions]
        if query.cursor is None:
            return dict.fromkeys(names)
        state = _decode(query.cursor)
        if state.get("q") != _fingerprint(query) or set(state.get("p", {})) != set(names):
            raise BadCursor("the cursor belongs to other filters")
        return dict(state["p"])

    @staticmethod
    def _fetch(
        partition: _Partition, after: dict[str, Any] | None, query: InboxQuery
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` matching items after `after`, and whether the run has more."""
        kwargs: dict[str, Any] = {
            "IndexName": partition.index,
            "KeyConditionExpression": partition.key,
            "ScanIndexForward": query.order == "asc",
            "Limit": query.limit,
        }
        if partition.filter is not None:
            kwargs["FilterExpression"] = partition.filter
        if after:
            kwargs["ExclusiveStartKey"] = after
        items: list[dict[str, Any]] = []
        while True:
            page = partition.table.query(**kwargs)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if last is None:
                return items[: query.limit], len(items) > query.limit
            if len(items) >= query.limit:
                return items[: query.limit], True
            kwargs["ExclusiveStartKey"] = last

    @staticmethod
    def _row(item: dict[str, Any], today: date) -> CaseRow:
        plain = from_item(item)
        due = date.fromisoformat(plain["due_date"])
        return CaseRow(
            case_id=plain["case_id"],
            status=plain["status"],
            due_date=due,
            overdue=is_overdue(plain["status"], due, today),
            received_at=plain.get("received_at"),
            serious=bool(plain.get("serious", False)),
            channel=plain.get("channel"),
            suspect_drugs=plain.get("listed_drugs", []),
            events=plain.get("listed_events", []),
            version=int(plain.get("version", 1)),
        )

    # changes ---------------------------------------------------------------------------------

    def apply(self, before: Case, after: Case, record: AuditRecord, listing: dict[str, Any]) -> None:
        """Write the changed case, its audit record and its drug index items in one transaction."""
        self.apply_all([CaseWrite(before, after, record, listing)])

    def apply_all(self, writes: Sequence[CaseWrite]) -> None:
        """Write each changed case, its audit record and its drug index items, all in one
        transaction (a confirmed follow-up changes its own case and the earlier one).

        A case is updated only where it changed (CaseFunction may set `alert_state` meanwhile)
        and only while it is still at `before.version`; a record is appended only if no record
        has its number. Raises `StaleVersion` (with that case's current version) when another
        change came first to any of the cases: then nothing is written.
        """
        actions: list[dict[str, Any]] = []
        owners: list[str] = []  # the case id of each action, to name the one whose condition failed
        for write in writes:
            mine = self._actions(write)
            actions += mine
            owners += [write.after.case_id] * len(mine)
        try:
            transact(self.cases.table.meta.client, actions)
        except TransactionConflict as conflict:
            failed = owners[conflict.index] if conflict.index is not None else writes[0].after.case_id
            current = self.cases.get(failed)
            raise StaleVersion(current.version if current else None, case_id=failed) from conflict

    def _actions(self, write: CaseWrite) -> list[dict[str, Any]]:
        before, after, record, listing = write.before, write.after, write.record, write.listing
        old, new = to_item(before), to_item(after, **listing)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":expected": before.version}
        sets, removes = [], []
        for i, (field, value) in enumerate(new.items()):
            if field == "case_id" or old.get(field) == value:
                continue
            names[f"#f{i}"] = field
            values[f":v{i}"] = value
            sets.append(f"#f{i} = :v{i}")
        for i, field in enumerate(f for f in old if f not in new):
            names[f"#r{i}"] = field
            removes.append(f"#r{i}")
        names["#version"] = "version"
        # Cases stored before versions were kept read as version 1.
        condition = "#version = :expected"
        if before.version == 1:
            condition = f"({condition} OR attribute_not_exists(#version))"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.cases.table.name,
                    "Key": {"case_id": after.case_id},
                    "UpdateExpression": expression,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "Put": {
                    "TableName": self.audit.name,
                    "Item": to_item(record),
                    "ConditionExpression": "attribute_not_exists(case_id)",
                }
            },
        ]
        drug_table = self.drug_index.name
        indexed = drug_index_items(after.case_id, listing)
        kept = {i["drug"] for i in indexed}
        actions += [
            {"Delete": {"TableName": drug_table, "Key": {"case_id": after.case_id, "drug": drug}}}
            for drug in self._indexed_drugs(after.case_id)
            if drug not in kept
        ]
        actions += [{"Put": {"TableName": drug_table, "Item": item}} for item in indexed]
        return actions

    def _indexed_drugs(self, case_id: str) -> list[str]:
        """The drugs a case is indexed under now (its items in the case-drug table)."""
        response = self.drug_index.query(
            KeyConditionExpression=Key("case_id").eq(case_id),
            ProjectionExpression="drug",
            ConsistentRead=True,
        )
        return [item["drug"] for item in response.get("Items", [])]

    # audit -------------------------------------------------------------------------------------

    def audit_trail(self, case_id: str) -> list[AuditRecord]:
        """A case's audit records, oldest first."""
        return [AuditRecord.model_validate(from_item(item)) for item in self._audit_items(case_id)]

    def _audit_items(self, case_id: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("case_id").eq(case_id),
            "ConsistentRead": True,
        }
        while True:
            page = self.audit.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _all(conditions: list[ConditionBase]) -> ConditionBase | None:
    combined: ConditionBase | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def _fingerprint(query: InboxQuery) -> str:
    return hashlib.sha256(query.fingerprint().encode()).hexdigest()[:16]


def _encode(query: InboxQuery, positions: dict[str, Any]) -> str:
    state = {"q": _fingerprint(query), "p": positions}
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":"), default=str).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadCursor("not a cursor of this API") from exc
    if not isinstance(state, dict) or not isinstance(state.get("p"), dict):
        raise BadCursor("not a cursor of this API")
    return state
