"""Read template.yaml the way the local stack needs it: functions, routes, schedule, table,
and each function's environment with CloudFormation intrinsics resolved to local values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "local"  # the local HTTP API's id (Ref of the template's HttpApi), as in execute-api ARNs
API_TYPES = ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api")


def read(template_path: Path) -> dict[str, Any]:
    """The template as CloudFormation reads it, short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``)
    turned into their long form, by cfn-lint's decoder (what ``make test``'s gates run)."""
    from cfnlint.decode import decode  # type: ignore[import-untyped]

    doc, problems = decode(str(template_path))
    if problems or doc is None:
        raise ValueError(f"{template_path}: " + "; ".join(str(p) for p in problems))
    return dict(doc)


@dataclass
class Route:
    method: str
    path: str
    function: str
    iam: bool = False  # AuthorizationType AWS_IAM: SigV4-signed callers IAM allows, nothing else
    # API Gateway's throttle on the route (requests a second, burst): the stage's RouteSettings
    # for it, else its DefaultRouteSettings; None: not throttled.
    throttle: tuple[float, int] | None = None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Role:
    """A function's execution role, its policies resolved as CloudFormation would."""

    logical_id: str
    name: str
    arn: str
    policies: list[dict[str, Any]]


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
    role: Role
    schedule: str | None = None
    routes: list[Route] = field(default_factory=list)
    # AutoPublishAlias: the alias its routes and schedules invoke (None: the function itself).
    alias: str | None = None


@dataclass
class Stack:
    name: str
    parameters: dict[str, str]
    functions: dict[str, Function]
    routes: list[Route]
    table_name: str
    table_properties: dict[str, Any]
    layer_dirs: list[Path]
    # The template's AWS::IAM::ManagedPolicy documents (by logical id), resolved.
    managed_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The event buses the template creates (name → the resource policy its AWS::Events::EventBusPolicy
    # resources give it, resolved; None: no policy).
    event_buses: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # The bus the functions put the stack's events on (EVENT_BUS_NAME), created here or not.
    event_bus: str = "default"

    def function(self, name_or_arn: str) -> Function | None:
        name = name_or_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
        for fn in self.functions.values():
            if name in (fn.name, fn.logical_id):
                return fn
        return None


NO_VALUE = object()


@dataclass(frozen=True)
class Partition:
    """Where a stack is resolved: the local stack is ``aws`` in us-east-1; the static IAM tests
    also resolve the template for the China partition."""

    name: str
    region: str
    url_suffix: str


AWS = Partition("aws", REGION, "amazonaws.com")
AWS_CN = Partition("aws-cn", "cn-north-1", "amazonaws.com.cn")


class Resolver:
    """Resolves Ref, Fn::Sub and Fn::If (with the template's Conditions) to local values."""

    def __init__(
        self,
        stack_name: str,
        parameters: dict[str, str],
        physical: dict[str, str],
        conditions: dict[str, Any] | None = None,
        attributes: dict[str, str] | None = None,
        partition: Partition | None = None,
    ) -> None:
        where = partition or AWS
        self.parameters = dict(parameters)
        self.values = {
            "AWS::StackName": stack_name,
            "AWS::Region": where.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": where.name,
            "AWS::URLSuffix": where.url_suffix,
            **parameters,
            **physical,
        }
        self.conditions = conditions or {}
        # "Logical.Attribute" -> value, for Fn::GetAtt and ${Logical.Attribute} in Fn::Sub.
        self.attributes = attributes or {}

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
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return self._attribute(f"{logical}.{attribute}")
        if isinstance(value, dict) and "Fn::Sub" in value:
            text, local = value["Fn::Sub"], {}
            if isinstance(text, list):
                text, variables = text
                local = {k: self(v) for k, v in variables.items()}

            def sub(m: re.Match[str]) -> str:
                name = m.group(1)
                if name in local:
                    return str(local[name])
                return self.values[name] if "." not in name else self._attribute(name)

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if isinstance(value, dict) and "Fn::Join" in value:
            separator, items = value["Fn::Join"]
            return str(separator).join(self(v) for v in self.structure(items))
        raise ValueError(f"the local stack cannot resolve {value!r}")

    def _attribute(self, name: str) -> str:
        try:
            return self.attributes[name]
        except KeyError:
            raise ValueError(f"the local stack cannot resolve the attribute {name}") from None

    def structure(self, value: Any) -> Any:
        """A whole structure (a policy document) resolved; AWS::NoValue entries dropped."""
        if isinstance(value, dict) and "Fn::If" in value:
            name, yes, no = value["Fn::If"]
            return self.structure(yes if self.condition(name) else no)
        if isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
            return NO_VALUE
        if isinstance(value, list):
            return [r for r in (self.structure(v) for v in value) if r is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in ("Fn::Sub", "Fn::GetAtt", "Fn::Join", "Ref"):
                return self(value)
            return {k: r for k, v in value.items() if (r := self.structure(v)) is not NO_VALUE}
        return value


FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def _throttle(resources: dict[str, Any], resolve: Resolver, route_key: str) -> tuple[float, int] | None:
    """The route's throttle as the template's HTTP API stage sets it (its RouteSettings for the
    route, else DefaultRouteSettings), resolved: (requests a second, burst)."""
    for res in resources.values():
        if res["Type"] != "AWS::Serverless::HttpApi":
            continue
        props = res.get("Properties", {})
        settings = props.get("RouteSettings", {}).get(route_key) or props.get("DefaultRouteSettings")
        if settings and "ThrottlingRateLimit" in settings and "ThrottlingBurstLimit" in settings:
            return float(resolve(settings["ThrottlingRateLimit"])), int(
                resolve(settings["ThrottlingBurstLimit"])
            )
    return None


def resolver_for(
    doc: dict[str, Any],
    *,
    stack_name: str,
    overrides: dict[str, str] | None = None,
    partition: Partition = AWS,
) -> tuple[Resolver, dict[str, str]]:
    """A resolver for a template (as written, or as the SAM transform outputs it), and the
    physical names of its table and functions."""
    parameters = {k: str(v.get("Default", "")) for k, v in doc.get("Parameters", {}).items()}
    parameters.update(overrides or {})
    resources: dict[str, Any] = doc["Resources"]
    physical = {k: f"{stack_name}-{k}" for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    physical.update({k: API_ID for k, v in resources.items() if v["Type"] in API_TYPES})
    conditions = doc.get("Conditions", {})
    resolve = Resolver(stack_name, parameters, physical, conditions, partition=partition)
    for logical_id, res in resources.items():
        if res["Type"] == "AWS::Events::EventBus":  # Ref is the bus's name
            physical[logical_id] = resolve(res["Properties"]["Name"])
    for logical_id, res in resources.items():
        if res["Type"] in FUNCTION_TYPES:
            props = res["Properties"]
            physical[logical_id] = resolve(props.get("FunctionName", f"{stack_name}-{logical_id}"))
    attributes = _attributes(stack_name, resources, physical, partition)
    return Resolver(stack_name, parameters, physical, conditions, attributes, partition), physical


def function_roles(
    doc: dict[str, Any],
    *,
    stack_name: str,
    overrides: dict[str, str] | None = None,
    partition: Partition = AWS,
) -> dict[str, Role]:
    """Each function's name → its role with resolved policies."""
    resolve, physical = resolver_for(doc, stack_name=stack_name, overrides=overrides, partition=partition)
    resources: dict[str, Any] = doc["Resources"]
    return {
        physical[logical_id]: _role(logical_id, res["Properties"].get("Role"), resources, resolve, stack_name)
        for logical_id, res in resources.items()
        if res["Type"] in FUNCTION_TYPES and _exists(res, resolve)
    }


def _exists(resource: dict[str, Any], resolve: Resolver) -> bool:
    """Whether CloudFormation creates the resource (its ``Condition``, if any, holds)."""
    return "Condition" not in resource or resolve.condition(resource["Condition"])


def load(template_path: Path, *, stack_name: str, overrides: dict[str, str] | None = None) -> Stack:
    root = template_path.parent
    doc = read(template_path)
    resources: dict[str, Any] = doc["Resources"]
    table_id = next(k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table")
    resolve, physical = resolver_for(doc, stack_name=stack_name, overrides=overrides)
    table_name = physical[table_id]

    globals_fn = doc.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    layer_dirs = [
        _layer_path(root / res["Properties"]["ContentUri"])
        for res in resources.values()
        if res["Type"] == "AWS::Serverless::LayerVersion" and _exists(res, resolve)
    ]

    functions: dict[str, Function] = {}
    routes: list[Route] = []
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function" or not _exists(res, resolve):
            continue
        props = res["Properties"]
        if "CodeUri" not in props:
            # Inline code is a custom resource's handler (ParameterStoreHighThroughput): nothing
            # here runs CloudFormation's custom resources; the devstack emulates their effect.
            continue
        declared = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        # Fn::If to AWS::NoValue drops the variable, as CloudFormation does.
        env = {k: str(r) for k, v in declared.items() if (r := resolve.value(v)) is not NO_VALUE}
        fn = Function(
            logical_id=logical_id,
            name=physical[logical_id],
            code_dir=(root / props["CodeUri"]).resolve(),
            handler=props["Handler"],
            timeout=int(resolve(props.get("Timeout", globals_fn.get("Timeout", 3)))),
            memory=int(resolve(props.get("MemorySize", globals_fn.get("MemorySize", 128)))),
            environment=env,
            reserved_concurrency=_reserved(
                resolve.value(props.get("ReservedConcurrentExecutions", NO_VALUE))
            ),
            role=_role(logical_id, props.get("Role"), resources, resolve, stack_name),
            alias=resolve(props["AutoPublishAlias"]) if "AutoPublishAlias" in props else None,
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                authorizer = event["Properties"].get("Auth", {}).get("Authorizer")
                method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
                route = Route(
                    method,
                    path,
                    logical_id,
                    iam=authorizer == "AWS_IAM",
                    throttle=_throttle(resources, resolve, f"{method} {path}"),
                )
                fn.routes.append(route)
                routes.append(route)
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                fn.schedule = resolve(
                    event["Properties"]["Schedule" if event["Type"] == "Schedule" else "ScheduleExpression"]
                )
        functions[logical_id] = fn
    return Stack(
        name=stack_name,
        parameters=resolve.parameters,
        functions=functions,
        routes=routes,
        table_name=table_name,
        table_properties=resources[table_id]["Properties"],
        layer_dirs=[d.resolve() for d in layer_dirs],
        managed_policies={
            logical_id: resolve.structure(res["Properties"]["PolicyDocument"])
            for logical_id, res in resources.items()
            if res["Type"] == "AWS::IAM::ManagedPolicy" and _exists(res, resolve)
        },
        event_buses=_event_buses(resources, resolve, physical),
        event_bus=next(
            (
                fn.environment["EVENT_BUS_NAME"]
                for fn in functions.values()
                if "EVENT_BUS_NAME" in fn.environment
            ),
            "default",
        ),
    )


def _event_buses(
    resources: dict[str, Any], resolve: Resolver, physical: dict[str, str]
) -> dict[str, dict[str, Any] | None]:
    """The buses the template creates, each with the policy its EventBusPolicy resources build
    (one statement each, ``Sid`` from ``StatementId``), as EventBridge would hold it."""
    buses: dict[str, dict[str, Any] | None] = {
        physical[k]: None
        for k, v in resources.items()
        if v["Type"] == "AWS::Events::EventBus" and _exists(v, resolve)
    }
    for res in resources.values():
        if res["Type"] != "AWS::Events::EventBusPolicy" or not _exists(res, resolve):
            continue
        props = res["Properties"]
        bus = resolve(props["EventBusName"])
        statement = {"Sid": resolve(props["StatementId"]), **resolve.structure(props["Statement"])}
        policy = buses.get(bus) or {"Version": "2012-10-17", "Statement": []}
        policy["Statement"].append(statement)
        buses[bus] = policy
    return buses


def _attributes(
    stack_name: str, resources: dict[str, Any], physical: dict[str, str], partition: Partition = AWS
) -> dict[str, str]:
    """``Logical.Arn`` of the resources a policy can name, as CloudFormation would report them
    (names CloudFormation would generate are ``<stack>-<logical id>`` here)."""
    prefix = f"arn:{partition.name}:{{service}}:{partition.region}:{ACCOUNT_ID}:"
    out: dict[str, str] = {}
    for logical_id, res in resources.items():
        name = physical.get(logical_id, f"{stack_name}-{logical_id}")
        kind = res["Type"]
        if kind == "AWS::DynamoDB::Table":
            out[f"{logical_id}.Arn"] = prefix.format(service="dynamodb") + f"table/{name}"
        elif kind == "AWS::SQS::Queue":
            out[f"{logical_id}.Arn"] = prefix.format(service="sqs") + name
            out[f"{logical_id}.QueueName"] = name
        elif kind in FUNCTION_TYPES:
            out[f"{logical_id}.Arn"] = prefix.format(service="lambda") + f"function:{name}"
        elif kind == "AWS::IAM::Role":
            out[f"{logical_id}.Arn"] = f"arn:{partition.name}:iam::{ACCOUNT_ID}:role/{name}"
        elif kind == "AWS::Logs::LogGroup":
            out[f"{logical_id}.Arn"] = prefix.format(service="logs") + f"log-group:{name}:*"
        elif kind == "AWS::SNS::Topic":
            out[f"{logical_id}.TopicArn"] = prefix.format(service="sns") + name
        elif kind == "AWS::Events::EventBus":
            out[f"{logical_id}.Arn"] = prefix.format(service="events") + f"event-bus/{name}"
    return out


def _role(function_id: str, role: Any, resources: dict[str, Any], resolve: Resolver, stack_name: str) -> Role:
    """The execution role a function's ``Role`` names, with its inline and managed policies."""
    if not (
        isinstance(role, dict)
        and "Fn::GetAtt" in role
        and resources.get(role["Fn::GetAtt"][0], {}).get("Type") == "AWS::IAM::Role"
    ):
        raise ValueError(
            f"{function_id}: the local stack enforces IAM with the function's own role, so its Role must be "
            "!GetAtt <an AWS::IAM::Role of this template>.Arn"
        )
    logical_id = role["Fn::GetAtt"][0]
    props = resolve.structure(resources[logical_id]["Properties"])
    policies = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for arn in props.get("ManagedPolicyArns", []):
        policies.append(_managed_policy(arn))
    name = f"{stack_name}-{logical_id}"
    return Role(logical_id, name, f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", policies)


def _managed_policy(arn: str) -> dict[str, Any]:
    """An AWS managed policy's document, from the copy moto keeps of them."""
    import json

    from moto.iam.aws_managed_policies import aws_managed_policies_data

    name = arn.rsplit("/", 1)[-1]
    known = json.loads(aws_managed_policies_data)
    if not re.match(r"^arn:aws(-[a-z]+)*:iam::aws:policy/", arn) or name not in known:
        raise ValueError(f"the local stack does not know the managed policy {arn}")
    document: dict[str, Any] = known[name]["Document"]
    return document


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
