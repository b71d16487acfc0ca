"""Read `template.yaml` (SAM, CloudFormation short tags) and resolve its intrinsic functions locally.

The template is the single source of truth for the local stack: parameters, conditions, the
resources to create and the functions with their event sources and environment all come from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_NO_VALUE = object()  # what Ref AWS::NoValue resolves to: the key is dropped
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve."""


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, turning short tags (`!Ref`, `!Sub`...) into maps."""
    return yaml_parse(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class QueueEvent:
    """An SQS event source of a function, as SAM declares it."""

    name: str
    queue_arn: Any  # unresolved: usually {"Fn::GetAtt": [queue, "Arn"]}
    batch_size: Any  # unresolved: a number or a Ref to a parameter (QueueBatchSize)
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class HttpRoute:
    """An HttpApi event of a function: a route of an API Gateway HTTP API, with or without the
    API's authorizer."""

    name: str
    method: str
    path: str  # "/cases/{case_id}"
    authorized: bool

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when a request is for this route, else None."""
        if method.upper() != self.method and self.method != "ANY":
            return None
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        match = re.fullmatch(pattern, path)
        return match.groupdict() if match else None


@dataclass(frozen=True)
class FunctionSpec:
    """A SAM function with Globals applied; values are still unresolved intrinsics."""

    logical_id: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, Any]
    queue_events: list[QueueEvent]
    http_routes: list[HttpRoute] = field(default_factory=list)


def referenced_ids(value: Any) -> set[str]:
    """Logical ids (or parameters) a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                return {arg}
            if key == "Fn::GetAtt":
                name = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                return {name}
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                names = {m.split(".", 1)[0] for m in _SUB_VARIABLE.findall(text) if not m.startswith("!")}
                return (names - set(variables)) | referenced_ids(variables)
        for item in value.values():
            found |= referenced_ids(item)
    return found


class Template:
    """A parsed template: what it declares, with conditions evaluated for given parameter values."""

    def __init__(self, body: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> None:
        self.body = body
        self.resources: dict[str, dict[str, Any]] = dict(body.get("Resources") or {})
        declared = body.get("Parameters") or {}
        unknown = set(parameters or {}) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
        self.parameters: dict[str, str] = {
            name: str((parameters or {}).get(name, spec.get("Default", "")))
            for name, spec in declared.items()
        }

    @classmethod
    def from_file(cls, path: str | Path, parameters: Mapping[str, str] | None = None) -> Template:
        return cls(load_template(path), parameters)

    def resource_type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def creation_order(self, resolver: Resolver) -> list[str]:
        """Logical ids of the resources whose condition holds, dependencies first."""
        active = [
            rid for rid, res in self.resources.items() if resolver.condition_holds(res.get("Condition"))
        ]
        deps: dict[str, set[str]] = {}
        for rid in active:
            res = self.resources[rid]
            depends_on = res.get("DependsOn") or []
            depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
            refs = referenced_ids(res.get("Properties") or {}) | set(depends_on)
            deps[rid] = {r for r in refs if r in deps or r in active} - {rid}
        order: list[str] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(rid: str) -> None:
            if rid in done:
                return
            if rid in visiting:
                raise TemplateError(f"circular dependency through {rid}")
            visiting.add(rid)
            for dep in sorted(deps[rid]):
                visit(dep)
            visiting.discard(rid)
            done.add(rid)
            order.append(rid)

        for rid in active:
            visit(rid)
        return order

    def functions(self) -> list[FunctionSpec]:
        """Every AWS::Serverless::Function with the template's Globals merged in."""
        globals_ = ((self.body.get("Globals") or {}).get("Function")) or {}
        specs = []
        for rid, res in self.resources.items():
            if res.get("Type") != SERVERLESS_FUNCTION:
                continue
            props = res.get("Properties") or {}
            env = dict(((globals_.get("Environment") or {}).get("Variables")) or {})
            env.update(((props.get("Environment") or {}).get("Variables")) or {})
            events = []
            routes = []
            for name, event in (props.get("Events") or {}).items():
                if event.get("Type") == "HttpApi":
                    ep = event.get("Properties") or {}
                    authorizer = (ep.get("Auth") or {}).get("Authorizer")
                    routes.append(
                        HttpRoute(name, str(ep["Method"]).upper(), str(ep["Path"]), authorizer != "NONE")
                    )
                if event.get("Type") != "SQS":
                    continue
                ep = event.get("Properties") or {}
                events.append(
                    QueueEvent(
                        name=name,
                        queue_arn=ep["Queue"],
                        batch_size=ep.get("BatchSize", 10),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (ep.get("FunctionResponseTypes") or []),
                        enabled=bool(ep.get("Enabled", True)),
                    )
                )
            specs.append(
                FunctionSpec(
                    logical_id=rid,
                    handler=str(props.get("Handler", globals_.get("Handler", ""))),
                    timeout_s=int(props.get("Timeout", globals_.get("Timeout", 3))),
                    memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                    environment=env,
                    queue_events=events,
                    http_routes=routes,
                )
            )
        return specs


@dataclass
class Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters and created resources."""

    template: Template
    region: str
    account_id: str
    stack_name: str
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> what Ref returns
    attributes: dict[str, Callable[[str], str]] = field(default_factory=dict)  # logical id -> GetAtt

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self._arn("cloudformation", f"stack/{self.stack_name}/local"),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def ref(self, name: str) -> str:
        if name in self.template.parameters:
            return self.template.parameters[name]
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"Ref to {name!r}, which is not created (yet) in the local stack")

    def get_att(self, name: str, attribute: str) -> str:
        if name not in self.attributes:
            raise TemplateError(f"GetAtt on {name!r}, which is not created (yet) in the local stack")
        return self.attributes[name](attribute)

    def condition_holds(self, name: str | None) -> bool:
        if name is None:
            return True
        conditions = self.template.body.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self._condition(conditions[name]))

    def _condition(self, value: Any) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self._condition(arg[0])
            if key == "Fn::And":
                return all(self._condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self._condition(a) for a in arg)
            if key == "Condition":
                return self.condition_holds(arg)
        raise TemplateError(f"unsupported condition expression: {value!r}")

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated (AWS::NoValue keys dropped)."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self._resolve(v) for v in value) if r is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return _NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(name, self.resolve(attribute))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            separator, items = arg
            return str(separator).join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self._resolve(when_true if self.condition_holds(name) else when_false)
        if key == "Fn::FindInMap":
            mapping, top, second = (self.resolve(a) for a in arg)
            return self.template.body["Mappings"][mapping][top][second]
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._condition({key: arg})
        raise TemplateError(f"intrinsic function {key} is not supported by the local stack")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)
