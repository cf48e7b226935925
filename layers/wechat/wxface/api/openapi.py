"""OpenAPI descriptions of answers, for the routes' ``responses=`` (the document in
docs/openapi-v1.yaml and docs/openapi-v2.yaml are generated from the handlers: `make openapi`)."""

from __future__ import annotations

from typing import Any

from .models import ErrorAnswer
from .router import HeaderParam

_ERRORS = {
    400: "Malformed JSON, missing or mistyped fields, an ID number failing GB 11643, an unusable name, "
    "a bad or used wx.login code",
    401: "No, bad or expired session token",
    403: "A result, key or order that belongs to another user; an identity source the deployment does not "
    "take (IdentitySource); WeChat refusing the user's login as high risk (40226)",
    404: "Unknown verify_result / verify_id, or no stored result yet; an unknown or erased order",
    409: "An Idempotency-Key reused with a different body; a key asked for a cancelled or passed order; "
    "cancelling a passed or expired order; an order creation in flight when its user was erased",
    410: "An expired key or result; a key asked for an expired order; a photo after its key's life",
    413: "A body over 16 KiB",
    429: "The caller's own rate limit (with Retry-After), or WeChat's quota (45009, 45011)",
    502: "WeChat answered with an errcode the product cannot act on",
    503: "WeChat unreachable, timing out or busy after bounded retries, or an AWS failure past the retries "
    "(with Retry-After)",
}
COMMON = (400, 413, 502, 503)


def idempotency_header(what: str) -> HeaderParam:
    """The ``Idempotency-Key`` header of a creating route, as the OpenAPI document shows it
    (documented here; the use case checks it: 400 ``invalid_idempotency_key``)."""
    return HeaderParam(
        "Idempotency-Key",
        f"One per {what} (1-128 visible ASCII)",
        {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x21-\\x7e]+$"},
    )


def responses(ok_status: int, ok_model: Any, ok_description: str, *errors: int) -> dict[int, Any]:
    """``{status: description and schema}``: the success answer and the contract's errors."""
    documented: dict[int, Any] = {}
    if ok_model is None:
        documented[ok_status] = {"description": ok_description}
    else:
        documented[ok_status] = {
            "description": ok_description,
            "content": {"application/json": {"model": ok_model}},
        }
    for status in sorted({*COMMON, *errors}):
        documented[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"model": ErrorAnswer}},
        }
    return documented
