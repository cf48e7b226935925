"""The API functions' own router and body models: a route found by API Gateway's routeKey, a
body read strictly as its model (no coercion, unknown fields refused) and refused with a 400 that
names the field at fault and never quotes what was sent."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.people import ALICE
from wxface.answers import ResultAnswer, from_json, to_json
from wxface.api.errors import ApiError
from wxface.api.http import invalid_request, json_body
from wxface.api.models import (
    KEY_REQUEST,
    RESULT_REQUEST,
    KeyRequestByOrder,
    KeyRequestTyped,
    OrderRequest,
    ResultRequestV1,
    ResultRequestV2,
    SessionRequest,
)
from wxface.api.router import IAM, InvalidBody, PathParam, Request, Response, Router, errors_of, validated

ORDER = "ord_" + "a" * 32


def refusal(model: Any, body: dict[str, Any], deployed: int | None = 2) -> str:
    with pytest.raises(InvalidBody) as err:
        validated(model, body, deployed)
    message = invalid_request(err.value.errors).message
    assert message.startswith("The request body has problems: ")
    return message.removeprefix("The request body has problems: ")


def test_a_body_is_read_strictly_as_its_model() -> None:
    assert validated(SessionRequest, {"code": "abc"}) == SessionRequest(code="abc")
    assert refusal(SessionRequest, {"code": 12345}) == "code (must be a string)"
    assert refusal(SessionRequest, {"code": "has space"}) == "code (has characters that are not allowed)"
    assert refusal(SessionRequest, {"code": ""}) == "code (too short)"
    assert refusal(SessionRequest, {"code": "x" * 129}) == "code (too long)"
    assert refusal(SessionRequest, {}) == "code (missing)"
    assert refusal(SessionRequest, {"code": "abc", "extra": 1}) == "extra (not allowed)"
    # No coercion: a number is not a string, true is not 1.
    assert refusal(ResultRequestV2, {"verify_id": 5}) == "verify_id (must be a string)"


def test_a_key_request_is_read_as_the_kind_whose_fields_it_names() -> None:
    typed = validated(KEY_REQUEST, {"name": ALICE[0], "id_card_number": ALICE[1], "biz_ref": "r-1"})
    assert isinstance(typed, KeyRequestTyped) and typed.biz_ref == "r-1"
    assert isinstance(validated(KEY_REQUEST, {"order_id": ORDER}), KeyRequestByOrder)
    # Both kinds' fields: refused, whichever it is read as (a key by order carries nothing else).
    assert refusal(KEY_REQUEST, {"order_id": ORDER, "name": ALICE[0]}) in (
        "name (not allowed)",
        "order_id (not allowed)",
    )
    assert refusal(KEY_REQUEST, {"order_id": "ord_x"}) == "order_id (has characters that are not allowed)"


@pytest.mark.parametrize("deployed", [1, 2])
def test_a_lookup_body_is_told_only_of_the_deployed_versions_fields(deployed: int) -> None:
    mine, other = ("verify_id", "verify_result") if deployed == 2 else ("verify_result", "verify_id")
    assert refusal(RESULT_REQUEST, {}, deployed) == f"{mine} (missing)"
    assert refusal(RESULT_REQUEST, {mine: 5}, deployed) == f"{mine} (must be a string)"
    # The other version's body is that version's model: the route's use case refuses it (400).
    read = validated(RESULT_REQUEST, {other: "x"}, deployed)
    assert isinstance(read, ResultRequestV1 if other == "verify_result" else ResultRequestV2)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Object missing required field `code`", [{"loc": ("code",), "type": "missing"}]),
        ("Object contains unknown field `x`", [{"loc": ("x",), "type": "extra_forbidden"}]),
        ("Object missing required field `a` - at `$.cert`", [{"loc": ("cert", "a"), "type": "missing"}]),
        ("Expected `str`, got `int` - at `$.name`", [{"loc": ("name",), "type": "string_type"}]),
        ("Expected `str | null`, got `int` - at `$.biz_ref`", [{"loc": ("biz_ref",), "type": "string_type"}]),
        ("Expected `str` of length >= 1 - at `$.code`", [{"loc": ("code",), "type": "string_too_short"}]),
        ("Expected `str` of length <= 64 - at `$.n`", [{"loc": ("n",), "type": "string_too_long"}]),
        (
            "Expected `str` matching regex '^x$' - at `$.n`",
            [{"loc": ("n",), "type": "string_pattern_mismatch"}],
        ),
        ("Expected `object`, got `array`", [{"loc": (), "type": "model_attributes_type"}]),
        ("Expected `int`, got `str` - at `$.items[0]`", [{"loc": ("items", "0"), "type": "invalid"}]),
    ],
)
def test_msgspecs_error_becomes_the_location_and_kind_the_400_names(
    message: str, expected: list[dict[str, Any]]
) -> None:
    assert errors_of(message) == expected


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80)
BODIES = st.dictionaries(
    st.sampled_from(["name", "id_card_number", "biz_ref", "order_id", "openid", "code", "verify_id", "x"]),
    JSON_SCALARS | st.lists(JSON_SCALARS, max_size=2),
    max_size=5,
)
MODELS = st.sampled_from([KEY_REQUEST, RESULT_REQUEST, OrderRequest, SessionRequest])


@given(MODELS, BODIES)
def test_any_body_is_read_or_refused_with_a_400_that_quotes_nothing_sent(
    model: Any, body: dict[str, Any]
) -> None:
    try:
        validated(model, body, 2)
    except InvalidBody as err:
        refused = invalid_request(err.errors)
        assert refused.status == 400 and refused.code == "invalid_request"
        said = refused.message + refused.message_zh
        for value in body.values():
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str) and len(text) >= 3 and text not in ("name", "code"):
                    assert text not in said.replace("The request body has problems", ""), text


@given(
    st.builds(
        ResultAnswer,
        api_version=st.sampled_from([1, 2]),
        passed=st.booleans(),
        result_code=st.integers(-(2**31), 2**31),
        message=st.text(),
        message_zh=st.text(),
        identity_matched=st.none() | st.booleans(),
        verified_at=st.integers(0, 2**40),
        validate_data=st.none() | st.text(),
        biz_ref=st.none() | st.text(max_size=64),
        order_id=st.none() | st.just(ORDER),
        identity_source=st.sampled_from(["user", "business"]),
    )
)
def test_an_answer_reads_back_as_it_was_written(answer: ResultAnswer) -> None:
    """A stored result is the answer's JSON; reading it back gives the same answer, and the
    API's body is that JSON (UTF-8 as it is, compact)."""
    assert from_json(to_json(answer), ResultAnswer) == answer
    assert json.loads(json_body(answer)) == json.loads(to_json(answer))
    chinese = ResultAnswer(**{**msgspec.structs.asdict(answer), "message_zh": "核身通过"})
    assert '"message_zh":"核身通过"' in json_body(chinese)  # UTF-8 as it is, compact


def router_with_routes() -> tuple[Router, list[str]]:
    app, seen = Router(), []

    @app.route("GET", "/v1/things/{thing}", summary="s", operation_id="o", tags=("t",), security=IAM,
               path_params=(PathParam("thing", "d", r"^[a-z]{1,8}$"),), responses={})  # fmt: skip
    def read(request: Request) -> Response:
        seen.append(request.path["thing"])
        return Response(200, "{}")

    return app, seen


def test_a_route_is_found_by_api_gateways_route_key_and_its_path_checked() -> None:
    app, seen = router_with_routes()
    event = {"routeKey": "GET /v1/things/{thing}", "pathParameters": {"thing": "abc"}}
    route = app.find(event)
    assert route is not None and route.security == IAM
    assert app.call(route, Request(event, None, {"thing": "abc"}), None).status == 200  # type: ignore[arg-type]
    assert seen == ["abc"]
    with pytest.raises(ApiError) as err:
        app.call(route, Request(event, None, {"thing": "ABC!"}), None)  # type: ignore[arg-type]
    assert err.value.status == 400 and "thing (has characters that are not allowed)" in err.value.message
    assert app.find({"routeKey": "GET /v1/other"}) is None and app.find({}) is None
    with pytest.raises(ValueError, match="routed twice"):
        app.route("GET", "/v1/things/{thing}", summary="s", operation_id="o", tags=(), responses={})(
            lambda request: Response(200)
        )
