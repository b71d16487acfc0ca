"""`pv ops reconcile` and `pv ops redrive` against the local stack, through the stack.json that
`pv local up` writes (the same commands take `--stack NAME` for a deployed stack)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pv_local.cli import main
from pv_local.inbox import write_stack_file
from pv_local.ops import deployed_target, reconcile_target
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


def test_a_deployed_stack_is_reached_by_its_name() -> None:
    """`--stack NAME`: the bucket and tables are found through CloudFormation (a stack of the
    template's bucket and tables, their keys and indexes, in moto) and reconciled like the local one."""
    from pv_local.stack import DEFAULT_TEMPLATE
    from pv_local.template import load_template

    declared = load_template(DEFAULT_TEMPLATE)["Resources"]
    keys = ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")
    template = {
        "Resources": {
            "IntakeBucket": {"Type": "AWS::S3::Bucket"},
            **{
                rid: {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {k: v for k, v in declared[rid]["Properties"].items() if k in keys},
                }
                for rid in ("ScreeningsTable", "CasesTable")
            },
        }
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(StackName="pv-intake-dev", TemplateBody=json.dumps(template))
        target = deployed_target("pv-intake-dev", "eu-west-1")
        since = datetime.now(UTC) - timedelta(minutes=5)
        boto3.client("s3", region_name="eu-west-1").put_object(
            Bucket=target.physical("IntakeBucket"), Key="email/a.eml", Body=b"x"
        )

        gaps = reconcile_target(target, since, datetime.now(UTC) + timedelta(minutes=1))

        assert target.physical("CasesTable").startswith("pv-intake-dev-CasesTable")
        assert (gaps.objects, gaps.metrics()["UnscreenedObjectVersions"]) == (1, 1)
