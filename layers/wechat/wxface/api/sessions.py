"""Session tokens: short-lived HS256 JWTs (PyJWT) bound to the openid, with a key id."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt

from ..domain.keys_material import SigningKey, active_signing_key
from .errors import api_error

AUDIENCE = "wxface-session"


def issue_session(openid: str, keys: Sequence[SigningKey], ttl_s: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    key = active_signing_key(tuple(keys), issued)
    return jwt.encode(
        {"sub": openid, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_s},
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid},
    )


def verify_session(token: str, keys: Sequence[SigningKey]) -> str:
    """The openid a valid token was issued for; 401 ``unauthorized`` / ``session_expired`` otherwise."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise api_error("unauthorized") from None
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        raise api_error("unauthorized")
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise api_error("session_expired") from None
    except jwt.InvalidTokenError:
        raise api_error("unauthorized") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise api_error("unauthorized")
    return subject


def bearer_token(headers: dict[str, str] | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (401 if absent or malformed)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise api_error("unauthorized")
