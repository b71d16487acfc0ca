"""The template's resources created at one AWS endpoint, and what its functions and outputs resolve
to there.

The local stack provisions into its moto server; the tests provision into moto in process (no
endpoint URL inside `mock_aws`). Either way the queues, tables, bucket, keys and topics are the
template's own, with its attributes, redrive policies, versioning, encryption, keys and indexes.

    provisioned = provision(boto3.Session(), None, Template.from_file("template.yaml"))
    provisioned.physical("IntakeBucket"), provisioned.environment("ScreenFunction")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from pv_local.resources import Provisioned, Provisioner
from pv_local.template import FunctionSpec, Resolver, Template, TemplateError, referenced_ids

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass
class ProvisionedStack:
    """A template provisioned at an endpoint: its resources by logical id, resolved."""

    template: Template
    resolver: Resolver
    resources: dict[str, Provisioned]

    def physical(self, logical_id: str) -> str:
        """What `Ref` returns for a resource of the template (name, URL or ARN)."""
        return self.resources[logical_id].ref

    def functions(self) -> list[FunctionSpec]:
        return self.template.functions()

    def environment(self, logical_id: str) -> dict[str, str]:
        """A function's environment variables, resolved; a variable naming a resource not emulated
        here (the Cognito app client) is empty: nothing answers to that name."""
        spec = {s.logical_id: s for s in self.functions()}[logical_id]
        resolved = self.resolver.resolve(spec.environment)
        return {
            name: "" if self._names_unemulated(spec.environment[name]) else _env_value(value)
            for name, value in resolved.items()
        }

    def environments(self) -> dict[str, dict[str, str]]:
        """Every function's environment, by logical id."""
        return {s.logical_id: self.environment(s.logical_id) for s in self.functions()}

    def outputs(self) -> dict[str, str]:
        """The template's outputs that name only resources created here (bucket, tables, queues,
        topics, keys), resolved; an output of a function, the API or the user pool has no local
        counterpart at this endpoint and is left out (see `outputs_not_emulated`)."""
        found = {}
        for name, output in self._active_outputs().items():
            if not self._names_any_unemulated(output["Value"]):
                found[name] = str(self.resolver.resolve(output["Value"]))
        return found

    def outputs_not_emulated(self) -> list[str]:
        """Names of the outputs that `outputs` leaves out."""
        return sorted(
            name for name, out in self._active_outputs().items() if self._names_any_unemulated(out["Value"])
        )

    def queue_by_arn(self, arn: str) -> Provisioned:
        for resource in self.resources.values():
            if resource.type == "AWS::SQS::Queue" and resource.attributes.get("Arn") == arn:
                return resource
        raise TemplateError(f"{arn} is no queue of the template")

    def redrive_policy(self, queue_logical_id: str) -> dict[str, Any]:
        """The redrive policy the template gives a queue (deadLetterTargetArn, maxReceiveCount)."""
        props = self.resolver.resolve(self.template.resources[queue_logical_id]["Properties"])
        policy = props["RedrivePolicy"]
        return dict(json.loads(policy) if isinstance(policy, str) else policy)

    def _active_outputs(self) -> dict[str, dict[str, Any]]:
        outputs = self.template.body.get("Outputs") or {}
        return {n: o for n, o in outputs.items() if self.resolver.condition_holds(o.get("Condition"))}

    def _names_unemulated(self, value: Any) -> bool:
        if not (isinstance(value, dict) and set(value) == {"Ref"}):
            return False
        resource = self.resources.get(str(value["Ref"]))
        return resource is not None and not resource.emulated

    def _names_any_unemulated(self, value: Any) -> bool:
        return any(
            rid in self.resources and not self.resources[rid].emulated for rid in referenced_ids(value)
        )


def provision(
    session: boto3.Session,
    endpoint_url: str | None,
    template: Template,
    *,
    region: str,
    stack_name: str,
    account_id: str = ACCOUNT_ID,
) -> ProvisionedStack:
    """Create every active resource of `template` at `endpoint_url` (None: boto3's default, moto's
    `mock_aws` in process) and resolve the template against them."""
    resolver = Resolver(template, region, account_id, stack_name)
    resources = Provisioner(session, endpoint_url, resolver).provision(template)
    return ProvisionedStack(template, resolver, resources)


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
