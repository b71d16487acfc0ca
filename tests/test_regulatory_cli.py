"""`pv case export-e2b --stack NAME` on moto: a deployed stack found by its CloudFormation outputs and
parameters, the export made through the review workbench with the caller's IAM principal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import e2br3
import pytest
from meddra_release import write_release
from moto import mock_aws
from pv.adapters.case_store import CaseStore
from pv.adapters.review_store import ReviewStore
from pv_local.cli import main
from regulatory_inputs import CaseDesk, email
from template_stack import REGION, TEST_PARAMETERS, provision_template
from template_stack import tables as template_tables

STACK = "pv-prod"
SENDER = {
    "SenderOrganization": "Invented Pharma Ltd",
    "SenderIdentifier": "INVPHARMA",
    "SenderCountry": "GB",
    "ReceiverIdentifier": "EVHUMAN",
}


def deployment_record(outputs: dict[str, str], parameters: dict[str, str]) -> str:
    """A CloudFormation template that only records a deployment: the real template's resolved
    outputs and the parameters it was deployed with (moto's CloudFormation cannot run the SAM
    transform, so the resources themselves were provisioned from template.yaml beside it)."""
    return json.dumps(
        {
            "Parameters": {name: {"Type": "String"} for name in parameters},
            "Resources": {"Record": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """GIVEN a deployed stack with one confirmed case and one new one."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        parameters = {**TEST_PARAMETERS, **SENDER}
        stack = provision_template(parameters)
        tables = template_tables(stack, "CasesTable", "CaseDrugsTable", "AuditTable")
        s3 = boto3.client("s3", region_name=REGION)
        cases = CaseStore(tables["CasesTable"], drug_index=tables["CaseDrugsTable"])
        desk = CaseDesk(write_release(tmp_path / "meddra", seed=5).folder)
        confirmed = desk.open(email("Since starting amoxicillin I have a rash on my arms.", seed="7"))
        new = desk.open(email("Since starting amoxicillin I have been vomiting.", seed="8"), status="new")
        for case in (confirmed, new):
            cases.create(case)
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName=STACK,
            TemplateBody=deployment_record(stack.outputs(), parameters),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
        yield {
            "cases": cases,
            "audit": tables["AuditTable"],
            "s3": s3,
            "bucket": stack.physical("IntakeBucket"),
            "confirmed": confirmed,
            "new": new,
        }


def _export(case_id: str, out: Path, *extra: str) -> int:
    return main(
        ["case", "export-e2b", case_id, "--out", str(out), "--stack", STACK, "--region", REGION, *extra]
    )


def test_a_deployed_stacks_case_is_exported_recorded_and_audited_under_the_callers_principal(
    deployed, tmp_path: Path
) -> None:
    case = deployed["confirmed"]
    out = tmp_path / "case.xml"
    assert _export(case.case_id, out, "--expected-version", "1") == 0

    xml = out.read_bytes()
    [icsr] = e2br3.parse(xml).icsrs
    assert icsr.worldwide_case_id == case.regulatory.worldwide_case_id
    assert icsr.safety_report_id.startswith("GB-INVPHARMA-")  # the stack's sender parameters
    assert b"Invented Pharma Ltd" in xml and b"EVHUMAN" in xml
    stored = deployed["cases"].get(case.case_id)
    [record] = stored.regulatory.exports
    assert stored.version == 2 and record.case_version == 1
    body = deployed["s3"].get_object(Bucket=deployed["bucket"], Key=record.key)["Body"].read()
    assert body == xml and record.key.startswith(f"e2b/{case.case_id}/v1-")
    [audit] = ReviewStore(deployed["cases"], deployed["audit"]).audit_trail(case.case_id)
    caller = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    assert (audit.action, audit.actor.sub, audit.details["key"]) == ("e2b_exported", caller, record.key)
    assert record.exported_by == caller.rsplit("/", 1)[-1]


def test_a_refused_or_stale_export_writes_nothing(deployed, tmp_path: Path, capsys) -> None:
    out = tmp_path / "x.xml"
    assert _export(deployed["new"].case_id, out) == 2
    assert "not confirmed by a reviewer" in capsys.readouterr().err
    assert _export(deployed["confirmed"].case_id, out, "--expected-version", "4") == 2
    assert "is at version 1, not 4" in capsys.readouterr().err
    assert _export("PV-0000", out) == 2
    assert "no case PV-0000" in capsys.readouterr().err
    assert not out.exists()
    assert "Contents" not in deployed["s3"].list_objects_v2(Bucket=deployed["bucket"], Prefix="e2b/")
    assert deployed["cases"].get(deployed["confirmed"].case_id).version == 1


def test_an_unknown_stack_is_a_usage_error(deployed, tmp_path: Path, capsys) -> None:
    assert main(["case", "export-e2b", "PV-1", "--out", str(tmp_path / "x"), "--stack", "nope"]) == 2
    assert "stack nope" in capsys.readouterr().err
