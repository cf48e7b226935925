"""What the local AWS endpoint cannot check, checked statically: every AWS call each function made
during this integration run (as the endpoint recorded it) is granted by that function's role in
the template *as the SAM transform outputs it*, in the commercial and the China partition, and
with a customer-managed key also the KMS calls that SSM and DynamoDB make on the caller's behalf
(key policies and kms:ViaService are AWS's alone). Also the calls the Lambda service makes with
the role: its logs and, for the scheduled functions, the on-failure destination.

Runs after the other integration tests (``after_all``): it reads their calls from the session's
stacks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.iam import AuthzRequest, evaluate
from devstack.template import ACCOUNT_ID, AWS, AWS_CN, Partition, function_roles
from tests.support.stack import RunningStack
from tests.support.tools import transform

pytestmark = [pytest.mark.integration, pytest.mark.after_all]

STACK = "wechat-face-local"
CMK_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
SCHEDULED = {
    f"{STACK}-{name}" for name in ("token-refresher", "key-rotator", "event-emitter", "result-sweeper")
}
DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


def recorded(*stacks: RunningStack) -> dict[str, list[dict[str, Any]]]:
    calls: dict[str, list[dict[str, Any]]] = {}
    for stack in stacks:
        granted = stack.aws_control("GET", "/_devstack/calls?detail=1")["granted"]
        for function, items in granted.items():
            calls.setdefault(function, []).extend(items)
    return calls


def moved(value: str, to: Partition) -> str:
    return value.replace("arn:aws:", f"arn:{to.name}:").replace(AWS.region, to.region)


def needed(function: str, call: dict[str, Any], where: Partition, cmk: str | None) -> list[AuthzRequest]:
    """The recorded call in ``where``, plus what AWS authorises on the caller's behalf for it."""
    context = {k: moved(v, where) if isinstance(v, str) else v for k, v in call["context"].items()}
    out = [AuthzRequest(call["action"], moved(call["resource"], where), context)]
    if cmk is None:
        return out
    service, action = call["action"].split(":", 1)
    via = {"kms:ViaService": f"{service}.{where.region}.{where.url_suffix}"}
    if service == "ssm":
        # SecureStrings: read with kms:Decrypt, written (standard tier) with kms:Encrypt.
        out.append(AuthzRequest("kms:Encrypt" if action == "PutParameter" else "kms:Decrypt", cmk, via))
    elif service == "dynamodb":
        out.append(AuthzRequest("kms:Decrypt", cmk, via))
        if action in DYNAMODB_WRITES:
            out.append(AuthzRequest("kms:GenerateDataKey", cmk, via))
    return out


def lambda_service_calls(function: str, where: Partition, failures_queue: str) -> list[AuthzRequest]:
    prefix = f"arn:{where.name}:logs:{where.region}:{ACCOUNT_ID}:log-group:/aws/lambda/{function}"
    calls = [
        AuthzRequest("logs:CreateLogStream", f"{prefix}:log-stream:2026/11/30/[$LATEST]abc"),
        AuthzRequest("logs:PutLogEvents", f"{prefix}:log-stream:2026/11/30/[$LATEST]abc"),
    ]
    if function in SCHEDULED:
        calls.append(AuthzRequest("sqs:SendMessage", failures_queue))
    return calls


@pytest.mark.parametrize("where", [AWS, AWS_CN], ids=["aws", "aws-cn"])
@pytest.mark.parametrize("with_cmk", [False, True], ids=["aws-managed-keys", "customer-managed-key"])
def test_every_call_a_function_made_is_granted_by_its_role_as_deployed(
    stack_v1: RunningStack, stack_v2: RunningStack, where: Partition, with_cmk: bool
) -> None:
    for stack in (stack_v1, stack_v2):  # scheduled runs, as their schedules would
        scheduled = ("key-rotator", "event-emitter") + (("result-sweeper",) if stack.version == 2 else ())
        for name in scheduled:
            answer = stack.aws_client("lambda").invoke(FunctionName=f"{STACK}-{name}", Payload=b"{}")
            assert "FunctionError" not in answer, name
    calls = recorded(stack_v1, stack_v2)
    # Every function ran during the integration tests, so the check below covers them all.
    assert set(calls) == {
        f"{STACK}-{name}"
        for name in (
            "token-refresher", "key-rotator", "session", "face-keys", "face-results", "face-orders", "event-emitter",
            "result-sweeper",
        )
    }  # fmt: skip
    cmk = f"arn:{where.name}:kms:{where.region}:{ACCOUNT_ID}:key/{CMK_ID}" if with_cmk else None
    overrides = [f"AWS::Region={where.region}", f"AWS::Partition={where.name}"]
    if cmk:
        overrides.append(f"KmsKeyArn={cmk}")
    deployed = transform(*overrides)
    roles = function_roles(
        deployed,
        stack_name=STACK,
        overrides=dict(o.split("=", 1) for o in overrides if not o.startswith("AWS::")),
        partition=where,
    )
    queue = f"arn:{where.name}:sqs:{where.region}:{ACCOUNT_ID}:{STACK}-RefresherFailures"
    refused = []
    for function, role in roles.items():
        wanted = [r for call in calls[function] for r in needed(function, call, where, cmk)]
        wanted += lambda_service_calls(function, where, queue)
        for request in wanted:
            decision = evaluate(role.policies, request)
            if decision != "allow":
                refused.append((function, request.action, request.resource, dict(request.context), decision))
    assert not refused, json.dumps(refused, indent=1)


def test_without_a_customer_managed_key_no_function_may_use_kms() -> None:
    roles = function_roles(transform(), stack_name=STACK)
    key = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{CMK_ID}"
    for role in roles.values():
        request = AuthzRequest("kms:Decrypt", key, {"kms:ViaService": "ssm.us-east-1.amazonaws.com"})
        assert evaluate(role.policies, request) == "implicit_deny"


def test_a_customer_managed_key_is_usable_only_through_ssm_and_dynamodb() -> None:
    cmk = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{CMK_ID}"
    roles = function_roles(transform(f"KmsKeyArn={cmk}"), stack_name=STACK, overrides={"KmsKeyArn": cmk})
    for role in roles.values():
        direct = AuthzRequest("kms:Decrypt", cmk)
        via_s3 = AuthzRequest("kms:Decrypt", cmk, {"kms:ViaService": "s3.us-east-1.amazonaws.com"})
        assert evaluate(role.policies, direct) == "implicit_deny"
        assert evaluate(role.policies, via_s3) == "implicit_deny"


@pytest.mark.parametrize("where", [AWS, AWS_CN], ids=["aws", "aws-cn"])
def test_the_throughput_custom_resource_may_change_only_its_own_setting(where: Partition) -> None:
    overrides = {"ParameterStoreHighThroughput": "true"}
    deployed = transform(
        "ParameterStoreHighThroughput=true", f"AWS::Region={where.region}", f"AWS::Partition={where.name}"
    )
    role = function_roles(deployed, stack_name=STACK, overrides=overrides, partition=where)[
        f"{STACK}-ssm-throughput"
    ]
    setting = f"arn:{where.name}:ssm:{where.region}:{ACCOUNT_ID}:servicesetting/ssm/parameter-store/high-throughput-enabled"
    assert evaluate(role.policies, AuthzRequest("ssm:UpdateServiceSetting", setting)) == "allow"
    other = setting.replace("parameter-store/high-throughput-enabled", "automation/log-destination")
    assert evaluate(role.policies, AuthzRequest("ssm:UpdateServiceSetting", other)) == "implicit_deny"
    assert (
        evaluate(
            role.policies,
            AuthzRequest(
                "ssm:GetParameter",
                f"arn:{where.name}:ssm:{where.region}:{ACCOUNT_ID}:parameter/{STACK}/access-token",
            ),
        )
        == "implicit_deny"
    )
    # Without the parameter the function does not exist.
    assert f"{STACK}-ssm-throughput" not in function_roles(transform(), stack_name=STACK)
