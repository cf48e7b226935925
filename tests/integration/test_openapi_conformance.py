"""schemathesis against the local stack: generated requests for every operation of the stack's
face API version's document (docs/openapi-v1.yaml, docs/openapi-v2.yaml), with a real session
token; no 5xx, every answer as documented, and every schema-valid key request accepted."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    ignored_auth,
    missing_required_header,
    positive_data_acceptance,
    unsupported_method,
)

from devstack.iam import BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {v: schemathesis.openapi.from_path(str(ROOT / "docs" / f"openapi-v{v}.yaml")) for v in (1, 2)}
# API Gateway (HTTP API), not the functions, answers a method no route declares: 404
# {"message": "Not Found"}, no Allow header. The local stack does the same.
NOT_OURS = [unsupported_method, allow_header_conformance]
# Refused by state, which no schema can say: a wx.login code WeChat never issued (400), a
# verify_result / verify_id nobody was given (400 / 404).
BY_STATE = {"/v1/session", "/v1/face/results"}
# The business's routes are authorised by IAM at API Gateway, which answers a request without a
# signature 403 {"message": "Forbidden"} (the contract, and AWS), where the check wants 401.
BUSINESS_ROUTE = "/v1/users/{openid}/face/results/latest"
BUSINESS_ROUTES = (
    BUSINESS_ROUTE,
    "/v1/face/orders",
    "/v1/face/orders/{order_id}",
    "/v1/face/photos/{order_id}",
)
# An order_id schema-valid in a path is any string: an order nobody created, found by state (404).
BY_STATE_TOO = {"/v1/face/orders/{order_id}", "/v1/face/photos/{order_id}"}
BUSINESS = Credentials(BUSINESS_ACCESS_KEY_ID, BUSINESS_SECRET_ACCESS_KEY)


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def real_id_number(number: str) -> str:
    """A schema-valid ID number made a real one: JSON Schema cannot say GB 11643's check
    character nor the calendar, so the birth date becomes one that exists and the check character
    the right one (tests/unit/test_identity.py: nothing else is refused)."""
    from wxface.identity import id_card_check_char

    body = number[:6] + "19900101" + number[14:17]
    return body + id_card_check_char(body)


def run_case(case: schemathesis.Case[Any], stack: RunningStack) -> None:
    headers = {}
    excluded = list(NOT_OURS)
    if case.path in BY_STATE | BY_STATE_TOO:
        excluded.append(positive_data_acceptance)
    number = case.body.get("id_card_number") if isinstance(case.body, dict) else None
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if (
        case.path in ("/v1/face/keys", "/v1/face/orders")
        and not negative  # a deliberately invalid number stays invalid
        and isinstance(case.body, dict)
        and isinstance(number, str)
        and len(number) == 18
    ):
        case.body = {**case.body, "id_card_number": real_id_number(number)}
    if case.path == "/v1/face/keys" and isinstance(case.body, dict) and "order_id" in case.body:
        excluded.append(positive_data_acceptance)  # a schema-valid order_id nobody created: 404
    if case.path in BUSINESS_ROUTES:
        # A business server: signed with SigV4 by the local identity holding the stack's three
        # policies, over the exact bytes sent.
        kwargs = case.as_transport_kwargs(base_url=stack.api)
        data = json.dumps(kwargs["json"]).encode() if "json" in kwargs else b""
        # Signed: the host, the date and the body; the generated headers ride along unsigned (as
        # SigV4 allows), sent as bytes where they are not ASCII, as the requests library would.
        signed = AWSRequest(
            method=case.method.upper(),
            url=kwargs["url"],
            data=data,
            headers={"Content-Type": "application/json"} if data else {},
        )
        # A case whose headers are the negative part (the required Authorization among them)
        # goes unsigned: API Gateway's 403 is the rejection it expects.
        if not (case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)):
            SigV4Auth(BUSINESS, "execute-api", "us-east-1").add_auth(signed)
        generated = {
            k: (v if v.isascii() else v.encode()) for k, v in (kwargs.get("headers") or {}).items()
            if k.lower() not in ("authorization", "content-type")
        }  # fmt: skip
        response = httpx.request(
            case.method.upper(),
            kwargs["url"],
            params=kwargs.get("params"),
            headers={**generated, **dict(signed.headers)},
            content=data,
            timeout=30,
        )
        # ignored_auth replays the request with its own "invalid" auth, which is this valid signature.
        case.validate_response(response, excluded_checks=[*excluded, missing_required_header, ignored_auth])
        return
    elif case.path != "/v1/session":
        # Logged in through the simulator, as the mini-program would be.
        headers["Authorization"] = f"Bearer {stack.login(f'o-fuzz-{uuid.uuid4().hex[:8]}')}"
    case.call_and_validate(base_url=stack.api, headers=headers, excluded_checks=excluded)


@SCHEMAS[2].parametrize()
@SETTINGS
def test_every_answer_of_a_2_0_stack_matches_its_document(
    case: schemathesis.Case[Any], stack_v2: RunningStack
) -> None:
    run_case(case, stack_v2)


@SCHEMAS[1].parametrize()
@SETTINGS
def test_every_answer_of_a_1_0_stack_matches_its_document(
    case: schemathesis.Case[Any], stack_v1: RunningStack
) -> None:
    run_case(case, stack_v1)
