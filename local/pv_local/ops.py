"""`pv ops preflight`: what `make deploy` checks before `sam deploy`, so a deploy does not trip.

A stack whose ClassifierEndpointName names no endpoint deploys fine and then sends every document
to its dead-letter queue (every InvokeEndpoint fails); a prod stack without recipients alerts and
alarms no one. The preflight reads the samconfig.toml environment being deployed, evaluates the
template's Rules for its parameters, and asks SageMaker whether each endpoint the parameters name
exists, is InService and has the production variant whose errors and latency the alarms watch.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


def failed_rules(template: Mapping[str, Any], parameters: Mapping[str, str]) -> list[str]:
    """The AssertDescription of every template Rule assertion the parameters break (the
    Fn::Equals / Fn::Not / Fn::And / Fn::Or forms on parameters)."""
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(parameters)

    def value(arg: Any) -> str:
        return values[arg["Ref"]] if isinstance(arg, dict) and "Ref" in arg else str(arg)

    def holds(expr: Mapping[str, Any]) -> bool:
        ((fn, args),) = expr.items()
        if fn == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if fn == "Fn::Not":
            return not holds(args[0])
        if fn == "Fn::And":
            return all(holds(a) for a in args)
        if fn == "Fn::Or":
            return any(holds(a) for a in args)
        raise ValueError(f"unsupported rule function {fn}")

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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ops = subparsers.add_parser("ops", help="operations on a deployed stack")
    actions = ops.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "preflight", help="before `sam deploy`: the template's rules and the endpoints samconfig names"
    )
    check.add_argument("--config-env", default="dev", help="samconfig.toml environment (dev, prod)")
    check.add_argument("--samconfig", type=Path, default=Path("samconfig.toml"))
    check.add_argument("--template", type=Path, default=Path("template.yaml"))
    check.set_defaults(func=run_preflight)


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
