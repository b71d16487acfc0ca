"""The Cases table's sparse alert-pending index and what is written with a new case, in the
template's own tables (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws
from pv.adapters.case_store import MAX_WRITTEN_WITH_CASE, CaseStore
from pv.adapters.regulatory import MatchKeyTable
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


@pytest.mark.parametrize("with_drug_index", [True, False], ids=["drug-index", "cases-only"])
def test_a_new_cases_match_keys_are_written_with_it_or_not_at_all(with_drug_index: bool) -> None:
    """GIVEN a new case and its match-key items WHEN it is stored THEN later cases find it by every
    key it has; WHEN a case with its id is already stored THEN nothing of that write happens (a key
    given with it is not indexed either); more items than a transaction has room for are refused
    before anything is written."""
    with mock_aws():
        tables = template_tables(provision_template(), "CasesTable", "CaseDrugsTable", "MatchKeysTable")
        store = CaseStore(
            tables["CasesTable"], drug_index=tables["CaseDrugsTable"] if with_drug_index else None
        )
        index = MatchKeyTable(tables["MatchKeysTable"])
        case = CaseDesk(None).open(email("The ibuprofen gave me a rash.", seed="4"))
        assert case.regulatory is not None and case.regulatory.match_keys
        keys = case.regulatory.match_keys

        assert store.create(case, with_case=index.writes(case.case_id, keys))
        assert index.case_ids(keys) == {case.case_id}

        assert not store.create(case, with_case=index.writes(case.case_id, ["patient:given-with-a-retry"]))
        assert index.case_ids(["patient:given-with-a-retry"]) == set()

        too_many = index.writes("PV-OTHER", [f"patient:{n}" for n in range(MAX_WRITTEN_WITH_CASE + 1)])
        other = case.model_copy(update={"case_id": "PV-OTHER"})
        with pytest.raises(ValueError, match="at most"):
            store.create(other, with_case=too_many)
        assert store.get("PV-OTHER") is None
