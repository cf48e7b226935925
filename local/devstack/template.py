"""Read template.yaml the way the local stack needs it: functions, routes, schedule, table,
and each function's environment with CloudFormation intrinsics resolved to local values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _tag)


@dataclass
class Route:
    method: str
    path: str
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Function:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    schedule: str | None = None
    routes: list[Route] = field(default_factory=list)


@dataclass
class Stack:
    name: str
    parameters: dict[str, str]
    functions: dict[str, Function]
    routes: list[Route]
    table_name: str
    table_properties: dict[str, Any]
    layer_dirs: list[Path]

    def function(self, name_or_arn: str) -> Function | None:
        name = name_or_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
        for fn in self.functions.values():
            if name in (fn.name, fn.logical_id):
                return fn
        return None


NO_VALUE = object()


class Resolver:
    """Resolves Ref, Fn::Sub and Fn::If (with the template's Conditions) to local values."""

    def __init__(
        self,
        stack_name: str,
        parameters: dict[str, str],
        physical: dict[str, str],
        conditions: dict[str, Any] | None = None,
    ) -> None:
        self.values = {
            "AWS::StackName": stack_name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            **parameters,
            **physical,
        }
        self.conditions = conditions or {}

    def condition(self, name: str) -> bool:
        return self._truth(self.conditions[name])

    def _truth(self, expr: Any) -> bool:
        if isinstance(expr, dict) and "Condition" in expr:
            return self.condition(expr["Condition"])
        if isinstance(expr, dict) and "Fn::Equals" in expr:
            left, right = expr["Fn::Equals"]
            return self(left) == self(right)
        if isinstance(expr, dict) and "Fn::Not" in expr:
            return not self._truth(expr["Fn::Not"][0])
        if isinstance(expr, dict) and "Fn::And" in expr:
            return all(self._truth(e) for e in expr["Fn::And"])
        if isinstance(expr, dict) and "Fn::Or" in expr:
            return any(self._truth(e) for e in expr["Fn::Or"])
        raise ValueError(f"the local stack cannot evaluate the condition {expr!r}")

    def value(self, value: Any) -> Any:
        """Like calling the resolver, but Fn::If may yield AWS::NoValue (``NO_VALUE``) or a
        structure."""
        if isinstance(value, dict) and "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            return self.value(yes if self.condition(name) else no)
        if isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
            return NO_VALUE
        if isinstance(value, dict | str | int | float):
            return self(value)
        return value

    def __call__(self, value: Any) -> str:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and "Fn::If" in value:
            chosen = self.value(value)
            return "" if chosen is NO_VALUE else str(chosen)
        if isinstance(value, dict) and "Ref" in value:
            return self.values[value["Ref"]]
        if isinstance(value, dict) and "Fn::Sub" in value:
            text = value["Fn::Sub"]
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self.values[m.group(1)], text)
        raise ValueError(f"the local stack cannot resolve {value!r}")


def load(template_path: Path, *, stack_name: str, overrides: dict[str, str] | None = None) -> Stack:
    root = template_path.parent
    doc = yaml.load(template_path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    parameters = {k: str(v.get("Default", "")) for k, v in doc.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    resources: dict[str, Any] = doc["Resources"]

    table_id = next(k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table")
    table_name = f"{stack_name}-{table_id}"
    physical = {table_id: table_name}
    conditions = doc.get("Conditions", {})
    resolve = Resolver(stack_name, parameters, physical, conditions)
    for logical_id, res in resources.items():
        if res["Type"] == "AWS::Serverless::Function":
            props = res["Properties"]
            physical[logical_id] = resolve(props.get("FunctionName", f"{stack_name}-{logical_id}"))
    resolve = Resolver(stack_name, parameters, physical, conditions)

    globals_fn = doc.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    layer_dirs = [
        _layer_path(root / res["Properties"]["ContentUri"])
        for res in resources.values()
        if res["Type"] == "AWS::Serverless::LayerVersion"
    ]

    functions: dict[str, Function] = {}
    routes: list[Route] = []
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        env = {
            k: resolve(v)
            for k, v in {**global_env, **props.get("Environment", {}).get("Variables", {})}.items()
        }
        fn = Function(
            logical_id=logical_id,
            name=physical[logical_id],
            code_dir=(root / props["CodeUri"]).resolve(),
            handler=props["Handler"],
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            environment=env,
            reserved_concurrency=_reserved(
                resolve.value(props.get("ReservedConcurrentExecutions", NO_VALUE))
            ),
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                route = Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id)
                fn.routes.append(route)
                routes.append(route)
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                fn.schedule = resolve(
                    event["Properties"]["Schedule" if event["Type"] == "Schedule" else "ScheduleExpression"]
                )
        functions[logical_id] = fn
    return Stack(
        name=stack_name,
        parameters=parameters,
        functions=functions,
        routes=routes,
        table_name=table_name,
        table_properties=resources[table_id]["Properties"],
        layer_dirs=[d.resolve() for d in layer_dirs],
    )


def _layer_path(content: Path) -> Path:
    """What Lambda puts on sys.path for a layer: its python/ folder once built (sam build),
    the folder itself in the source tree."""
    return content / "python" if (content / "python").is_dir() else content


def _reserved(value: Any) -> int | None:
    return None if value is NO_VALUE or value is None else int(value)


def rate_seconds(expression: str) -> int:
    """Seconds between runs of ``rate(N unit)``; cron() schedules run every minute locally."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 60
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit
