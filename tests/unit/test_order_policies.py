"""The order routes' managed policies as the local API Gateway evaluates them (the same
evaluator that authorises every IAM route of `make run`): OrderManagerPolicy opens create, read
and cancel and not the photo; OrderPhotoPolicy the photo alone; the local business identity holds
all three with ResultReaderPolicy; under IdentitySource=user the stack has no order routes,
function or policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack.__main__ import business_policies
from devstack.iam import AuthzRequest, evaluate
from devstack.template import ACCOUNT_ID, API_ID, REGION, Stack, load

ROOT = Path(__file__).resolve().parents[2]
ORDER = "ord_0123456789abcdef0123456789abcdef"
ROUTES = {
    "create": ("POST", "/v1/face/orders"),
    "read": ("GET", f"/v1/face/orders/{ORDER}"),
    "cancel": ("DELETE", f"/v1/face/orders/{ORDER}"),
    "photo": ("GET", f"/v1/face/photos/{ORDER}"),
    "latest": ("GET", "/v1/users/o-someone/face/results/latest"),
    "a user's key": ("POST", "/v1/face/keys"),
}


def invoke(method: str, path: str) -> AuthzRequest:
    arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/$default/{method}{path}"
    return AuthzRequest("execute-api:Invoke", arn, {"aws:RequestedRegion": REGION})


def allowed(policies: list[dict[str, Any]]) -> set[str]:
    return {name for name, route in ROUTES.items() if evaluate(policies, invoke(*route)) == "allow"}


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load(ROOT / "template.yaml", stack_name="wechat-face-local")


def test_each_policy_opens_exactly_its_routes(stack: Stack) -> None:
    managed = stack.managed_policies
    assert allowed([managed["OrderManagerPolicy"]]) == {"create", "read", "cancel"}
    assert allowed([managed["OrderPhotoPolicy"]]) == {"photo"}  # a manager alone gets 403 on it
    assert allowed([managed["ResultReaderPolicy"]]) == {"latest"}


def test_the_local_business_identity_holds_the_three(stack: Stack) -> None:
    assert allowed(business_policies(stack)) == {"create", "read", "cancel", "photo", "latest"}


def test_a_user_only_deployment_has_no_order_routes(stack: Stack) -> None:
    user_only = load(
        ROOT / "template.yaml", stack_name="wechat-face-local", overrides={"IdentitySource": "user"}
    )
    assert {r.route_key for r in stack.routes} - {r.route_key for r in user_only.routes} == {
        "POST /v1/face/orders",
        "GET /v1/face/orders/{order_id}",
        "DELETE /v1/face/orders/{order_id}",
        "GET /v1/face/photos/{order_id}",
    }
    assert "FaceOrdersFunction" not in user_only.functions
    assert not {"OrderManagerPolicy", "OrderPhotoPolicy"} & set(user_only.managed_policies)
    assert allowed(business_policies(user_only)) == {"latest"}
    keys = user_only.functions["FaceKeysFunction"]
    assert keys.environment["IDENTITY_SOURCE"] == "user"
    assert "order-sealing-key" not in str(keys.role.policies)
