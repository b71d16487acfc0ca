"""The tests' stack is the template's: what the `pipeline` fixture runs the handlers against
(created by tests/template_stack.py in moto) has the queues, bucket, tables, topics and function
environment that template.yaml declares, read back from moto, not from the provisioner's records."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from pv_local.stack import DEFAULT_TEMPLATE
from pv_local.template import load_template
from template_stack import TEST_PARAMETERS

DECLARED = load_template(DEFAULT_TEMPLATE)["Resources"]


def _declared(rtype: str) -> dict[str, dict[str, Any]]:
    return {rid: res["Properties"] for rid, res in DECLARED.items() if res["Type"] == rtype}


def test_every_queue_has_the_template_visibility_retention_encryption_and_redrive_policy(pipeline) -> None:
    """GIVEN the tests' stack WHEN each template queue's attributes are read from moto THEN they
    are the template's: visibility timeout 720 s, maxReceiveCount 5 into the declared DLQ, the
    data key."""
    sqs = boto3.client("sqs")
    queues = _declared("AWS::SQS::Queue")
    assert len(queues) == 6
    key_id = pipeline.stack.physical("DataKey")
    resolve = pipeline.stack.resolver.resolve
    for rid, props in queues.items():
        attrs = sqs.get_queue_attributes(QueueUrl=pipeline.stack.physical(rid), AttributeNames=["All"])[
            "Attributes"
        ]
        assert attrs["VisibilityTimeout"] == str(resolve(props.get("VisibilityTimeout", 30))), rid
        assert attrs["MessageRetentionPeriod"] == str(resolve(props["MessageRetentionPeriod"])), rid
        assert attrs["KmsMasterKeyId"] == key_id, rid
        declared = props.get("RedrivePolicy")
        if declared is None:
            assert "RedrivePolicy" not in attrs, rid
            continue
        policy = json.loads(attrs["RedrivePolicy"])
        dlq = declared["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert policy["deadLetterTargetArn"] == pipeline.stack.resources[dlq].attributes["Arn"], rid
        assert int(policy["maxReceiveCount"]) == int(resolve(declared["maxReceiveCount"])), rid
    intake = sqs.get_queue_attributes(QueueUrl=pipeline.r["intake_queue"], AttributeNames=["All"])
    assert intake["Attributes"]["VisibilityTimeout"] == "720"
    assert pipeline.max_receive_count("intake_queue") == 5


def test_the_intake_bucket_is_versioned_kms_encrypted_private_and_notifies_the_channel_prefixes(
    pipeline,
) -> None:
    s3 = boto3.client("s3")
    bucket = pipeline.r["bucket"]
    assert bucket == pipeline.stack.resolver.resolve(DECLARED["IntakeBucket"]["Properties"]["BucketName"])
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": pipeline.stack.resources["DataKey"].attributes["Arn"],
    }
    assert rule["BucketKeyEnabled"] is True
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    notified = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert {c["QueueArn"] for c in notified} == {pipeline.stack.resources["IntakeQueue"].attributes["Arn"]}
    assert sorted(r["Value"] for c in notified for r in c["Filter"]["Key"]["FilterRules"]) == [
        "call/",
        "email/",
        "social/",
    ]


def test_an_uploaded_document_is_stored_as_a_kms_encrypted_version(pipeline) -> None:
    """What the handlers read back is what a deployed bucket holds: a version, encrypted with the
    data key (a twin bucket had neither)."""
    pipeline.upload("email/a.eml", b"Subject: x\n\nhello")
    head = pipeline.s3.head_object(Bucket=pipeline.r["bucket"], Key="email/a.eml")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == pipeline.stack.resources["DataKey"].attributes["Arn"]
    assert head["VersionId"] not in ("", "null")


def test_every_table_has_the_template_keys_indexes_projections_and_encryption(pipeline) -> None:
    ddb = boto3.client("dynamodb")
    tables = _declared("AWS::DynamoDB::Table")
    assert {"ScreeningsTable", "CasesTable", "CaseDrugsTable", "IdempotencyTable"} <= set(tables)
    for rid, props in tables.items():
        described = ddb.describe_table(TableName=pipeline.stack.physical(rid))["Table"]
        assert described["KeySchema"] == props["KeySchema"], rid
        assert sorted(described["AttributeDefinitions"], key=str) == sorted(
            props["AttributeDefinitions"], key=str
        ), rid
        indexes = {
            gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"])
            for gsi in described.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {
            gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"])
            for gsi in props.get("GlobalSecondaryIndexes", [])
        }, rid
        assert described["SSEDescription"]["SSEType"] == "KMS", rid
    ttl = ddb.describe_time_to_live(TableName=pipeline.r["idempotency_table"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiration")


def test_the_topics_are_encrypted_with_the_data_key(pipeline) -> None:
    sns = boto3.client("sns")
    for rid in _declared("AWS::SNS::Topic"):
        attributes = sns.get_topic_attributes(TopicArn=pipeline.stack.physical(rid))["Attributes"]
        assert attributes["KmsMasterKeyId"] == pipeline.stack.physical("DataKey"), rid


def test_the_handlers_see_the_template_environment_with_the_tests_parameters(pipeline) -> None:
    """The functions' variables come from the template: its fixed values (4 endpoint attempts,
    10 s timeout) and the tests' parameters (endpoint name, batch size, size limit)."""
    screen = pipeline.environment("ScreenFunction")
    case = pipeline.environment("CaseFunction")
    for variables in (screen, case):
        assert {k: os.environ.get(k) for k in variables} == variables
    assert (screen["CLASSIFIER_MAX_ATTEMPTS"], screen["CLASSIFIER_TIMEOUT_S"]) == ("4", "10")
    assert screen["CLASSIFIER_ENDPOINT_NAME"] == TEST_PARAMETERS["ClassifierEndpointName"]
    assert screen["CLASSIFIER_BATCH_SIZE"] == TEST_PARAMETERS["ClassifierBatchSize"]
    assert screen["MAX_DOCUMENT_BYTES"] == TEST_PARAMETERS["MaxDocumentBytes"]
    assert case["CASE_DRUGS_TABLE"] == pipeline.r["case_drugs_table"]
    assert case["MATCH_KEY_ID"] == pipeline.stack.resources["MatchKey"].attributes["Arn"]
