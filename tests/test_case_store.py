"""The Cases table's sparse alert-pending index, in the template's own table (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from moto import mock_aws
from pv.adapters.case_store import CaseStore
from regulatory_inputs import CaseDesk, email
from template_stack import provision_template
from template_stack import tables as template_tables


def test_a_case_is_found_as_alert_pending_until_its_alert_is_sent() -> None:
    """GIVEN two cases stored as CaseFunction stores them WHEN one's alert is sent THEN only the
    other is still found by the by-alert-pending index (finding 9 of issue 15: nothing found the
    cases whose alert was still pending), and the index carries ids only."""
    with mock_aws():
        tables = template_tables(provision_template(), "CasesTable", "CaseDrugsTable")
        store = CaseStore(tables["CasesTable"], drug_index=tables["CaseDrugsTable"])
        desk = CaseDesk(None)
        first = desk.open(
            email("The ibuprofen gave me a rash.", message_id="<p1@mail.example.com>", seed="1")
        )
        second = desk.open(
            email("Since the statin my legs ache.", message_id="<p2@mail.example.com>", seed="2")
        )
        assert store.create(first) and store.create(second)

        assert sorted(store.pending_alerts()) == sorted([first.case_id, second.case_id])
        store.mark_alert_sent(first.case_id)

        assert store.pending_alerts() == [second.case_id]
        assert store.get(first.case_id).alert_state == "sent"  # type: ignore[union-attr]
        later = second.created_at + timedelta(seconds=1)
        assert store.pending_alerts(created_before=later) == [second.case_id]
        assert store.pending_alerts(created_before=second.created_at - timedelta(seconds=1)) == []
        (item,) = tables["CasesTable"].query(
            IndexName="by-alert-pending",
            KeyConditionExpression="alert_pending = :p",
            ExpressionAttributeValues={":p": "pending"},
        )["Items"]
        assert set(item) == {"case_id", "alert_pending", "created_at"}


def test_a_case_stored_with_its_alert_already_sent_is_not_pending() -> None:
    with mock_aws():
        store = CaseStore(template_tables(provision_template(), "CasesTable")["CasesTable"])
        case = CaseDesk(None).open(email("The ibuprofen gave me a rash.", seed="3"))
        assert store.create(case.model_copy(update={"alert_state": "sent", "created_at": datetime.now(UTC)}))

        assert store.pending_alerts() == []
