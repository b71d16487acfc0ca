"""The reconciliation the fault tests and `pv load` rely on: it must see losses and duplicates."""

from __future__ import annotations

import json

from pv_local.load import DEAD_LETTER, QUARANTINED, SCREENED_AE, SCREENED_NOT_AE, holds_up, reconcile


def _notification(key: str) -> str:
    return json.dumps({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]})


SCREENINGS = [
    {"source_key": "email/a.eml", "document_id": "d1", "status": "screened", "is_ae": True},
    {"source_key": "social/f.jsonl#p-1", "document_id": "d2", "status": "screened", "is_ae": False},
    {
        "source_key": "social/f.jsonl#line-2",
        "document_id": "d3",
        "status": "quarantined",
        "quarantine_reason": "malformed_post",
    },
]
CASES = [{"case_id": "PV-D1", "document_id": "d1", "source_key": "email/a.eml"}]


def test_a_clean_run_holds_up_and_counts_each_terminal_state():
    report = reconcile(
        {"email/a.eml": 1, "social/f.jsonl": 2, "call/x+y.txt": 1},
        SCREENINGS,
        [("intake", _notification("call/x%2By.txt"))],
        CASES,
        [{"case_id": "PV-D1"}],
    )

    assert report["terminal_states"] == {DEAD_LETTER: 1, QUARANTINED: 1, SCREENED_AE: 1, SCREENED_NOT_AE: 1}
    assert report["quarantine_reasons"] == {"malformed_post": 1}
    assert (report["documents"], report["objects"], report["lost"]) == (4, 3, 0)
    assert holds_up(report)


def test_a_missing_post_a_second_alert_and_an_uncased_ae_are_all_reported():
    report = reconcile(
        {"email/a.eml": 1, "social/f.jsonl": 3, "email/b.eml": 1},
        [
            *SCREENINGS,
            {"source_key": "email/b.eml", "document_id": "d4", "status": "screened", "is_ae": True},
        ],
        [],
        CASES,
        [{"case_id": "PV-D1"}, {"case_id": "PV-D1"}],
    )

    assert report["lost"] == 1 and report["lost_keys"] == ["social/f.jsonl"]
    assert report["duplicate_alerts"] == 1
    assert report["ae_without_case"] == 1
    assert not holds_up(report)


def test_a_document_both_screened_and_dead_lettered_is_in_several_states():
    report = reconcile(
        {"email/a.eml": 1},
        SCREENINGS[:1],
        [("intake", _notification("email/a.eml"))],
        CASES,
        [{"case_id": "PV-D1"}],
    )

    assert report["in_several_states"] == 1
    assert not holds_up(report)


def test_an_ae_whose_case_request_is_dead_lettered_is_not_counted_as_uncased():
    request = json.dumps({"document_id": "d1", "source_key": "email/a.eml"})
    report = reconcile({"email/a.eml": 1}, SCREENINGS[:1], [("case", request)], [], [])

    assert (report["case_dead_letters"], report["ae_without_case"]) == (1, 0)
