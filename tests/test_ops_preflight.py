"""`pv ops preflight`, which `make deploy` runs before `sam deploy` (finding 10 of issue 15): a
stack whose endpoint does not exist, or a prod stack without recipients, is refused before it
is deployed, not discovered an hour later in a dead-letter queue. And `pv ops` on a deployed
stack given its name (moto's CloudFormation)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pv_local.cli import main
from pv_local.ops import deployed_target, preflight, reconcile_target, samconfig_parameters

ROOT = Path(__file__).resolve().parents[1]
SAMCONFIG = ROOT / "samconfig.toml"
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-1"


def deploy_endpoint(name: str, variant: str = "AllTraffic") -> None:
    """An endpoint as `pv-model sagemaker deploy` leaves it (in moto)."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/pv-sagemaker",
        PrimaryContainer={
            "Image": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:2"
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def check(environment: str, samconfig: Path = SAMCONFIG) -> Any:
    return preflight(
        environment,
        samconfig=samconfig,
        template_path=TEMPLATE,
        sagemaker_client=lambda region: boto3.client("sagemaker", region_name=region),
    )


def test_the_dev_environment_deploys_once_its_endpoint_is_in_service() -> None:
    with mock_aws():
        _, parameters = samconfig_parameters(SAMCONFIG, "dev")
        name = parameters["ClassifierEndpointName"]
        assert check("dev").problems == [
            f"ClassifierEndpointName: endpoint {name!r} cannot be described (ValidationException); "
            "deploy it first (README step 1)"
        ]

        deploy_endpoint(parameters["ClassifierEndpointName"])

        assert check("dev").problems == []


def test_a_classifier_without_the_alarmed_variant_is_refused() -> None:
    with mock_aws():
        _, parameters = samconfig_parameters(SAMCONFIG, "dev")
        deploy_endpoint(parameters["ClassifierEndpointName"], variant="blue")

        (problem,) = check("dev").problems
        assert "ClassifierVariantName 'AllTraffic' is not a variant" in problem


def test_prod_is_refused_until_it_names_its_recipients(tmp_path: Path) -> None:
    """samconfig.toml holds no real address, so prod names its recipients before it deploys."""
    with mock_aws():
        _, parameters = samconfig_parameters(SAMCONFIG, "prod")
        deploy_endpoint(parameters["ClassifierEndpointName"])
        assert check("prod").problems == [
            "A prod stack needs AlertEmail, the recipient of the safety alerts.",
            "A prod stack needs OperationsEmail, the recipient of the operational alarms.",
        ]

        text = SAMCONFIG.read_text(encoding="utf-8").replace(
            '  "Stage=prod",\n',
            '  "Stage=prod",\n'
            '  "AlertEmail=safety@pharma.example",\n'
            '  "OperationsEmail=ops@pharma.example",\n',
        )
        (tmp_path / "samconfig.toml").write_text(text, encoding="utf-8")

        assert check("prod", tmp_path / "samconfig.toml").problems == []


def test_the_command_exits_non_zero_with_the_reason(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    with mock_aws():
        assert main(["ops", "preflight", "--config-env", "dev"]) == 1
        assert "deploy it first" in capsys.readouterr().err


def test_the_readme_deploys_the_endpoint_samconfig_names() -> None:
    """The README deployed `ae-classifier` while samconfig expected `pv-ae-classifier-dev`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deployed = set(re.findall(r"sagemaker deploy [^\n]*--endpoint-name ([a-z0-9-]+)", readme))
    _, dev = samconfig_parameters(SAMCONFIG, "dev")
    assert deployed == {dev["ClassifierEndpointName"]}


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
