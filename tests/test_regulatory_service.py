"""The reviewer's regulatory actions on moto, through the review workbench: each is a change of the
case version the reviewer saw, written with its audit record in one transaction (a confirmed
follow-up with its earlier case too); a stale version changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import e2br3
import pytest
from meddra_release import write_release
from moto import mock_aws
from pv.adapters.bucket import IntakeBucket
from pv.adapters.case_store import CaseStore
from pv.adapters.regulatory import E2bBucket, MatchKeyTable
from pv.adapters.review_store import ReviewStore, StaleVersion
from pv.intelligence import assess_case
from pv.regulatory.e2b import ExportRefused
from pv.regulatory.meddra import release_from_folder
from pv.regulatory.service import RegulatoryChangeRefused, RegulatoryService
from pv.review.models import Actor, Corrections, CriterionCorrection, DecisionRequest, Role
from pv.review.service import CaseChange, NotAllowed, Workbench
from regulatory_inputs import SENDER, CaseDesk, email
from template_stack import provision_template
from template_stack import tables as template_tables

RASH = "Two days after starting amoxicillin I got a rash all over my arms."
WORSE = "The rash from the amoxicillin has spread and now I have been vomiting too."
NOW = datetime(2025, 3, 9, 10, 0, tzinfo=UTC)
REVIEWER = Actor(sub="s-1", username="reviewer-1", role=Role.REVIEWER)
VIEWER = Actor(sub="s-2", username="viewer-1", role=Role.VIEWER)


@dataclass
class Desk:
    service: RegulatoryService
    store: CaseStore
    review: ReviewStore
    s3: Any
    bucket: str  # the template's IntakeBucket
    release: Any
    first_id: str
    reply_id: str

    def case(self, case_id: str) -> Any:
        case = self.store.get(case_id)
        assert case is not None
        return case

    def actions(self, case_id: str) -> list[str]:
        return [r.action for r in self.review.audit_trail(case_id)]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """GIVEN an email and a reply in its thread opened as CaseFunction opens them, in the template's
    tables, both confirmed by a reviewer."""
    with mock_aws():
        stack = provision_template()
        tables = template_tables(stack, "CasesTable", "CaseDrugsTable", "AuditTable", "MatchKeysTable")
        s3 = boto3.client("s3", region_name="eu-west-1")
        bucket = stack.physical("IntakeBucket")
        release = write_release(tmp_path / "meddra", seed=21)
        cases = CaseStore(tables["CasesTable"], drug_index=tables["CaseDrugsTable"])
        intake = CaseDesk(release.folder)
        intake.intake.index = MatchKeyTable(tables["MatchKeysTable"])
        intake.intake.read_linked = cases.linked_cases
        first = intake.open(email(RASH, message_id="<t1@mail.example.com>", seed="1"))
        cases.create(first)
        reply = intake.open(
            email(
                WORSE,
                message_id="<t2@mail.example.com>",
                in_reply_to="<t1@mail.example.com>",
                seed="2",
                received=datetime(2025, 3, 4, 8, 0, tzinfo=UTC),
            )
        )
        cases.create(reply)
        review = ReviewStore(cases, tables["AuditTable"])
        workbench = Workbench(
            store=review, bucket=IntakeBucket(s3, bucket), clock=lambda: NOW, upkeep=intake.intake.upkeep
        )
        service = RegulatoryService(
            workbench=workbench,
            archive=E2bBucket(s3, bucket),
            sender=SENDER,
            release=lambda: release_from_folder(release.folder),
        )
        yield Desk(service, cases, review, s3, bucket, release, first.case_id, reply.case_id)


def test_a_confirmed_follow_up_becomes_version_2_of_the_case_with_an_audit_record_on_each(desk) -> None:
    desk.service.decide_link(
        desk.reply_id, desk.first_id, "confirmed", REVIEWER, expected_version=1, reason="same thread"
    )

    first, reply = desk.case(desk.first_id), desk.case(desk.reply_id)
    assert (first.version, reply.version) == (2, 2)
    assert first.regulatory.follow_ups == [desk.reply_id]
    assert reply.regulatory.report_version == 2
    assert reply.regulatory.worldwide_case_id == first.regulatory.worldwide_case_id
    [link] = reply.regulatory.links
    assert (link.status, link.decided_by, link.decision_reason) == ("confirmed", "reviewer-1", "same thread")
    [on_reply] = desk.review.audit_trail(desk.reply_id)
    [on_first] = desk.review.audit_trail(desk.first_id)
    assert (on_reply.action, on_reply.seq, on_reply.reason) == ("link_confirmed", 2, "same thread")
    assert on_reply.details["report_version"] == 2
    assert {c.field for c in on_reply.changes} >= {"regulatory.links", "regulatory.report_version"}
    assert (on_first.action, on_first.details["follow_up"]) == ("follow_up_added", desk.reply_id)


def test_the_follow_up_exports_as_version_2_of_the_same_worldwide_case_and_the_export_is_audited(
    desk,
) -> None:
    desk.service.decide_link(desk.reply_id, desk.first_id, "confirmed", REVIEWER, 1, "same thread")
    export = desk.service.export(desk.reply_id, REVIEWER, expected_version=2)

    first = desk.case(desk.first_id)
    [icsr] = e2br3.parse(export.xml).icsrs
    assert icsr.worldwide_case_id == first.regulatory.worldwide_case_id
    assert icsr.safety_report_id == first.regulatory.safety_report_id
    assert icsr.first_received_date.raw == "20250301" and icsr.most_recent_date.raw == "20250304"
    assert {r.native_term for r in icsr.reactions} >= {"rash", "vomiting"}
    assert "Follow-up 1 received 2025-03-04" in icsr.narrative
    assert e2br3.parse(export.xml).messages[0].message_id.endswith("-V2")

    body = desk.s3.get_object(Bucket=desk.bucket, Key=export.key)["Body"].read()
    assert body == export.xml and export.key.startswith(f"e2b/{desk.reply_id}/v2-")
    reply = desk.case(desk.reply_id)
    assert reply.version == 3 == export.case.version
    [recorded] = reply.regulatory.exports
    assert (recorded.key, recorded.exported_by, recorded.report_version, recorded.case_version) == (
        export.key,
        "reviewer-1",
        2,
        2,
    )
    trail = desk.review.audit_trail(desk.reply_id)
    assert [r.action for r in trail] == ["link_confirmed", "e2b_exported"]
    assert trail[-1].details == {"key": export.key, "sha256": recorded.sha256, "report_version": 2}


def test_a_stale_version_changes_nothing(desk) -> None:
    with pytest.raises(StaleVersion) as stale:
        desk.service.decide_link(desk.reply_id, desk.first_id, "confirmed", REVIEWER, 7, "same thread")
    assert stale.value.current == 1
    with pytest.raises(StaleVersion):
        desk.service.export(desk.first_id, REVIEWER, expected_version=3)
    with pytest.raises(StaleVersion):
        desk.service.choose_term(desk.first_id, "rash", desk.release.llt_codes["Skin eruption"], REVIEWER, 2)
    for case_id in (desk.first_id, desk.reply_id):
        case = desk.case(case_id)
        assert case.version == 1 and case.regulatory.exports == [] and desk.actions(case_id) == []
        assert case.regulatory.links == [] or case.regulatory.links[0].status == "proposed"
    assert "Contents" not in desk.s3.list_objects_v2(Bucket=desk.bucket, Prefix="e2b/")


def test_a_change_of_two_cases_is_refused_whole_when_the_other_case_moved_on(desk) -> None:
    """The earlier case of a follow-up changed meanwhile (another follow-up confirmed): neither
    case is written."""
    workbench = desk.service.workbench
    touch = CaseChange(desk.first_id, 5, action="follow_up_added", mutate=lambda c: c)
    with pytest.raises(StaleVersion) as stale:
        workbench.change(
            desk.reply_id, 1, REVIEWER, action="link_confirmed", mutate=lambda c: c, also=[touch]
        )
    assert stale.value.case_id == desk.first_id
    assert desk.case(desk.reply_id).version == 1 and desk.actions(desk.reply_id) == []


def test_a_rejected_link_changes_no_report_version_and_cannot_be_decided_twice(desk) -> None:
    desk.service.decide_link(desk.reply_id, desk.first_id, "rejected", REVIEWER, 1, "another patient")
    reply = desk.case(desk.reply_id)
    assert reply.regulatory.report_version == 1 and reply.regulatory.links[0].status == "rejected"
    assert reply.version == 2 and desk.actions(desk.reply_id) == ["link_rejected"]
    assert desk.case(desk.first_id).version == 1  # the earlier case is not touched
    with pytest.raises(RegulatoryChangeRefused, match="already rejected"):
        desk.service.decide_link(desk.reply_id, desk.first_id, "confirmed", REVIEWER, 2, "changed my mind")


def test_a_confirmed_duplicate_is_not_exported_on_its_own(desk) -> None:
    def as_duplicate(case: Any) -> Any:
        record = case.regulatory
        links = [record.links[0].model_copy(update={"kind": "possible_duplicate"})]
        return case.model_copy(update={"regulatory": record.model_copy(update={"links": links})})

    desk.service.workbench.change(desk.reply_id, 1, REVIEWER, action="test", mutate=as_duplicate)
    desk.service.decide_link(desk.reply_id, desk.first_id, "confirmed", REVIEWER, 2, "same report twice")
    assert desk.case(desk.reply_id).regulatory.duplicate_of == desk.first_id
    with pytest.raises(ExportRefused, match=f"duplicate of {desk.first_id}"):
        desk.service.export(desk.reply_id, REVIEWER)


def test_the_reviewer_picks_a_current_term_for_a_reaction_and_the_pick_is_audited(desk) -> None:
    release = desk.release
    chosen = release.llt_codes["Skin eruption"]
    case = desk.service.choose_term(desk.first_id, "rash", chosen, REVIEWER, 1, reason="closer to the words")
    [coding] = [c for c in case.regulatory.coding if c.event == "rash"]
    assert (coding.method, coding.coded_by, coding.term.llt_code) == ("reviewer", "reviewer-1", chosen)
    assert desk.case(desk.first_id).regulatory.coding == case.regulatory.coding and case.version == 2
    [record] = desk.review.audit_trail(desk.first_id)
    assert (record.action, record.details["llt_code"], record.reason) == (
        "term_chosen",
        chosen,
        "closer to the words",
    )
    with pytest.raises(RegulatoryChangeRefused, match="not a current LLT"):
        desk.service.choose_term(desk.first_id, "rash", release.llt_codes["Rashes itchy"], REVIEWER, 2)
    with pytest.raises(RegulatoryChangeRefused, match="no LLT"):
        desk.service.choose_term(desk.first_id, "rash", "12345", REVIEWER, 2)
    with pytest.raises(RegulatoryChangeRefused, match="no reaction"):
        desk.service.choose_term(desk.first_id, "headache", release.llt_codes["Headache"], REVIEWER, 2)


def test_a_viewer_may_not_export_decide_a_link_or_pick_a_term(desk) -> None:
    with pytest.raises(NotAllowed):
        desk.service.export(desk.first_id, VIEWER)
    with pytest.raises(NotAllowed):
        desk.service.decide_link(desk.reply_id, desk.first_id, "confirmed", VIEWER, 1, "x")
    with pytest.raises(NotAllowed):
        desk.service.choose_term(desk.first_id, "rash", desk.release.llt_codes["Rash"], VIEWER, 1)
    assert desk.case(desk.first_id).version == 1


def test_a_corrected_reaction_is_coded_and_a_seriousness_correction_moves_the_due_date_by_the_rule(
    desk,
) -> None:
    """GIVEN a reviewer adds a reaction and a seriousness criterion WHEN the decision is stored
    THEN the new reaction is coded in the same release, the old one keeps its coding, and the EU
    rule for serious cases sets the due date."""
    request = DecisionRequest(
        decision="confirmed",
        reason="checked",
        expected_version=2,
        corrections=Corrections(
            events=["rash", "headache"],
            seriousness_criteria=[CriterionCorrection(criterion="hospitalisation", evidence="admitted")],
        ),
    )
    before = desk.case(desk.first_id)
    desk.service.workbench.start_review(desk.first_id, 1, REVIEWER)  # reopened
    desk.service.workbench.decide(desk.first_id, request, REVIEWER)
    after = desk.case(desk.first_id)
    coded = {c.event: c for c in after.regulatory.coding}
    assert set(coded) == {"rash", "headache"}
    assert coded["rash"] == {c.event: c for c in before.regulatory.coding}["rash"]
    assert coded["headache"].term.llt_code == desk.release.llt_codes["Headache"]
    assert after.regulatory.due_rule.rule_id == "eu-serious-15"
    assert after.due_date == date(2025, 3, 16) == after.regulatory.due_rule.due_date


def test_the_term_picker_searches_current_terms_by_word_start_or_code(desk) -> None:
    release = desk.release
    found = desk.service.search("skin eru")
    assert found.version == release.version
    assert [t.llt_name for t in found.terms] == ["Skin eruption"]
    assert [t.llt_name for t in desk.service.search("rash").terms] == [
        "Rash"
    ]  # "Rashes itchy" is not current
    assert (
        desk.service.search(release.llt_codes["Vomiting"]).terms[0].llt_code
        == (release.llt_codes["Vomiting"])
    )
    assert desk.service.search("   ").terms == []


def test_a_new_case_reads_only_what_linking_compares_of_the_earlier_cases_in_one_request(
    tmp_path: Path,
) -> None:
    """GIVEN three cases of one email thread stored in the Cases table WHEN a fourth reply's record
    is built THEN it links to all three, read in one BatchGetItem, not one GetItem each, and the
    read returns the attributes linking compares, not the cases' text, mentions or sentences."""
    with mock_aws():
        tables = template_tables(provision_template(), "CasesTable", "CaseDrugsTable", "MatchKeysTable")
        cases = CaseStore(tables["CasesTable"], drug_index=tables["CaseDrugsTable"])
        intake = CaseDesk(None)
        intake.intake.index = MatchKeyTable(tables["MatchKeysTable"])
        intake.intake.read_linked = cases.linked_cases
        earlier = []
        for n in range(3):
            case = intake.open(email(RASH, message_id="<t1@mail.example.com>", seed=str(n)))
            cases.create(case)
            earlier.append(case.case_id)
        calls: list[str] = []
        client = tables["CasesTable"].meta.client
        client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        read: list[dict[str, Any]] = []
        client.meta.events.register(
            "after-call.dynamodb.BatchGetItem",
            lambda parsed, **_: read.extend(parsed["Responses"][tables["CasesTable"].name]),
        )
        reply = email(
            WORSE, message_id="<t9@mail.example.com>", in_reply_to="<t1@mail.example.com>", seed="9"
        )
        facts = assess_case(reply, [])
        record = intake.intake.record("PV-REPLY", reply, facts, reply.received_at)
    assert sorted(link.case_id for link in record.links) == sorted(earlier)
    assert calls.count("BatchGetItem") == 1
    assert "GetItem" not in calls
    assert len(read) == 3
    for item in read:
        assert set(item) == {"case_id", "received_at", "facts", "regulatory"}
        assert set(item["facts"]) <= {"suspect_drugs", "events"}
        assert set(item["regulatory"]) == {"coding", "match_keys"}
