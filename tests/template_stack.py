"""The stack the tests run against: every resource of `template.yaml`, created in moto (inside
`mock_aws`) through the provisioner the local stack uses, so queue attributes, redrive policies,
bucket versioning and encryption, keys, tables and indexes are the template's, never a twin's."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pv_local.provision import ProvisionedStack

ENDPOINT_NAME = "ae-classifier-test"
REGION = "eu-west-1"
# Template parameters of the tests' stack: the endpoint double's name, small classifier batches (a
# few sentences already span several endpoint calls) and a 64 KiB document limit (the size-limit
# tests need not upload 5 MiB).
TEST_PARAMETERS = {
    "ClassifierEndpointName": ENDPOINT_NAME,
    "ClassifierBatchSize": "8",
    "MaxDocumentBytes": "65536",
}
TEST_STACK = "pv-test"


@functools.cache
def _template_body() -> dict[str, Any]:
    from pv_local.stack import DEFAULT_TEMPLATE
    from pv_local.template import load_template

    return load_template(DEFAULT_TEMPLATE)


@functools.cache
def _session() -> Any:
    """One boto3 session for every provisioning: its service models are loaded once."""
    import boto3

    return boto3.Session()


def provision_template(parameters: dict[str, str] | None = None) -> ProvisionedStack:
    """Every resource of `template.yaml` created in moto (call inside `mock_aws`), through the
    provisioner the local stack uses: the template's queue attributes, redrive policies, bucket
    versioning and encryption, keys, tables and indexes."""
    from pv_local.provision import provision
    from pv_local.template import Template

    template = Template(_template_body(), parameters if parameters is not None else TEST_PARAMETERS)
    stack = provision(_session(), None, template, region=REGION, stack_name=TEST_STACK)
    drain(_session().client("sqs"), stack.physical("IntakeQueue"))  # S3's s3:TestEvent
    return stack


def drain(sqs: Any, queue_url: str) -> None:
    """Delete what a queue holds now (one receive)."""
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def tables(stack: ProvisionedStack, *logical_ids: str) -> dict[str, Any]:
    """boto3 Table resources for tables of the provisioned template, by logical id."""
    import boto3

    ddb = boto3.resource("dynamodb", region_name=stack.resolver.region)
    return {rid: ddb.Table(stack.physical(rid)) for rid in logical_ids}
