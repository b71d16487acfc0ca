"""The local stack comes up from the real template.yaml: resources, notifications, environment."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pv_local.stack import DEFAULT_TEMPLATE, LocalStack
from pv_local.template import Resolver, Template, TemplateError, load_template


def _noop(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(handlers={"ScreenFunction": _noop, "CaseFunction": _noop}) as local:
        yield local


def _template_resources(rtype: str) -> dict[str, dict[str, Any]]:
    resources = load_template(DEFAULT_TEMPLATE)["Resources"]
    return {rid: res for rid, res in resources.items() if res["Type"] == rtype}


def test_every_queue_of_the_template_exists_with_its_redrive_policy(stack: LocalStack) -> None:
    """GIVEN the template's queues WHEN the stack is up THEN each exists, DLQs wired as declared."""
    sqs = stack.client("sqs")
    queues = _template_resources("AWS::SQS::Queue")
    assert queues, "the template declares queues"
    for rid, res in queues.items():
        attrs = sqs.get_queue_attributes(QueueUrl=stack.physical(rid), AttributeNames=["All"])["Attributes"]
        declared = res["Properties"].get("RedrivePolicy")
        if declared is None:
            assert "RedrivePolicy" not in attrs
            continue
        policy = json.loads(attrs["RedrivePolicy"])
        dlq_id = declared["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert policy["deadLetterTargetArn"] == stack.resources[dlq_id].attributes["Arn"]
        receives = declared["maxReceiveCount"]  # a Ref to the MaxReceiveCount parameter
        if isinstance(receives, dict):
            receives = load_template(DEFAULT_TEMPLATE)["Parameters"][receives["Ref"]]["Default"]
        assert int(policy["maxReceiveCount"]) == receives
        assert attrs["VisibilityTimeout"] == str(res["Properties"]["VisibilityTimeout"])


def test_intake_bucket_notifies_intake_queue_for_each_channel_prefix(stack: LocalStack) -> None:
    """The notification configuration moto's CloudFormation would drop is applied."""
    config = stack.client("s3").get_bucket_notification_configuration(Bucket=stack.bucket)
    intake_arn = stack.resources["IntakeQueue"].attributes["Arn"]
    prefixes = sorted(
        rule["Value"]
        for queue_config in config["QueueConfigurations"]
        if queue_config["QueueArn"] == intake_arn and queue_config["Events"] == ["s3:ObjectCreated:*"]
        for rule in queue_config["Filter"]["Key"]["FilterRules"]
    )
    assert prefixes == ["call/", "email/", "social/"]


def test_bucket_is_kms_encrypted_versioned_and_private(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    rule = s3.get_bucket_encryption(Bucket=stack.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert (
        rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
        == stack.resources["DataKey"].attributes["Arn"]
    )
    assert s3.get_bucket_versioning(Bucket=stack.bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=stack.bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def test_tables_have_the_template_keys_indexes_and_ttl(stack: LocalStack) -> None:
    ddb = stack.client("dynamodb")
    tables = _template_resources("AWS::DynamoDB::Table")
    assert set(tables) == {
        "ScreeningsTable",
        "CasesTable",
        "IdempotencyTable",
        "CaseDrugsTable",
        "AuditTable",
        "MatchKeysTable",
    }
    for rid, res in tables.items():
        table = ddb.describe_table(TableName=stack.physical(rid))["Table"]
        assert table["KeySchema"] == res["Properties"]["KeySchema"]
        declared_gsis = {
            g["IndexName"]: g["KeySchema"] for g in res["Properties"].get("GlobalSecondaryIndexes", [])
        }
        assert {
            g["IndexName"]: g["KeySchema"] for g in table.get("GlobalSecondaryIndexes", [])
        } == declared_gsis
    ttl = ddb.describe_time_to_live(TableName=stack.physical("IdempotencyTable"))["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_key_and_topic_exist(stack: LocalStack) -> None:
    key = stack.client("kms").describe_key(KeyId=stack.physical("DataKey"))["KeyMetadata"]
    assert key["Enabled"] is True
    topics = {t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]}
    assert stack.physical("SafetyAlertsTopic") in topics


def test_functions_get_the_template_environment_resolved_to_local_resources(stack: LocalStack) -> None:
    screen = stack.functions["ScreenFunction"].environment
    case = stack.functions["CaseFunction"].environment
    assert screen["SCREENINGS_TABLE"] == stack.physical("ScreeningsTable")
    assert screen["CASE_QUEUE_URL"] == stack.physical("CaseQueue")
    assert screen["CLASSIFIER_ENDPOINT_NAME"] == "ae-classifier-local"
    assert screen["STAGE"] == "dev"
    assert case["SAFETY_ALERTS_TOPIC_ARN"] == stack.physical("SafetyAlertsTopic")
    assert case["CASES_TABLE"] == stack.physical("CasesTable")
    # the process runs the functions: their variables and the moto endpoint are set
    assert os.environ["CASES_TABLE"] == stack.physical("CasesTable")
    assert os.environ["AWS_ENDPOINT_URL"] == stack.moto_url


def test_event_sources_follow_the_template_events(stack: LocalStack) -> None:
    sources = {(s.function.logical_id, s.queue_url, s.batch_size) for s in stack.pump.sources}
    assert sources == {
        ("ScreenFunction", stack.physical("IntakeQueue"), 10),
        ("ScreenFunction", stack.physical("SocialQueue"), 10),
        ("CaseFunction", stack.physical("CaseQueue"), 10),
    }


def test_stop_restores_the_environment_and_frees_the_port() -> None:
    before = dict(os.environ)
    local = LocalStack(handlers={"ScreenFunction": _noop, "CaseFunction": _noop}).start()
    port = int(local.moto_url.rsplit(":", 1)[1])
    local.stop()
    assert dict(os.environ) == before
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_unknown_parameter_is_rejected() -> None:
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        LocalStack(parameters={"NoSuchParameter": "x"}).start()


# The resolver, on a small template --------------------------------------------------------

_BODY = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "Email": {"Type": "String", "Default": ""}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]},
    },
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["DLQ", "Arn"]}}},
        },
        "DLQ": {"Type": "AWS::SQS::Queue"},
        "Sub": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasEmail",
            "Properties": {"TopicArn": {"Ref": "Topic"}},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "DependsOn": "Queue"},
    },
}


def _resolver(parameters: dict[str, str] | None = None) -> Resolver:
    return Resolver(Template(_BODY, parameters), "eu-west-1", "123456789012", "st")


def test_creation_order_puts_dependencies_first_and_skips_false_conditions() -> None:
    resolver = _resolver()
    assert resolver.template.creation_order(resolver) == ["DLQ", "Queue", "Topic"]
    with_email = _resolver({"Email": "a@example.com"})
    assert with_email.template.creation_order(with_email) == ["DLQ", "Queue", "Topic", "Sub"]


def test_resolver_evaluates_sub_if_join_and_novalue() -> None:
    resolver = _resolver({"Stage": "prod"})
    resolver.refs["Queue"] = "https://q"
    resolver.attributes["Queue"] = lambda name: f"arn:{name}"
    value = {
        "A": {"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue}-${Queue.Arn}-${!Literal}"},
        "B": {"Fn::If": ["IsProd", "yes", "no"]},
        "C": {"Fn::If": ["HasEmail", "x", {"Ref": "AWS::NoValue"}]},
        "D": {"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]},
        "E": {"Fn::Sub": ["${X}/${AWS::AccountId}", {"X": {"Ref": "Stage"}}]},
        "F": {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]},
    }
    assert resolver.resolve(value) == {
        "A": "st-prod-https://q-arn:Arn-${Literal}",
        "B": "yes",
        "D": "a,eu-west-1",
        "E": "prod/123456789012",
        "F": "b",
    }


def test_ref_to_a_resource_not_created_is_an_error() -> None:
    with pytest.raises(TemplateError, match="Queue"):
        _resolver().resolve({"Ref": "Queue"})
