"""The review API on the local stack: the template's tables in moto, the sample documents through
the real pipeline (the endpoint double classifies), the review handler behind the local HTTP
gateway with the development users' tokens. Every route, filter and role; 409; the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import endpoint_double
import pytest
from local_up import Answer, request
from meddra_release import write_release
from pv_local.gateway import LocalGateway, LocalTokens
from pv_local.regulatory_command import meddra_parameters, upload_meddra
from pv_local.stack import AUDIT_TABLE, CASES_TABLE, PROJECT_ROOT, REVIEW_FUNCTION, LocalStack

SAMPLES = PROJECT_ROOT / "events" / "documents"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text())["documents"]


@dataclass
class Review:
    stack: LocalStack
    gateway: LocalGateway
    tokens: dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        role: str | None = "reviewer",
        body: Any = None,
        token: str | None = None,
    ) -> Answer:
        bearer = token if token is not None else (self.tokens[role] if role else None)
        return request(self.gateway.url + path.lstrip("/"), method, bearer, body)

    def get(self, path: str, role: str = "reviewer") -> Any:
        answer = self.call("GET", path, role)
        assert answer.status == 200, answer.text
        return answer.body

    def all_cases(self, query: str = "", role: str = "reviewer") -> list[dict[str, Any]]:
        """Every page of `GET /cases?query`, followed by cursor."""
        rows, cursor = [], None
        while True:
            suffix = f"&cursor={cursor}" if cursor else ""
            page = self.get(f"cases?limit=4&{query}{suffix}", role)
            rows += page["cases"]
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    def case_id_of(self, key: str) -> str:
        return next(c.case_id for c in self.stored() if c.source_key == key)

    def stored(self) -> list[Any]:
        from pv.adapters.case_store import CaseStore

        return CaseStore(self.stack.table(CASES_TABLE)).list()


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    """The sample documents screened and cased on the local stack; the review API served."""
    double = endpoint_double.EndpointDouble()
    server, url = endpoint_double.start(double)
    files = [p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "MANIFEST.json"]
    release = write_release(tmp_path_factory.mktemp("meddra"), seed=16)  # invented, in MedDRA's format
    try:
        with LocalStack(
            endpoint_url=url, retry_delay_s=0, parameters=meddra_parameters(release.folder)
        ) as stack:
            upload_meddra(stack, release.folder)
            stack.upload_tree(SAMPLES, files)
            stack.run_until_idle()
            gateway = stack.serve_http(REVIEW_FUNCTION)
            tokens = {role: gateway.tokens.issue(role) for role in ("reviewer", "viewer")}
            yield Review(stack, gateway, tokens)
    finally:
        server.shutdown()


def _decide(
    review: Review, case_id: str, decision: str, reason: str = "checked against the source", **extra: Any
) -> Answer:
    version = review.get(f"cases/{case_id}")["version"]
    body = {"decision": decision, "reason": reason, "expected_version": version, **extra}
    return review.call("POST", f"cases/{case_id}/decision", body=body)


# ------------------------------------------------------------------------------------ the inbox


def test_inbox_lists_every_case_sorted_by_due_date_page_by_page(review: Review) -> None:
    stored = review.stored()
    assert len(stored) >= 15
    rows = review.all_cases()
    assert sorted(r["case_id"] for r in rows) == sorted(c.case_id for c in stored)
    assert [r["due_date"] for r in rows] == sorted(r["due_date"] for r in rows)
    newest_due_first = review.all_cases("order=desc")
    assert [r["due_date"] for r in newest_due_first] == sorted((r["due_date"] for r in rows), reverse=True)


def test_inbox_filters_by_status_seriousness_channel_and_due_date(review: Review) -> None:
    stored = {c.case_id: c for c in review.stored()}
    serious = review.all_cases("serious=true")
    assert {r["case_id"] for r in serious} == {i for i, c in stored.items() if c.facts.serious}
    calls = review.all_cases("channel=call")
    assert calls and {r["case_id"] for r in calls} == {i for i, c in stored.items() if c.channel == "call"}
    incomplete = review.all_cases("status=incomplete")
    assert {r["case_id"] for r in incomplete} == {i for i, c in stored.items() if c.status == "incomplete"}
    cutoff = sorted(c.due_date for c in stored.values())[len(stored) // 2]
    early = review.all_cases(f"due_before={cutoff.isoformat()}")
    assert {r["case_id"] for r in early} == {i for i, c in stored.items() if c.due_date < cutoff}
    both = review.all_cases("status=new,incomplete&serious=false&channel=social")
    assert {r["case_id"] for r in both} == {
        i
        for i, c in stored.items()
        if c.status in ("new", "incomplete") and not c.facts.serious and c.channel == "social"
    }


def test_a_case_is_found_under_every_one_of_its_suspect_drugs(review: Review) -> None:
    case_id = review.case_id_of("email/ae_hospitalisation.eml")
    drugs = review.get(f"cases/{case_id}")["suspect_drugs"]
    assert len(drugs) >= 2
    for drug in drugs:
        assert case_id in {r["case_id"] for r in review.all_cases(f"drug={drug.upper()}")}, drug
    assert review.get("cases?drug=no-such-drug")["cases"] == []


def test_inbox_rows_carry_no_text_and_flag_overdue_cases(review: Review) -> None:
    rows = review.all_cases()
    fields = set().union(*(r.keys() for r in rows))
    assert fields == {
        "case_id", "status", "due_date", "overdue", "received_at", "serious", "channel",
        "suspect_drugs", "events", "version",
    }  # fmt: skip
    today = datetime.now(UTC).date()
    for row in rows:
        assert row["overdue"] == (date.fromisoformat(row["due_date"]) < today and row["status"] != "closed")


def test_inbox_is_answered_from_indexes_never_a_scan(review: Review) -> None:
    from pv import runtime

    calls: list[tuple[str, str | None]] = []

    def spy(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("IndexName")))

    events = runtime.clients().dynamodb.meta.client.meta.events
    events.register("provide-client-params.dynamodb.*", spy)
    try:
        review.all_cases()
        review.all_cases("drug=warfarin&status=new,in_review")
    finally:
        events.unregister("provide-client-params.dynamodb.*", spy)
    assert {name for name, _ in calls} == {"Query"}
    assert {index for _, index in calls} == {"by-status-due", "by-drug-due"}


def test_a_cursor_of_other_filters_or_garbage_is_refused(review: Review) -> None:
    cursor = review.get("cases?limit=2")["next_cursor"]
    assert cursor
    assert review.call("GET", f"cases?limit=2&serious=true&cursor={cursor}").status == 400
    assert review.call("GET", "cases?cursor=not-a-cursor").status == 400
    assert review.call("GET", "cases?status=shelved").status == 422


# -------------------------------------------------------------------------------- the case view


def test_case_view_marks_flagged_sentences_drugs_and_events_by_offsets(review: Review) -> None:
    case_id = review.case_id_of("email/ae_hospitalisation.eml")
    view = review.get(f"cases/{case_id}")
    text = view["document"]["text"]
    marked = {(h["kind"], text[h["start"] : h["end"]].lower()) for h in view["document"]["highlights"]}
    assert ("drug", "warfarin") in marked and ("event", "bruises") in marked
    for sentence in view["flagged"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert ("flagged", sentence["text"].lower()) in marked
    assert "Margaret Marchetti" in text  # a reviewer reads the source as it came
    assert view["serious"] and view["seriousness_criteria"][0]["criterion"] == "hospitalisation"
    assert view["source_key"] == "email/ae_hospitalisation.eml"
    assert view["version"] == 1 and view["missing_elements"] == []
    assert review.call("GET", "cases/PV-0000").status == 404


def test_viewer_never_receives_document_text_or_personal_data_from_any_route(review: Review) -> None:
    """Every route, as a viewer, for every sample with personal data; the reviewer's answers
    hold the same data (so the check can fail)."""
    key = "email/ae_hospitalisation.eml"
    case_id = review.case_id_of(key)
    reason = "Daughter Helen Marchetti confirmed by phone on +44 7700 900481"
    assert _decide(review, case_id, "needs_follow_up", reason=reason).status == 200
    # A MedDRA term picked with the same words (the regulatory routes answer viewers too).
    coded = review.get(f"cases/{case_id}")
    event = coded["regulatory"]["coding"][0]["event"]
    [term] = review.get("meddra/terms?q=rash")["terms"]
    pick = {
        "event": event,
        "llt_code": term["llt_code"],
        "reason": reason,
        "expected_version": coded["version"],
    }
    assert review.call("POST", f"cases/{case_id}/coding", body=pick).status == 200
    viewer_answers, reviewer_answers = [], []
    for doc_key, expected in MANIFEST.items():
        if not expected.get("personal_data") or not expected.get("is_ae"):
            continue
        cid = next((c.case_id for c in review.stored() if c.source_key == doc_key), None)
        if cid is None:
            continue
        for path in (f"cases/{cid}", f"cases/{cid}/audit"):
            viewer_answers.append((doc_key, review.call("GET", path, "viewer")))
            reviewer_answers.append((doc_key, review.call("GET", path, "reviewer")))
    listing = review.call("GET", "cases?limit=100", "viewer")
    decided = review.call(
        "POST",
        f"cases/{case_id}/decision",
        "viewer",
        body={"decision": "confirmed", "reason": "x", "expected_version": 2},
    )
    started = review.call("POST", f"cases/{case_id}/review", "viewer", body={"expected_version": 2})
    exported = review.call("GET", f"cases/{case_id}/e2b", "viewer")
    linked = review.call(
        "POST",
        f"cases/{case_id}/links/{case_id}",
        "viewer",
        body={"decision": "confirmed", "reason": "x", "expected_version": 3},
    )
    picked = review.call("POST", f"cases/{case_id}/coding", "viewer", body={**pick, "expected_version": 3})
    terms = review.call("GET", "meddra/terms?q=a", "viewer")
    pages = [review.call("GET", "openapi.json", None)]
    assert (listing.status, decided.status, started.status) == (200, 403, 403)
    assert (exported.status, linked.status, picked.status, terms.status) == (403, 403, 403, 200)
    every_piece = {p for e in MANIFEST.values() for p in e.get("personal_data", [])}
    for answer in [listing, decided, started, exported, linked, picked, terms, *pages]:
        assert [p for p in every_piece if p in answer.text] == []
    for doc_key, answer in viewer_answers:
        assert answer.status == 200
        leaked = [p for p in MANIFEST[doc_key]["personal_data"] if p in answer.text]
        assert leaked == [], doc_key
    document_views = [a.body for _, a in viewer_answers if "document" in (a.body or {})]
    assert document_views and all(v["document"]["redacted"] for v in document_views)
    assert all(v["source_key"] is None for v in document_views)
    assert any(
        p in answer.text for doc_key, answer in reviewer_answers for p in MANIFEST[doc_key]["personal_data"]
    )
    trail = review.get(f"cases/{case_id}/audit", "viewer")["records"]
    assert [r["action"] for r in trail[-2:]] == ["decision", "term_chosen"]
    assert all("[NAME]" in r["reason"] and "[PHONE]" in r["reason"] for r in trail[-2:])
    assert review.get(f"cases/{case_id}/audit")["records"][-1]["reason"] == reason


def test_viewer_highlights_point_into_the_redacted_text(review: Review) -> None:
    case_id = review.case_id_of("call/text_ae.txt")
    view = review.get(f"cases/{case_id}", "viewer")
    text = view["document"]["text"]
    assert view["document"]["redacted"]
    for h in view["document"]["highlights"]:
        if h["kind"] != "flagged":
            assert text[h["start"] : h["end"]].lower() in {m["text"].lower() for m in view["mentions"]} | {
                n.lower() for n in view["suspect_drugs"] + view["events"]
            }
    for sentence in view["flagged"]:
        if sentence["start"] is not None:
            assert text[sentence["start"] : sentence["end"]] == sentence["text"]


# ---------------------------------------------------------------------------------- decisions


def test_a_confirmed_decision_with_corrections_is_stored_indexed_and_audited_in_order(review: Review) -> None:
    case_id = review.case_id_of("call/text_ae.txt")
    before = review.get(f"cases/{case_id}")
    started = review.call("POST", f"cases/{case_id}/review", body={"expected_version": before["version"]})
    assert started.status == 200 and started.body["status"] == "in_review"
    assert started.body["assignee"] == "local-reviewer"
    corrections = {
        "suspect_drugs": ["Ibuprofen", *before["suspect_drugs"][1:]],
        "seriousness_criteria": [{"criterion": "medically_important", "evidence": "reviewer's reading"}],
    }
    body = {
        "decision": "confirmed",
        "reason": "consistent with the call",
        "expected_version": started.body["version"],
        "corrections": corrections,
    }
    decided = review.call("POST", f"cases/{case_id}/decision", body=body)
    assert decided.status == 200, decided.text
    after = review.get(f"cases/{case_id}")
    assert (after["status"], after["version"], after["serious"]) == ("confirmed", before["version"] + 2, True)
    assert after["suspect_drugs"][0] == "ibuprofen"
    received = datetime.fromisoformat(after["received_at"]).date()
    assert (date.fromisoformat(after["due_date"]) - received).days == 15

    assert case_id in {r["case_id"] for r in review.all_cases("status=confirmed")}
    assert case_id not in {r["case_id"] for r in review.all_cases("status=new,incomplete,in_review")}
    assert case_id in {r["case_id"] for r in review.all_cases("drug=ibuprofen")}
    if before["suspect_drugs"][0] not in after["suspect_drugs"]:
        assert case_id not in {r["case_id"] for r in review.all_cases(f"drug={before['suspect_drugs'][0]}")}

    records = review.get(f"cases/{case_id}/audit")["records"]
    assert [(r["seq"], r["action"], r["from_status"], r["to_status"]) for r in records] == [
        (before["version"] + 1, "review_started", before["status"], "in_review"),
        (before["version"] + 2, "decision", "in_review", "confirmed"),
    ]
    assert records[1]["decision"] == "confirmed" and records[1]["reason"] == "consistent with the call"
    assert records[1]["actor"] == {
        "sub": "0c0a1e00-0000-4000-8000-000000000001",
        "username": "local-reviewer",
        "role": "reviewer",
    }
    changed = {c["field"]: c for c in records[1]["changes"]}
    assert changed["status"]["before"] == "in_review" and changed["status"]["after"] == "confirmed"
    assert changed["facts.suspect_drugs"]["after"][0] == "ibuprofen"
    assert changed["facts.seriousness_criteria"]["after"] == [
        {"criterion": "medically_important", "evidence": "reviewer's reading"}
    ]
    assert "facts.serious" not in changed or changed["facts.serious"]["after"] is True


def test_a_stale_version_gets_409_and_changes_nothing(review: Review) -> None:
    case_id = review.case_id_of("email/latin1_ae.eml")
    current = review.get(f"cases/{case_id}")
    stale = {"decision": "not_ae", "reason": "late", "expected_version": current["version"] - 1 or 99}
    answer = review.call("POST", f"cases/{case_id}/decision", body=stale)
    assert answer.status == 409 and answer.body["current_version"] == current["version"]
    assert review.get(f"cases/{case_id}") == current
    assert review.get(f"cases/{case_id}/audit")["records"] == []


def test_a_change_whose_audit_record_cannot_be_appended_is_not_applied(review: Review) -> None:
    """The case and its audit record go in one transaction: an audit record already at the next
    number (a concurrent writer) cancels the whole change."""
    case_id = review.case_id_of("call/speaker_labels_ae.json")
    current = review.get(f"cases/{case_id}")
    review.stack.table(AUDIT_TABLE).put_item(
        Item={"case_id": case_id, "seq": current["version"] + 1, "action": "other"}
    )
    answer = review.call("POST", f"cases/{case_id}/review", body={"expected_version": current["version"]})
    assert answer.status == 409
    assert review.get(f"cases/{case_id}") == current


def test_not_ae_keeps_the_case_and_its_history_and_closing_follows(review: Review) -> None:
    case_id = review.case_id_of("email/forwarded_report.eml")
    assert _decide(review, case_id, "not_ae", reason="the reporter attributes it to a virus").status == 200
    view = review.get(f"cases/{case_id}")
    assert (view["status"], view["overdue"], view["allowed_decisions"]) == ("not_ae", False, ["closed"])
    assert case_id in {r["case_id"] for r in review.all_cases("status=not_ae")}
    assert _decide(review, case_id, "confirmed").status == 400  # reopening goes through review
    reopened = review.call("POST", f"cases/{case_id}/review", body={"expected_version": view["version"]})
    assert reopened.status == 200 and reopened.body["status"] == "in_review"
    assert _decide(review, case_id, "not_ae", reason="still a virus").status == 200
    assert _decide(review, case_id, "closed", reason="no report owed").status == 200
    closed = review.get(f"cases/{case_id}")
    assert (closed["status"], closed["allowed_decisions"], closed["can_start_review"]) == (
        "closed",
        [],
        False,
    )
    actions = [(r["action"], r["to_status"]) for r in review.get(f"cases/{case_id}/audit")["records"]]
    assert actions == [
        ("decision", "not_ae"),
        ("review_started", "in_review"),
        ("decision", "not_ae"),
        ("decision", "closed"),
    ]


def test_a_decision_needs_a_reason_and_a_known_decision(review: Review) -> None:
    case_id = review.stored()[0].case_id
    version = review.get(f"cases/{case_id}")["version"]
    for body in (
        {"decision": "confirmed", "reason": "  ", "expected_version": version},
        {"decision": "approved", "reason": "ok", "expected_version": version},
        {
            "decision": "confirmed",
            "reason": "ok",
            "expected_version": version,
            "corrections": {"drugs": ["x"]},
        },
    ):
        assert review.call("POST", f"cases/{case_id}/decision", body=body).status == 422, body
    assert review.get(f"cases/{case_id}")["version"] == version


# -------------------------------------------------------------------------------------- tokens


def test_a_missing_or_invalid_token_gets_401_on_every_api_route(review: Review) -> None:
    case_id = review.stored()[0].case_id
    expired = LocalTokens(review.gateway.tokens._secret, ttl_s=-1).issue("reviewer")
    foreign = LocalTokens().issue("reviewer")
    routes = [
        ("GET", "cases", None),
        ("GET", f"cases/{case_id}", None),
        ("GET", f"cases/{case_id}/audit", None),
        ("POST", f"cases/{case_id}/review", {"expected_version": 1}),
        (
            "POST",
            f"cases/{case_id}/decision",
            {"decision": "confirmed", "reason": "x", "expected_version": 1},
        ),
        ("GET", f"cases/{case_id}/e2b", None),
        (
            "POST",
            f"cases/{case_id}/links/{case_id}",
            {"decision": "confirmed", "reason": "x", "expected_version": 1},
        ),
        ("POST", f"cases/{case_id}/coding", {"event": "rash", "llt_code": "1", "expected_version": 1}),
        ("GET", "meddra/terms?q=rash", None),
    ]
    for method, path, body in routes:
        for token in (None, "", "not.a.jwt", expired, foreign):
            answer = review.call(method, path, None if token is None else "reviewer", body, token=token)
            assert answer.status == 401, (method, path, token)
    assert review.call("GET", "openapi.json", None).status == 200
    assert review.call("GET", "no-such-route", None).status == 404


def test_openapi_document_describes_every_route_with_its_models(review: Review) -> None:
    spec = review.get("openapi.json")
    assert set(spec["paths"]) == {
        "/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/review",
        "/cases/{case_id}/decision",
        "/cases/{case_id}/audit",
        "/cases/{case_id}/e2b",
        "/cases/{case_id}/links/{linked_case_id}",
        "/cases/{case_id}/coding",
        "/meddra/terms",
    }
    assert {"DecisionRequest", "CaseView", "CasePage", "AuditTrail"} <= set(spec["components"]["schemas"])
    assert {"LinkDecisionRequest", "TermChoiceRequest", "TermSearch", "RegulatoryView"} <= set(
        spec["components"]["schemas"]
    )
    assert "application/xml" in spec["paths"]["/cases/{case_id}/e2b"]["get"]["responses"]["200"]["content"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
