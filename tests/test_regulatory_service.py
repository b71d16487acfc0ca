"""The reviewer's regulatory actions on moto: export to e2b/, follow-up and duplicate decisions, term
choice; the stored cases change together, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import e2br3
import pytest
from meddra_release import write_release
from moto import mock_aws
from pv.adapters.regulatory import CaseRegulatoryStore, E2bBucket, MatchKeyTable
from pv.adapters.stores import CaseStore
from pv.regulatory.e2b import ExportRefused
from pv.regulatory.meddra import release_from_folder
from pv.regulatory.service import RegulatoryChangeRefused, RegulatoryService
from regulatory_inputs import SENDER, CaseDesk, email

RASH = "Two days after starting amoxicillin I got a rash all over my arms."
WORSE = "The rash from the amoxicillin has spread and now I have been vomiting too."
NOW = datetime(2025, 3, 9, 10, 0, tzinfo=UTC)


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="eu-west-1")
        cases = ddb.create_table(
            TableName="cases",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "case_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "case_id", "KeyType": "HASH"}],
        )
        keys = ddb.create_table(
            TableName="match-keys",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "match_key", "AttributeType": "S"},
                {"AttributeName": "case_id", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "match_key", "KeyType": "HASH"},
                {"AttributeName": "case_id", "KeyType": "RANGE"},
            ],
        )
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="intake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        release = write_release(tmp_path / "meddra", seed=21)
        yield {"cases": cases, "keys": keys, "s3": s3, "release": release}


def _open_thread(aws: dict[str, Any]) -> tuple[RegulatoryService, CaseStore, str, str]:
    desk = CaseDesk(aws["release"].folder)
    desk.intake.index = MatchKeyTable(aws["keys"])
    store = CaseStore(aws["cases"])
    desk.intake.get_case = store.get
    first = desk.open(email(RASH, message_id="<t1@mail.example.com>", seed="1"))
    store.create(first)
    reply = desk.open(
        email(
            WORSE,
            message_id="<t2@mail.example.com>",
            in_reply_to="<t1@mail.example.com>",
            seed="2",
            received=datetime(2025, 3, 4, 8, 0, tzinfo=UTC),
        )
    )
    store.create(reply)
    service = RegulatoryService(
        cases=store,
        store=CaseRegulatoryStore(aws["cases"]),
        archive=E2bBucket(aws["s3"], "intake"),
        sender=SENDER,
        release=lambda: release_from_folder(aws["release"].folder),
        clock=lambda: NOW,
    )
    return service, store, first.case_id, reply.case_id


def test_a_confirmed_follow_up_in_the_thread_exports_as_version_2_of_the_same_case(aws) -> None:
    service, store, first_id, reply_id = _open_thread(aws)
    service.decide_link(reply_id, first_id, "confirmed", actor="reviewer-1", reason="same thread")

    first, reply = store.get(first_id), store.get(reply_id)
    assert first.regulatory.follow_ups == [reply_id]  # type: ignore[union-attr]
    assert reply.regulatory.report_version == 2  # type: ignore[union-attr]
    assert reply.regulatory.worldwide_case_id == first.regulatory.worldwide_case_id  # type: ignore[union-attr]
    [link] = reply.regulatory.links  # type: ignore[union-attr]
    assert (link.status, link.decided_by) == ("confirmed", "reviewer-1")

    export = service.export(reply_id, actor="reviewer-1")
    [icsr] = e2br3.parse(export.xml).icsrs
    assert icsr.worldwide_case_id == first.regulatory.worldwide_case_id  # type: ignore[union-attr]
    assert icsr.safety_report_id == first.regulatory.safety_report_id  # type: ignore[union-attr]
    assert icsr.first_received_date.raw == "20250301" and icsr.most_recent_date.raw == "20250304"
    assert {r.native_term for r in icsr.reactions} >= {"rash", "vomiting"}
    assert "Follow-up 1 received 2025-03-04" in icsr.narrative
    assert e2br3.parse(export.xml).messages[0].message_id.endswith("-V2")
    assert b"version 2 of worldwide case" in export.xml

    body = aws["s3"].get_object(Bucket="intake", Key=export.key)["Body"].read()
    assert body == export.xml and export.key.startswith(f"e2b/{reply_id}/v2-")
    [recorded] = store.get(reply_id).regulatory.exports  # type: ignore[union-attr]
    assert (recorded.key, recorded.exported_by, recorded.report_version) == (export.key, "reviewer-1", 2)


def test_a_rejected_link_changes_no_version_and_cannot_be_decided_twice(aws) -> None:
    service, store, first_id, reply_id = _open_thread(aws)
    service.decide_link(reply_id, first_id, "rejected", actor="reviewer-2")
    reply = store.get(reply_id)
    assert reply.regulatory.report_version == 1 and reply.regulatory.links[0].status == "rejected"  # type: ignore[union-attr]
    with pytest.raises(RegulatoryChangeRefused, match="already rejected"):
        service.decide_link(reply_id, first_id, "confirmed", actor="reviewer-2")


def test_a_confirmed_duplicate_is_not_exported_on_its_own(aws) -> None:
    service, store, first_id, reply_id = _open_thread(aws)
    record = store.get(reply_id).regulatory  # type: ignore[union-attr]
    as_duplicate = record.model_copy(
        update={"links": [record.links[0].model_copy(update={"kind": "possible_duplicate"})]}
    )
    CaseRegulatoryStore(aws["cases"]).save([(store.get(reply_id), as_duplicate, "test")], "t")  # type: ignore[list-item]
    service.decide_link(reply_id, first_id, "confirmed", actor="reviewer-1")
    with pytest.raises(ExportRefused, match=f"duplicate of {first_id}"):
        service.export(reply_id, actor="reviewer-1")


def test_the_reviewer_picks_a_current_term_for_a_reaction(aws) -> None:
    service, store, first_id, _ = _open_thread(aws)
    release = aws["release"]
    case = service.choose_term(first_id, "rash", release.llt_codes["Skin eruption"], actor="reviewer-3")
    [coding] = [c for c in case.regulatory.coding if c.event == "rash"]  # type: ignore[union-attr]
    assert (coding.method, coding.coded_by, coding.term.llt_code) == (  # type: ignore[union-attr]
        "reviewer",
        "reviewer-3",
        release.llt_codes["Skin eruption"],
    )
    assert store.get(first_id).regulatory.coding == case.regulatory.coding  # type: ignore[union-attr]
    with pytest.raises(RegulatoryChangeRefused, match="not a current LLT"):
        service.choose_term(first_id, "rash", release.llt_codes["Rashes itchy"], actor="reviewer-3")
    with pytest.raises(RegulatoryChangeRefused, match="no LLT"):
        service.choose_term(first_id, "rash", "12345", actor="reviewer-3")
