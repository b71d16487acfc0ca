"""`pv ops`: operations on the local stack (its stack.json) or a deployed stack (given its name).

- `pv ops preflight`: what `make deploy` checks before `sam deploy`, so a deploy does not trip.
- `pv ops reconcile --since ...`: ReconcileFunction's check, for any window, on demand.
- `pv ops redrive --queue ...`: dead letters back to their source queue once the cause is fixed.

Preflight:

A stack whose ClassifierEndpointName names no endpoint deploys fine and then sends every document
to its dead-letter queue (every InvokeEndpoint fails); a prod stack without recipients alerts and
alarms no one. The preflight reads the samconfig.toml environment being deployed, evaluates the
template's Rules for its parameters, and asks SageMaker whether each endpoint the parameters name
exists, is InService and has the production variant whose errors and latency the alarms watch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pv_local.template import load_template

# Parameters naming a SageMaker endpoint, and whether an empty value is allowed.
ENDPOINT_PARAMETERS = {
    "ClassifierEndpointName": False,
    "ExtractorEndpointName": True,
    "SummarizerEndpointName": True,
    "PhraseMapperEndpointName": True,
}


@dataclass
class Preflight:
    """What a deploy of one samconfig environment would meet: `problems` empty means go."""

    environment: str
    region: str
    parameters: dict[str, str]
    problems: list[str] = field(default_factory=list)


def samconfig_parameters(samconfig: Path, environment: str) -> tuple[str, dict[str, str]]:
    """The region and the parameter overrides of a samconfig.toml environment."""
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    if environment not in config:
        raise KeyError(f"{samconfig} has no environment {environment!r}")
    section = config[environment]
    deploy = section.get("deploy", {}).get("parameters", {})
    region = deploy.get("region") or section.get("global", {}).get("parameters", {}).get("region", "")
    pairs = deploy.get("parameter_overrides", [])
    pairs = pairs if isinstance(pairs, list) else str(pairs).split()
    return str(region), dict(str(pair).split("=", 1) for pair in pairs)


def parameter_values(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, str]:
    """Every template parameter's value: its default, unless `parameters` names it."""
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(parameters)
    return values


def condition_holds(
    expr: Mapping[str, Any], values: Mapping[str, str], conditions: Mapping[str, Any] | None = None
) -> bool:
    """Whether a Rule or Condition expression holds for these parameter values (the Fn::Equals /
    Fn::Not / Fn::And / Fn::Or forms on parameters, and named Conditions)."""

    def value(arg: Any) -> str:
        return values[arg["Ref"]] if isinstance(arg, dict) and "Ref" in arg else str(arg)

    def holds(e: Mapping[str, Any]) -> bool:
        ((fn, args),) = e.items()
        if fn == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if fn == "Fn::Not":
            return not holds(args[0])
        if fn == "Fn::And":
            return all(holds(a) for a in args)
        if fn == "Fn::Or":
            return any(holds(a) for a in args)
        if fn == "Condition" and conditions is not None:
            return holds(conditions[args])
        raise ValueError(f"unsupported rule function {fn}")

    return holds(expr)


def failed_rules(template: Mapping[str, Any], parameters: Mapping[str, str]) -> list[str]:
    """The AssertDescription of every template Rule assertion the parameters break (the
    Fn::Equals / Fn::Not / Fn::And / Fn::Or forms on parameters)."""
    values = parameter_values(template, parameters)

    def holds(expr: Mapping[str, Any]) -> bool:
        return condition_holds(expr, values)

    failed = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not holds(rule["RuleCondition"]):
            continue
        failed += [
            a.get("AssertDescription", "a template rule fails")
            for a in rule["Assertions"]
            if not holds(a["Assert"])
        ]
    return failed


def endpoint_problems(sagemaker: Any, parameters: Mapping[str, str], variant: str) -> list[str]:
    """Each named endpoint that is missing, not InService, or (the classifier) lacks `variant`."""
    problems = []
    for parameter, optional in ENDPOINT_PARAMETERS.items():
        name = parameters.get(parameter, "")
        if not name:
            if not optional:
                problems.append(f"{parameter} is not set")
            continue
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            problems.append(
                f"{parameter}: endpoint {name!r} cannot be described ({code}); "
                "deploy it first (README step 1)"
            )
            continue
        status = endpoint.get("EndpointStatus")
        if status != "InService":
            problems.append(f"{parameter}: endpoint {name!r} is {status}, not InService")
        variants = {v.get("VariantName") for v in endpoint.get("ProductionVariants", [])}
        if parameter == "ClassifierEndpointName" and variants and variant not in variants:
            problems.append(
                f"ClassifierVariantName {variant!r} is not a variant of {name!r} "
                f"({', '.join(sorted(variants))})"
            )
    return problems


def preflight(
    environment: str,
    *,
    samconfig: Path,
    template_path: Path,
    sagemaker_client: Callable[[str], Any],
) -> Preflight:
    """Check one samconfig environment: the template's Rules and the endpoints it names.
    `sagemaker_client(region)`: a boto3 `sagemaker` client for the region."""
    region, parameters = samconfig_parameters(samconfig, environment)
    template = load_template(template_path)
    result = Preflight(environment, region, parameters)
    unknown = set(parameters) - set(template.get("Parameters", {}))
    if unknown:
        result.problems.append(f"samconfig.toml sets parameters the template lacks: {sorted(unknown)}")
    result.problems += failed_rules(template, parameters)
    variant = parameters.get(
        "ClassifierVariantName",
        str(template["Parameters"].get("ClassifierVariantName", {}).get("Default", "")),
    )
    result.problems += endpoint_problems(sagemaker_client(region), parameters, variant)
    return result


@dataclass
class StackTarget:
    """A stack's resources by logical id: the local stack's (stack.json) or a deployed one's."""

    region: str
    physical: Callable[[str], str]  # logical id -> physical id (name, queue URL)
    endpoint_url: str | None = None  # the local stack's moto server

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def resource(self, service: str) -> Any:
        import boto3

        return boto3.resource(service, region_name=self.region, endpoint_url=self.endpoint_url)


def local_target(stack_file: Path) -> StackTarget:
    """The local stack `pv local up` is running, from the stack.json it wrote."""
    from pv_local.cli import UsageError

    if not stack_file.exists():
        raise UsageError(f"{stack_file} not found: start the local stack with `pv local up`, or name --stack")
    stack = json.loads(stack_file.read_text(encoding="utf-8"))
    resources = stack["resources"]
    return StackTarget(stack["region"], lambda logical_id: str(resources[logical_id]), stack["endpoint_url"])


def deployed_target(stack_name: str, region: str | None) -> StackTarget:
    """A deployed stack: its resources' physical ids from CloudFormation."""
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region)
    cache: dict[str, str] = {}

    def physical(logical_id: str) -> str:
        if logical_id not in cache:
            described = cloudformation.describe_stack_resource(
                StackName=stack_name, LogicalResourceId=logical_id
            )
            cache[logical_id] = described["StackResourceDetail"]["PhysicalResourceId"]
        return cache[logical_id]

    return StackTarget(cloudformation.meta.region_name, physical)


def target_from_args(args: argparse.Namespace) -> StackTarget:
    if args.stack:
        return deployed_target(args.stack, args.region)
    return local_target(args.stack_file)


_RELATIVE = re.compile(r"(\d+)([mhd])")


def parse_since(text: str, now: datetime) -> datetime:
    """`2025-03-09T10:00:00Z` (an ISO time, UTC unless it says otherwise) or `30m`, `6h`, `2d` ago."""
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
        return now - timedelta(**{unit_name: amount})
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def reconcile_target(target: StackTarget, since: datetime, until: datetime) -> Any:
    """ReconcileFunction's check (pv.runtime.reconcile_stack) on the target's bucket and tables."""
    from pv.runtime import reconcile_stack

    return reconcile_stack(
        target.client("s3"),
        target.resource("dynamodb"),
        target.physical("IntakeBucket"),
        target.physical("ScreeningsTable"),
        target.physical("CasesTable"),
        since,
        until,
    )


def source_queue_of(template: Mapping[str, Any], queue: str) -> tuple[str, str]:
    """(dead-letter queue, its source queue) for a queue's logical id, either of the two."""
    from pv_local.cli import UsageError

    pairs = {}
    for rid, res in template["Resources"].items():
        redrive = (res.get("Properties") or {}).get("RedrivePolicy")
        if res["Type"] == "AWS::SQS::Queue" and redrive:
            pairs[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]] = rid
    for dlq, source in pairs.items():
        if queue in (dlq, source):
            return dlq, source
    known = sorted(pairs) + sorted(pairs.values())
    raise UsageError(f"{queue!r} is no queue with a dead-letter queue; one of {known}")


def redrive(target: StackTarget, dlq: str, source: str, limit: int | None = None) -> int:
    """Move the dead letters of `dlq` back to `source`, each unchanged, and return how many.

    Version-aware by being unchanged: an S3 notification names the object version it announced
    (versionId), which ScreenFunction reads, so a redriven notification screens the version that
    was received, not whatever the key holds now; a version deleted since ends quarantined as
    object_missing. Each message is sent before it is deleted from the DLQ: an interrupted
    redrive may deliver one twice, which the screening's idempotency absorbs, and never loses one.
    """
    sqs = target.client("sqs")
    dlq_url, source_url = target.physical(dlq), target.physical(source)
    moved = 0
    while limit is None or moved < limit:
        wanted = 10 if limit is None else min(10, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=wanted,
            MessageAttributeNames=["All"],
            VisibilityTimeout=120,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    from pv_local.cli import STACK_FILE

    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    parser.add_argument("--region", help="the deployed stack's region (default: the AWS configuration's)")
    parser.add_argument(
        "--stack-file", type=Path, default=STACK_FILE, help="the local stack's stack.json (from pv local up)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ops = subparsers.add_parser("ops", help="operations on the local stack or a deployed stack")
    actions = ops.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "preflight", help="before `sam deploy`: the template's rules and the endpoints samconfig names"
    )
    check.add_argument("--config-env", default="dev", help="samconfig.toml environment (dev, prod)")
    check.add_argument("--samconfig", type=Path, default=Path("samconfig.toml"))
    check.add_argument("--template", type=Path, default=Path("template.yaml"))
    check.set_defaults(func=run_preflight)

    rec = actions.add_parser(
        "reconcile",
        help="every object version has a screening, every AE screening a case, every case a sent alert",
    )
    rec.add_argument("--since", required=True, help="an ISO time, or 30m / 6h / 2d ago")
    rec.add_argument("--until", help="an ISO time (default: now)")
    rec.add_argument(
        "--show-keys", action="store_true", help="also list the unscreened keys (they may name a person)"
    )
    _add_target_arguments(rec)
    rec.set_defaults(func=run_reconcile)

    red = actions.add_parser("redrive", help="move dead letters back to their source queue")
    red.add_argument("--queue", required=True, help="IntakeDLQ, SocialDLQ or CaseDLQ (or their source queue)")
    red.add_argument("--max", type=int, default=None, help="move at most this many")
    red.add_argument("--template", type=Path, default=Path("template.yaml"))
    _add_target_arguments(red)
    red.set_defaults(func=run_redrive)


def run_reconcile(args: argparse.Namespace) -> int:
    """Print the window's gaps as JSON; exit 1 when there are any (for scripts)."""
    now = datetime.now(UTC)
    until = parse_since(args.until, now) if args.until else now
    gaps = reconcile_target(target_from_args(args), parse_since(args.since, now), until)
    report = gaps.summary()
    if args.show_keys:
        from pv.models import source_ref

        report["unscreened"] = [source_ref(v.key, v.version_id) for v in gaps.unscreened]
    print(json.dumps(report, indent=2))
    return 0 if gaps.holds_up else 1


def run_redrive(args: argparse.Namespace) -> int:
    dlq, source = source_queue_of(load_template(args.template), args.queue)
    moved = redrive(target_from_args(args), dlq, source, args.max)
    print(f"pv ops redrive: {moved} message(s) moved from {dlq} back to {source}")
    return 0


def run_preflight(args: argparse.Namespace) -> int:
    import boto3

    result = preflight(
        args.config_env,
        samconfig=args.samconfig,
        template_path=args.template,
        sagemaker_client=lambda region: boto3.client("sagemaker", region_name=region or None),
    )
    for problem in result.problems:
        print(f"pv ops preflight ({result.environment}): {problem}", file=sys.stderr)
    if result.problems:
        return 1
    print(
        f"pv ops preflight ({result.environment}): endpoint {result.parameters['ClassifierEndpointName']} "
        f"is InService in {result.region}; the template's rules hold"
    )
    return 0
