"""Reading API Gateway (HTTP API, payload 2.0) events safely, and writing answers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from .errors import ApiError, api_error
from .models import REQUEST_MEMBER_VERSIONS

MAX_BODY_BYTES = 16 * 1024

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


_REASONS = {
    "missing": "missing",
    "extra_forbidden": "not allowed",
    "string_type": "must be a string",
    "string_too_short": "too short",
    "string_too_long": "too long",
    "string_pattern_mismatch": "has characters that are not allowed",
    "model_attributes_type": "must be an object",
    "union_tag_invalid": "invalid",
}


def invalid_request(errors: Sequence[Any], deployed: int | None = None) -> ApiError:
    """A 400 naming the fields at fault and why, from pydantic-style errors, never their values.
    Given the deployed face API version, a body that fits neither version's model is told only
    what the deployed one's model found (not that it lacks the other version's field)."""
    if deployed is not None:
        errors = [err for err in errors if _member_version(err) in (None, deployed)] or errors
    errors = _closest_member(errors)
    problems: set[str] = set()
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        # A union's member names (ResultRequestV1...) are no help to a client: keep the field.
        field = next((p for p in reversed(loc) if not p[:1].isupper()), "") or "body"
        problems.add(f"{field} ({_REASONS.get(str(err.get('type')), 'invalid')})")
    detail = ", ".join(sorted(problems)) or "body (invalid)"
    return api_error(
        "invalid_request",
        message=f"The request body has problems: {detail}",
        message_zh=f"请求体字段有误：{detail}",
    )


def _closest_member(errors: Sequence[Any]) -> Sequence[Any]:
    """Of a body that fits no member of a union (a key by typed identity or by order), the
    errors of the member it comes closest to (the fewest errors; the first on a tie)."""
    by_member: dict[str, list[Any]] = {}
    for err in errors:
        member = next((str(p) for p in err.get("loc", ()) if str(p)[:1].isupper()), "")
        by_member.setdefault(member, []).append(err)
    if len(by_member) < 2 or "" in by_member:
        return errors
    return min(by_member.values(), key=len)


def _member_version(err: Any) -> int | None:
    """The face API version of the union member an error comes from (None: not from one)."""
    return next(
        (REQUEST_MEMBER_VERSIONS[p] for p in err.get("loc", ()) if p in REQUEST_MEMBER_VERSIONS), None
    )


def json_body(payload: BaseModel | dict[str, Any]) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def bearer_token(headers: dict[str, str] | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (401 if absent or malformed)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise api_error("unauthorized")
