"""The review domain without AWS: the status lifecycle, corrections, offsets through redaction,
the claims a role comes from, and the local gateway's tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pv.case_models import Case, CaseFacts, Mention, SeriousnessCriterion
from pv.intelligence.redaction import RuleRedactor, redacted_with_spans
from pv.models import Channel, SentenceScore, SourceDocument, TextUnit
from pv.review.auth import Unauthenticated, actor_from_claims, groups_of
from pv.review.lifecycle import InvalidTransition, changes, decide, is_overdue, start_review
from pv.review.models import Corrections, CriterionCorrection, Role
from pv.review.service import NotAllowed
from pv.review.view import _Redacted, case_view, document_text, locate
from pv_local.gateway import LocalTokens, flattened_claims

RECEIVED = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


def _case(status: str = "new", serious: bool = False, **facts: object) -> Case:
    criteria = [SeriousnessCriterion(criterion="hospitalisation", evidence="admitted")] if serious else []
    return Case(
        case_id="PV-ABC",
        document_id="abc",
        channel=Channel.EMAIL,
        source_key="email/x.eml",
        status=status,  # type: ignore[arg-type]
        received_at=RECEIVED,
        due_date=date(2025, 3, 19) if serious else date(2025, 6, 2),
        created_at=RECEIVED,
        flagged=[
            SentenceScore(text="Since the amoxicillin  I have a rash.", label="Adverse_Event", score=0.9)
        ],
        facts=CaseFacts(
            suspect_drugs=["amoxicillin"],
            events=["rash"],
            mentions=[
                Mention(text="amoxicillin", normalized="amoxicillin", kind="drug"),
                Mention(text="rash", normalized="rash", kind="event"),
            ],
            serious=serious,
            seriousness_criteria=criteria,
            summary="Email sender reports rash after starting amoxicillin.",
            **facts,  # type: ignore[arg-type]
        ),
    )


def test_the_lifecycle_allows_review_then_a_decision_then_closing() -> None:
    reviewed = start_review(_case(), "ana")
    assert (reviewed.status, reviewed.assignee) == ("in_review", "ana")
    confirmed = decide(reviewed, "confirmed", None)
    assert confirmed.status == "confirmed"
    assert decide(confirmed, "closed", None).status == "closed"
    with pytest.raises(InvalidTransition):
        decide(_case(), "closed", None)  # nothing to close before a decision
    with pytest.raises(InvalidTransition):
        start_review(_case("closed"), "ana")
    with pytest.raises(InvalidTransition):
        decide(_case("confirmed"), "closed", Corrections(events=["hives"]))


def test_corrections_recompute_seriousness_due_date_and_missing_elements() -> None:
    case = _case("in_review", missing_elements=["patient"])
    serious = decide(
        case,
        "confirmed",
        Corrections(
            suspect_drugs=[" Amoxicillin ", "amoxicillin", "Ibuprofen"],
            seriousness_criteria=[CriterionCorrection(criterion="hospitalisation")],
            patient="reporter",
        ),
    )
    assert serious.facts.suspect_drugs == ["amoxicillin", "ibuprofen"]
    assert serious.facts.serious and serious.due_date == date(2025, 3, 19)
    assert serious.facts.seriousness_criteria[0].evidence == "set by the reviewer"
    assert serious.facts.missing_elements == []
    no_drug = decide(case, "needs_follow_up", Corrections(suspect_drugs=[], seriousness_criteria=[]))
    assert no_drug.facts.missing_elements == ["patient", "suspect_drug"]
    assert not no_drug.facts.serious and no_drug.due_date == date(2025, 6, 2)


def test_changes_list_each_field_before_and_after() -> None:
    before = _case("in_review")
    after = decide(before, "confirmed", Corrections(events=["hives"]))
    found = {c.field: (c.before, c.after) for c in changes(before, after)}
    assert found == {"status": ("in_review", "confirmed"), "facts.events": (["rash"], ["hives"])}


def test_overdue_means_a_report_is_still_owed_past_its_due_date() -> None:
    today = date(2025, 4, 1)
    assert is_overdue("new", date(2025, 3, 19), today)
    assert is_overdue("confirmed", date(2025, 3, 19), today)
    assert not is_overdue("not_ae", date(2025, 3, 19), today)
    assert not is_overdue("closed", date(2025, 3, 19), today)
    assert not is_overdue("new", date(2025, 4, 1), today)


def test_offsets_follow_the_redaction() -> None:
    text = "Call Dr Jane Okafor on 07700 900481 about the rash after amoxicillin."
    redacted, spans = redacted_with_spans(text)
    assert redacted == RuleRedactor().redact(text)
    mapped = _Redacted(redacted, spans)
    rash = (text.index("rash"), text.index("rash") + 4)
    start, end = mapped.span(rash)
    assert redacted[start:end] == "rash"
    name = (text.index("Jane"), text.index("Okafor") + 6)
    start, end = mapped.span(name)
    assert "Jane" not in redacted[start:end] and "[NAME]" in redacted[max(0, start - 3) : end + 3]


def test_sentences_are_located_across_line_breaks_and_in_screened_units_first() -> None:
    text = "quoted: a rash\n\nSince the\namoxicillin I have a rash."
    assert locate(text, "Since the amoxicillin I have a rash.") == (16, len(text))
    assert locate(text, "a rash", within=[(16, len(text))]) == (
        text.rindex("a rash"),
        text.rindex("a rash") + 6,
    )
    assert locate(text, "not there") is None


def test_case_view_marks_terms_and_redacts_for_viewers() -> None:
    document = SourceDocument(
        document_id="abc",
        channel=Channel.EMAIL,
        source_key="email/x.eml",
        received_at=RECEIVED,
        units=[TextUnit(kind="body", text="Hi, I am Rosa Delgado. Since the amoxicillin  I have a rash.")],
        metadata={"from": "Rosa Delgado <rosa@example.com>"},
    )
    today = date(2025, 3, 10)
    reviewer = case_view(_case(), document, Role.REVIEWER, today)
    assert reviewer.document is not None and "Rosa Delgado" in reviewer.document.text
    kinds = {(h.kind, reviewer.document.text[h.start : h.end]) for h in reviewer.document.highlights}
    assert {
        ("drug", "amoxicillin"),
        ("event", "rash"),
        ("flagged", "Since the amoxicillin  I have a rash."),
    } <= kinds
    viewer = case_view(_case(), document, Role.VIEWER, today)
    assert viewer.document is not None and "Rosa" not in viewer.model_dump_json()
    assert viewer.source_key is None and viewer.allowed_decisions == [] and not viewer.can_start_review
    text = viewer.document.text
    assert {(h.kind, text[h.start : h.end]) for h in viewer.document.highlights} >= {("drug", "amoxicillin")}
    assert document_text(document)[1][0].screened


def test_roles_come_from_the_cognito_groups_claim_in_any_of_its_shapes() -> None:
    assert groups_of({"cognito:groups": "[reviewer viewer]"}) == ["reviewer", "viewer"]
    assert groups_of({"cognito:groups": '["viewer"]'}) == ["viewer"]
    assert groups_of({"cognito:groups": ["viewer"]}) == ["viewer"]
    assert actor_from_claims({"sub": "s", "cognito:groups": "[viewer reviewer]"}).role is Role.REVIEWER
    assert (
        actor_from_claims({"sub": "s", "cognito:username": "ana", "cognito:groups": "[viewer]"}).username
        == "ana"
    )
    with pytest.raises(NotAllowed):
        actor_from_claims({"sub": "s", "cognito:groups": "[admins]"})
    with pytest.raises(Unauthenticated):
        actor_from_claims({})


def test_local_tokens_verify_only_their_own_unexpired_signature() -> None:
    tokens = LocalTokens(b"k" * 32)
    token = tokens.issue("viewer", now=1000)
    claims = tokens.verify(token, now=1001)
    assert claims is not None and claims["cognito:groups"] == ["viewer"]
    assert flattened_claims(claims)["cognito:groups"] == "[viewer]"
    assert tokens.verify(token, now=1000 + tokens.ttl_s) is None
    assert LocalTokens(b"x" * 32).verify(token, now=1001) is None
    header, body, signature = token.split(".")
    assert tokens.verify(f"{header}.{body}.{signature[:-2]}AA", now=1001) is None
    assert tokens.verify("a.b", now=1001) is None
