"""`pv ops reconcile` and `pv ops redrive` against the local stack, through the stack.json that
`pv local up` writes (the same commands take `--stack NAME` for a deployed stack: see
test_ops_preflight.py, which runs in moto's in-process mock; the mock would reset the local
stack's moto server in this module)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from pv_local.cli import main
from pv_local.inbox import write_stack_file
from pv_local.load import object_keys_in
from pv_local.stack import LocalStack

RECEIVED: list[str] = []


def _record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    RECEIVED.extend(r["body"] for r in event["Records"])
    return {"batchItemFailures": []}


def _noop(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    with LocalStack(handlers={"ScreenFunction": _record, "CaseFunction": _noop}) as stack:
        path = write_stack_file(stack, {}, tmp_path_factory.mktemp("local") / "stack.json")
        yield stack, path


def _reconcile(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["ops", "reconcile", "--since", "1h", "--stack-file", str(path)])
    return code, json.loads(capsys.readouterr().out)


def test_reconcile_reports_the_versions_nobody_screened_until_they_are(stack_file, capsys) -> None:
    """GIVEN two documents dropped in and not screened yet WHEN `pv ops reconcile` runs THEN both
    versions are gaps (exit 1, counts and no key); once one has its screening, one is left."""
    stack, path = stack_file
    stack.upload("email/first.eml", b"From: a@example.com\n\nhello\n")
    stack.upload("call/second.txt", b"Caller: hello\n")

    code, report = _reconcile(path, capsys)
    assert (code, report["object_versions"], report["UnscreenedObjectVersions"]) == (1, 2, 2)
    assert "first.eml" not in json.dumps(report)

    stack.table("ScreeningsTable").put_item(
        Item={
            "document_id": "d-first",
            "source_key": "email/first.eml",
            "status": "screened",
            "is_ae": False,
            "screened_at": datetime.now(UTC).isoformat(),
        }
    )
    code, report = _reconcile(path, capsys)
    assert (code, report["UnscreenedObjectVersions"], report["UncasedAdverseEvents"]) == (1, 1, 0)


def test_redrive_moves_dead_letters_back_unchanged(stack_file, capsys) -> None:
    """GIVEN an S3 notification naming an object version in IntakeDLQ WHEN `pv ops redrive` runs
    THEN it is back on IntakeQueue, byte for byte (so the version received is screened), and the
    DLQ is empty."""
    stack, path = stack_file
    body = json.dumps(
        {
            "Records": [
                {
                    "s3": {
                        "bucket": {"name": stack.bucket},
                        "object": {"key": "email/x.eml", "versionId": "v-1"},
                    }
                }
            ]
        }
    )
    stack.send("IntakeDLQ", body)

    assert main(["ops", "redrive", "--queue", "IntakeDLQ", "--stack-file", str(path)]) == 0
    assert "1 message(s) moved from IntakeDLQ back to IntakeQueue" in capsys.readouterr().out
    depth = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical("IntakeDLQ"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "0"
    stack.run_until_idle(timeout_s=60)
    assert body in RECEIVED


def test_stack_json_gives_every_output_a_script_needs_and_the_pump_serves_what_it_drops(stack_file) -> None:
    """GIVEN only stack.json WHEN a script drops a document into the bucket with its own boto3
    client, as it would into a deployed stack's IntakeBucketName THEN the pump delivers the
    notification to ScreenFunction, as S3 would."""
    stack, path = stack_file
    info = json.loads(path.read_text())
    outputs = info["outputs"]
    assert {
        "IntakeBucketName",
        "ScreeningsTableName",
        "CasesTableName",
        "IntakeQueueUrl",
        "SocialQueueUrl",
    } <= set(outputs)
    assert {
        "CaseQueueUrl",
        "IntakeDLQUrl",
        "SafetyAlertsTopicArn",
        "OperationsTopicArn",
        "DataKeyArn",
    } <= set(outputs)
    assert "ReviewApiUrl" not in outputs  # the review API is served apart (review_api_url), not emulated
    s3 = boto3.client("s3", region_name=info["region"], endpoint_url=info["endpoint_url"])
    s3.put_object(
        Bucket=outputs["IntakeBucketName"], Key="email/scripted.eml", Body=b"From: a@example.com\n\nhi\n"
    )
    sqs = boto3.client("sqs", region_name=info["region"], endpoint_url=info["endpoint_url"])
    assert sqs.get_queue_attributes(QueueUrl=outputs["IntakeQueueUrl"], AttributeNames=["QueueArn"])

    stack.run_until_idle(timeout_s=60)

    assert "email/scripted.eml" in [key for body in RECEIVED for key in object_keys_in(body)]
