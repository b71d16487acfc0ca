"""Create the template's data resources (key, bucket, queues, tables, topic) in the moto server.

One function per CloudFormation resource type, each reading the resource's resolved Properties.
Types the pipeline does not need locally (IAM, alarms, log groups, the functions themselves, which
the event pump runs in-process) are recorded as not emulated rather than silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from pv_local.template import Resolver, Template


@dataclass
class Provisioned:
    """A created resource: what `Ref` and `Fn::GetAtt` return for it."""

    logical_id: str
    type: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)
    emulated: bool = True

    def get_att(self, name: str) -> str:
        if name in self.attributes:
            return self.attributes[name]
        if not self.emulated:
            return f"arn:aws:local:::{self.logical_id}/{name}"
        raise KeyError(f"{self.logical_id} ({self.type}) has no attribute {name!r} locally")


class Provisioner:
    """Creates resources through boto3 clients pointed at the local endpoint."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None, resolver: Resolver) -> None:
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self.resolver = resolver
        self.created: dict[str, Provisioned] = {}
        self._creators: dict[str, Callable[[str, dict[str, Any]], Provisioned]] = {
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::SQS::Queue": self._sqs_queue,
            "AWS::SQS::QueuePolicy": self._sqs_queue_policy,
            "AWS::S3::Bucket": self._s3_bucket,
            "AWS::S3::BucketPolicy": self._s3_bucket_policy,
            "AWS::DynamoDB::Table": self._dynamodb_table,
            "AWS::SNS::Topic": self._sns_topic,
            "AWS::SNS::Subscription": self._sns_subscription,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]

    def provision(self, template: Template) -> dict[str, Provisioned]:
        """Create every active resource of the template in dependency order."""
        for logical_id in template.creation_order(self.resolver):
            rtype = template.resource_type(logical_id)
            creator = self._creators.get(rtype)
            if creator is None:
                result = self._not_emulated(logical_id, rtype)
            else:
                props = self.resolver.resolve(template.resources[logical_id].get("Properties") or {})
                result = creator(logical_id, props)
            self.created[logical_id] = result
            self.resolver.refs[logical_id] = result.ref
            self.resolver.attributes[logical_id] = result.get_att
        return self.created

    def physical_name(self, logical_id: str, lowercase: bool = False) -> str:
        name = f"{self.resolver.stack_name}-{logical_id}"
        return name.lower() if lowercase else name

    def _not_emulated(self, logical_id: str, rtype: str) -> Provisioned:
        return Provisioned(logical_id, rtype, ref=self.physical_name(logical_id), emulated=False)

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.resolver.region}:{self.resolver.account_id}:{resource}"

    # KMS -------------------------------------------------------------------------------------

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        kms = self.client("kms")
        kwargs: dict[str, Any] = {"Description": props.get("Description", logical_id)}
        if "KeyPolicy" in props:
            # moto keeps a policy given as an object in a form that breaks DescribeKey: pass JSON.
            policy = props["KeyPolicy"]
            kwargs["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        for prop, arg in (("KeyUsage", "KeyUsage"), ("KeySpec", "KeySpec")):
            if prop in props:
                kwargs[arg] = props[prop]
        meta = kms.create_key(**kwargs)["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        return Provisioned(
            logical_id,
            "AWS::KMS::Key",
            ref=meta["KeyId"],
            attributes={"Arn": meta["Arn"], "KeyId": meta["KeyId"]},
        )

    def _kms_alias(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        return Provisioned(logical_id, "AWS::KMS::Alias", ref=props["AliasName"])

    # SQS -------------------------------------------------------------------------------------

    _QUEUE_ATTRIBUTES = (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
        "FifoQueue",
        "ContentBasedDeduplication",
    )

    def _sqs_queue(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        sqs = self.client("sqs")
        name = props.get("QueueName") or self.physical_name(logical_id) + (
            ".fifo" if props.get("FifoQueue") else ""
        )
        attributes = {k: _attribute(props[k]) for k in self._QUEUE_ATTRIBUTES if k in props}
        for policy in ("RedrivePolicy", "RedriveAllowPolicy"):
            if policy in props:
                attributes[policy] = _attribute(props[policy])
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Provisioned(
            logical_id,
            "AWS::SQS::Queue",
            ref=url,
            attributes={"Arn": arn, "QueueName": name, "QueueUrl": url},
        )

    def _sqs_queue_policy(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": _attribute(props["PolicyDocument"])}
            )
        return Provisioned(logical_id, "AWS::SQS::QueuePolicy", ref=self.physical_name(logical_id))

    # S3 --------------------------------------------------------------------------------------

    def _s3_bucket(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        s3 = self.client("s3")
        name = props.get("BucketName") or self.physical_name(logical_id, lowercase=True)
        create: dict[str, Any] = {"Bucket": name}
        if self.resolver.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.resolver.region}
        s3.create_bucket(**create)
        if "BucketEncryption" in props:
            rules = [
                {
                    ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                    for k, v in rule.items()
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "NotificationConfiguration" in props:
            # moto's CloudFormation drops this silently, so it is applied explicitly.
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration=_notification_configuration(props["NotificationConfiguration"]),
            )
        return Provisioned(
            logical_id,
            "AWS::S3::Bucket",
            ref=name,
            attributes={"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"},
        )

    def _s3_bucket_policy(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        policy = dict(props["PolicyDocument"])
        # The local endpoint is plain HTTP on 127.0.0.1 and moto enforces Deny statements without
        # their conditions, so a TLS-only statement would deny every local request: leave it out.
        policy["Statement"] = [s for s in policy["Statement"] if "aws:SecureTransport" not in json.dumps(s)]
        if policy["Statement"]:
            self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
        return Provisioned(logical_id, "AWS::S3::BucketPolicy", ref=self.physical_name(logical_id))

    # DynamoDB --------------------------------------------------------------------------------

    def _dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        ddb = self.client("dynamodb")
        name = props.get("TableName") or self.physical_name(logical_id)
        billing = props.get("BillingMode", "PROVISIONED")
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing,
        }
        throughput = props.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if billing == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = throughput
        if props.get("GlobalSecondaryIndexes"):
            indexes = []
            for gsi in props["GlobalSecondaryIndexes"]:
                index = {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")}
                if billing == "PROVISIONED":
                    index["ProvisionedThroughput"] = gsi.get("ProvisionedThroughput", throughput)
                indexes.append(index)
            kwargs["GlobalSecondaryIndexes"] = indexes
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        sse = props.get("SSESpecification")
        if sse:
            kwargs["SSESpecification"] = {
                k: v
                for k, v in {
                    "Enabled": sse.get("SSEEnabled"),
                    "SSEType": sse.get("SSEType"),
                    "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
                }.items()
                if v is not None
            }
        table = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            # moto's CloudFormation ignores TTL: set it the way the API would.
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Provisioned(logical_id, "AWS::DynamoDB::Table", ref=name, attributes=attributes)

    # SNS -------------------------------------------------------------------------------------

    def _sns_topic(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        sns = self.client("sns")
        name = props.get("TopicName") or self.physical_name(logical_id)
        attributes = {
            k: _attribute(props[k]) for k in ("KmsMasterKeyId", "DisplayName", "FifoTopic") if k in props
        }
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription") or []:
            self._subscribe(arn, subscription["Protocol"], subscription["Endpoint"], {})
        return Provisioned(
            logical_id, "AWS::SNS::Topic", ref=arn, attributes={"TopicArn": arn, "TopicName": name}
        )

    def _sns_subscription(self, logical_id: str, props: dict[str, Any]) -> Provisioned:
        attributes: dict[str, str] = {
            k: _attribute(props[k]) for k in ("FilterPolicy", "RawMessageDelivery") if k in props
        }
        arn = self._subscribe(props["TopicArn"], props["Protocol"], props["Endpoint"], attributes)
        return Provisioned(logical_id, "AWS::SNS::Subscription", ref=arn)

    def _subscribe(self, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]) -> str:
        response = self.client("sns").subscribe(
            TopicArn=topic_arn,
            Protocol=protocol,
            Endpoint=endpoint,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
        return str(response["SubscriptionArn"])


def _attribute(value: Any) -> str:
    """An API attribute value: JSON for objects, lower-case strings for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _notification_configuration(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the shape of PutBucketNotificationConfiguration."""

    def key_filter(item: dict[str, Any]) -> dict[str, Any]:
        rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

    result: dict[str, Any] = {}
    for cfn_key, api_key, target_key in (
        ("QueueConfigurations", "QueueConfigurations", "Queue"),
        ("TopicConfigurations", "TopicConfigurations", "Topic"),
    ):
        items = props.get(cfn_key) or []
        if items:
            result[api_key] = [
                {f"{target_key}Arn": item[target_key], "Events": [item["Event"]], **key_filter(item)}
                for item in items
            ]
    return result
