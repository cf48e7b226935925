"""Reading API Gateway (HTTP API, payload 2.0) events safely, and writing answers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import ApiError, api_error

MAX_BODY_BYTES = 16 * 1024

M = TypeVar("M", bound=BaseModel)

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}


def request_id(event: dict[str, Any]) -> str:
    context = event.get("requestContext") or {}
    return str(context.get("requestId") or "")


def body_bytes(event: dict[str, Any]) -> bytes:
    """The raw body; 413 if it is over 16 KiB (checked before anything parses it)."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise api_error("malformed_json")
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4:
            raise api_error("body_too_large")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise api_error("malformed_json") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise api_error("body_too_large")
    return raw


def parse_json(event: dict[str, Any], model: type[M]) -> M:
    """The body as ``model``: 413 if too large, 400 for non-UTF-8, non-JSON, wrong shape or types.

    The 400 names the fields at fault, never their values.
    """
    raw = body_bytes(event)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise api_error("malformed_json") from None
    if not isinstance(data, dict):
        raise api_error("malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> ApiError:
    problems: list[str] = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        kind = err["type"]
        reason = {
            "missing": "missing",
            "extra_forbidden": "not allowed",
            "string_type": "must be a string",
            "string_too_short": "too short",
            "string_too_long": "too long",
            "string_pattern_mismatch": "has characters that are not allowed",
        }.get(kind, "invalid")
        problems.append(f"{field} ({reason})")
    detail = ", ".join(sorted(set(problems)))
    return api_error(
        "invalid_request",
        message=f"The request body has problems: {detail}",
        message_zh=f"请求体字段有误：{detail}",
    )


def json_body(payload: BaseModel | dict[str, Any]) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def error_event_response(err: ApiError, event: dict[str, Any]) -> dict[str, Any]:
    """A complete API Gateway response for answering before the resolver runs."""
    return {
        "statusCode": err.status,
        "headers": {**JSON_HEADERS, **err.headers},
        "body": json_body(err.body(request_id(event))),
        "isBase64Encoded": False,
    }
