"""`pv local up` as a deployed stack for a user's own tools: `.artifacts/local/stack.json` holds the
moto endpoint, the region and every template output with a local counterpart, and a script using
plain boto3 with nothing but that file drops a document with `put_object`; the pump processes it
as S3's notification would, and the script receives the alert on its own subscription."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import endpoint_double
import pytest
from local_up import LocalUp, local_up
from pv_local.stack import DEFAULT_TEMPLATE
from pv_local.template import load_template

SCRIPT = Path(__file__).parent / "stack_script.py"
REPORT = b"""From: Dana Field <dana.field@example.org>
To: medinfo@pharma.example
Subject: After the new tablets
Content-Type: text/plain; charset=utf-8

Since I started taking ibuprofen last week I have had a rash on both arms.
"""
# Outputs naming what the local stack runs in-process or stands in for (the functions, the API,
# the user pool): stack.json gives review_url and the tokens instead.
NOT_LOCAL = {
    "ScreenFunctionName",
    "CaseFunctionName",
    "ReviewFunctionName",
    "ReconcileFunctionName",
    "OperationsDashboardName",
    "ReviewApiUrl",
    "ReviewUserPoolId",
    "ReviewUserPoolClientId",
}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    work = tmp_path_factory.mktemp("stack-file")
    server, url = endpoint_double.start(endpoint_double.EndpointDouble())
    try:
        with local_up(work, url) as running:
            yield running
    finally:
        server.shutdown()


def test_stack_json_holds_every_template_output_with_a_local_counterpart(up: LocalUp) -> None:
    outputs = up.stack["outputs"]
    declared = set(load_template(DEFAULT_TEMPLATE)["Outputs"])
    assert set(outputs) == declared - NOT_LOCAL
    resources = up.stack["resources"]
    assert outputs["IntakeBucketName"] == resources["IntakeBucket"]
    assert outputs["IntakeQueueUrl"] == resources["IntakeQueue"]
    assert outputs["SafetyAlertsTopicArn"] == resources["SafetyAlertsTopic"]
    assert outputs["CasesTableName"] == resources["CasesTable"]
    assert outputs["IntakeQueueArn"].endswith(":" + outputs["IntakeQueueUrl"].rsplit("/", 1)[-1])
    # What the review inbox needs stays beside them.
    assert {"review_url", "inbox_url", "tokens", "parameters", "region", "endpoint_url"} <= set(up.stack)
    assert set(up.stack["tokens"]) == {"reviewer", "viewer"}
    # The outputs answer at the endpoint: the bucket and the queue are there.
    assert up.client("s3").head_bucket(Bucket=outputs["IntakeBucketName"])
    attributes = up.client("sqs").get_queue_attributes(
        QueueUrl=outputs["IntakeQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]
    assert attributes["QueueArn"] == outputs["IntakeQueueArn"]


def test_a_plain_boto3_script_drops_a_document_and_receives_its_alert(up: LocalUp, tmp_path: Path) -> None:
    """GIVEN `pv local up` and its stack.json WHEN a script of the user's own, plain boto3, puts an
    AE email into the intake bucket (not the watched folder) THEN the pump screens it as S3's
    notification would, opens a case and the alert reaches the script's own subscription."""
    document = tmp_path / "report.eml"
    document.write_bytes(REPORT)

    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(up.stack_file), "email/from-a-script.eml", str(document)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr + up.log.read_text()[-3000:]
    received = json.loads(done.stdout)
    alert = received["alert"]
    assert received["version_id"]  # the bucket is versioned, as deployed
    assert alert["case_id"].startswith("PV-")
    assert json.loads(received["attributes"]["drug"]) == ["ibuprofen"]
    case = up.get(f"cases/{alert['case_id']}")
    assert case["source_key"] == "email/from-a-script.eml"
    assert not any((up.work / "in").rglob("*.eml"))  # nothing went through the watched folder
    screenings = up.client("dynamodb").scan(TableName=up.stack["outputs"]["ScreeningsTableName"])
    assert [s["source_key"]["S"] for s in screenings["Items"]] == ["email/from-a-script.eml"]
