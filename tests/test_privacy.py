"""Personal data never leaves the encrypted stores: not in logs, not in metrics, not in alerts.

The sample documents of events/documents run through both handlers, with the error paths
exercised too (an endpoint error that echoes its input, throttling, a malformed post, a poison case
message); every personal-data string MANIFEST.json lists for them is then searched for in what
the functions wrote to their log stream (powertools JSON logs, as CloudWatch receives them), in
the EMF metrics on stdout, in any stdlib log record, and in the SNS messages the topic delivered.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from endpoint_double import Fault

DOCUMENTS = Path(__file__).resolve().parents[1] / "events" / "documents"
MANIFEST = json.loads((DOCUMENTS / "MANIFEST.json").read_text())["documents"]


def personal_data() -> set[str]:
    found: set[str] = set()
    for spec in MANIFEST.values():
        found.update(spec.get("personal_data") or [])
        for post in (spec.get("posts") or {}).values():
            found.update(post.get("personal_data") or [])
    return found


PERSONAL = personal_data()


@pytest.fixture
def function_logs() -> Iterator[io.StringIO]:
    """What the functions' powertools logger writes (its handler, its JSON formatter)."""
    from pv.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    handler.setStream(previous)  # type: ignore[attr-defined]


def run_samples(pipeline: Any, endpoint: Any) -> list[dict[str, Any]]:
    """Every sample document through both functions, with error paths on the way; the alerts."""
    from pv.handlers import case, screen

    # The first call fails the way a model container might: echoing what it was sent.
    endpoint.faults.append(Fault(status=400, body=json.dumps({"message": f"cannot score {PERSONAL}"})))
    endpoint.faults.append(Fault(status=429, code="ThrottlingException"))
    for key in MANIFEST:
        pipeline.upload(key, (DOCUMENTS / key).read_bytes())
    pipeline.push_post({"id": "pii-1", "author": "@Helen Marchetti", "text": ""})  # quarantined: no text
    poison = {"document_id": "x", "source_key": "email/ae_hospitalisation.eml", "note": sorted(PERSONAL)}
    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody=json.dumps(poison))
    for _ in range(5):
        pipeline.deliver("intake_queue", screen.handler)
        pipeline.deliver("social_queue", screen.handler)
        pipeline.deliver("case_queue", case.handler)
    return pipeline.alerts()


def assert_clean(text: str, where: str) -> None:
    leaked = sorted(p for p in PERSONAL if p in text)
    assert leaked == [], f"{where} contains personal data: {leaked}"


def test_the_manifest_lists_personal_data_for_the_samples():
    """Guard: the privacy checks below search for something real."""
    assert len(PERSONAL) >= 60
    assert {"Helen Marchetti", "MRN 00482913", "+44 7700 900481", "@fitwithkayla"} <= PERSONAL


def test_logs_metrics_and_alerts_of_the_samples_carry_no_personal_data(
    pipeline, endpoint, function_logs, capsys, caplog
):
    """GIVEN every sample document, an echoing endpoint error, a quarantined post and a poison case
    message WHEN both functions run THEN no personal-data string appears in the function logs, the
    EMF metrics, any stdlib log record, or the alerts; and the run did produce all of them."""
    caplog.set_level(logging.INFO)

    alerts = run_samples(pipeline, endpoint)

    logs = function_logs.getvalue()
    metrics = capsys.readouterr().out
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert_clean(logs, "function logs")
    assert_clean(metrics, "EMF metrics")
    assert_clean(records, "stdlib log records")
    assert_clean(json.dumps(alerts, ensure_ascii=False), "alerts")
    # The run exercised what it claims to: AE cases alerted, documents logged, metrics emitted.
    # (The endpoint double's word list, not MANIFEST, decides which samples are AEs here.)
    assert len(alerts) == len(pipeline.cases()) >= len(MANIFEST) // 2
    assert logs.count('"document screened"') >= len(MANIFEST) - 2
    assert '"document quarantined"' in logs and '"case processed"' in logs
    assert '"CloudWatchMetrics"' in metrics and '"DocumentsScreened"' in metrics
    assert endpoint.faults == type(endpoint.faults)()  # both injected faults were served


def test_the_stored_case_keeps_the_facts_but_its_summary_is_redacted(pipeline, endpoint, function_logs):
    """GIVEN the hospitalisation email WHEN cased THEN the summary (the one free-text field that
    travels in alerts) names no one, while the parsed document stays in the bucket for reviewers."""
    pipeline.upload("email/ae_hospitalisation.eml", (DOCUMENTS / "email/ae_hospitalisation.eml").read_bytes())
    pipeline.run()

    (case,) = pipeline.cases()
    assert_clean(case["facts"]["summary"], "case summary")
    assert "warfarin" in case["facts"]["suspect_drugs"]
    parsed = pipeline.s3.list_objects_v2(Bucket=pipeline.r["bucket"], Prefix="parsed/")["Contents"]
    body = pipeline.s3.get_object(Bucket=pipeline.r["bucket"], Key=parsed[0]["Key"])["Body"].read().decode()
    assert "Helen Marchetti" in body  # kept where it belongs: the encrypted bucket
