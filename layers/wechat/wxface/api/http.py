"""Reading API Gateway (HTTP API, payload 2.0) events safely, and writing answers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import msgspec

from .errors import ApiError, api_error

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


def invalid_request(errors: Sequence[Any]) -> ApiError:
    """A 400 naming the fields at fault and why (each error a location and a kind of problem; the
    router passes the first problem msgspec met),
    never their values."""
    problems: set[str] = set()
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "path")]
        field = loc[-1] if loc else "body"
        problems.add(f"{field} ({_REASONS.get(str(err.get('type')), 'invalid')})")
    detail = ", ".join(sorted(problems)) or "body (invalid)"
    return api_error(
        "invalid_request",
        message=f"The request body has problems: {detail}",
        message_zh=f"请求体字段有误：{detail}",
    )


def json_body(payload: msgspec.Struct | dict[str, Any]) -> str:
    """Compact JSON, UTF-8 as it is (no ``\\u`` escapes)."""
    return msgspec.json.encode(payload).decode("utf-8")


def bearer_token(headers: dict[str, str] | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (401 if absent or malformed)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise api_error("unauthorized")
