"""Reconciliation in production (issue 15): for a window, every object version received has a
screening, every AE screening a case, every case a sent alert; ReconcileFunction publishes the
gaps as metrics. Against the template's own resources in moto, through the real handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pv import runtime
from pv.adapters.case_store import CaseStore
from pv.handlers import reconcile  # at collection: its logger's stream is the real stdout, not capsys's
from pv.reconciliation import UNALERTED, UNCASED, UNSCREENED, ObjectVersion, find_gaps

T0 = datetime(2025, 3, 9, 10, 0, tzinfo=UTC)


def _screening(key: str, document_id: str, *, version: str | None = None, is_ae: bool = False, **extra: Any):
    return {
        "source_key": key,
        "source_version": version,
        "document_id": document_id,
        "status": "screened",
        "is_ae": is_ae,
        "screened_at": (T0 + timedelta(minutes=1)).isoformat(),
        **extra,
    }


def test_an_overwritten_key_whose_first_version_was_never_screened_is_a_gap() -> None:
    """GIVEN two versions of a key and a screening of the second only THEN the first is unscreened;
    a duplicate delivery and a post of a JSON Lines file account for their own versions."""
    objects = [
        ObjectVersion("email/a.eml", "v1", T0),
        ObjectVersion("email/a.eml", "v2", T0 + timedelta(seconds=5)),
        ObjectVersion("email/copy.eml", "v7", T0),
        ObjectVersion("social/f.jsonl", "v3", T0),
        ObjectVersion("call/old.txt", "v0", T0 - timedelta(days=1)),  # outside the window
    ]
    screenings = [
        _screening("email/a.eml", "d2", version="v2", duplicate_keys=["email/copy.eml?versionId=v7"]),
        _screening("social/f.jsonl#p-1", "d3", version="v3"),
    ]

    gaps = find_gaps(
        since=T0 - timedelta(minutes=5),
        until=T0 + timedelta(minutes=5),
        objects=objects,
        screenings=screenings,
        existing_cases=lambda ids: set(),
        pending_alerts=lambda before: [],
    )

    assert [(v.key, v.version_id) for v in gaps.unscreened] == [("email/a.eml", "v1")]
    assert gaps.objects == 4
    assert gaps.metrics() == {UNSCREENED: 1, UNCASED: 0, UNALERTED: 0}


def test_an_ae_without_a_case_and_a_case_without_a_sent_alert_are_gaps() -> None:
    screenings = [
        _screening("email/a.eml", "d1", is_ae=True),
        _screening("email/b.eml", "d2", is_ae=True),
        _screening("email/c.eml", "d3", is_ae=False),
        _screening("email/d.eml", "d4", is_ae=True, status="quarantined"),
    ]
    asked: list[list[str]] = []

    def existing(ids: list[str]) -> set[str]:
        asked.append(ids)
        return {"PV-D1"}

    gaps = find_gaps(
        since=T0 - timedelta(minutes=5),
        until=T0 + timedelta(minutes=5),
        objects=[],
        screenings=screenings,
        existing_cases=existing,
        pending_alerts=lambda before: ["PV-D1"] if before == T0 + timedelta(minutes=5) else [],
    )

    assert asked == [["PV-D1", "PV-D2"]]
    assert (gaps.uncased, gaps.unalerted) == (["d2"], ["PV-D1"])
    assert not gaps.holds_up
    assert "email/" not in json.dumps(gaps.summary())  # counts and ids, never a key


def test_the_reconcile_function_finds_an_unscreened_version_and_an_unsent_alert(
    pipeline, endpoint, capsys, monkeypatch
):
    """GIVEN documents run through both functions, then an object nobody screened and a case whose
    alert publication failed WHEN ReconcileFunction runs THEN it reports exactly those gaps, as
    EMF metrics, and no object key."""
    monkeypatch.setenv("RECONCILE_GRACE_MINUTES", "0")  # the window ends now: nothing is in flight
    runtime.reset()
    pipeline.upload("email/ae.eml", b"From: a@example.com\nSubject: x\n\nThe ibuprofen gave me a rash.\n")
    pipeline.run()
    (case,) = pipeline.cases()
    assert case["alert_state"] == "sent"
    # Not notified (as if its message was lost), and a case left with its alert unsent.
    pipeline.s3.put_object(Bucket=pipeline.r["bucket"], Key="email/Rosa Delgado.eml", Body=b"x")
    pipeline.dynamodb.Table(pipeline.r["cases_table"]).update_item(
        Key={"case_id": case["case_id"]},
        UpdateExpression="SET alert_state = :p, alert_pending = :p",
        ExpressionAttributeValues={":p": "pending"},
    )
    capsys.readouterr()

    summary = reconcile.handler({}, pipeline.context)

    assert (summary[UNSCREENED], summary[UNCASED], summary[UNALERTED]) == (1, 0, 1)
    assert summary["unalerted_case_ids"] == [case["case_id"]]
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert emf and (emf[-1][UNSCREENED], emf[-1][UNCASED], emf[-1][UNALERTED]) == ([1.0], [0.0], [1.0])
    assert "Rosa" not in out
    assert CaseStore(pipeline.dynamodb.Table(pipeline.r["cases_table"])).pending_alerts() == [case["case_id"]]
