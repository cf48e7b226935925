"""Session tokens: short-lived HS256 JWTs (PyJWT) bound to the openid, with a key id."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt

from .errors import SessionExpired, Unauthorized
from .stack_keys import SigningKey, active_signing_key

AUDIENCE = "wxface-session"


def issue_session(openid: str, keys: Sequence[SigningKey], ttl_s: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    key = active_signing_key(keys, issued)
    return jwt.encode(
        {"sub": openid, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_s},
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid},
    )


# Tokens this container has verified: token -> (openid, exp, kid). A hit is the same string,
# signature included, so nothing unverified can match; expiry and the key's presence are checked
# on every hit. A user sends the same token for an hour: this skips decoding and HMAC-checking it
# on each request (about a tenth of a warm request, docs/benchmarks.md).
_VERIFIED: dict[str, tuple[str, int, str]] = {}
_VERIFIED_MAX = 2048


def verify_session(token: str, keys: Sequence[SigningKey], now: float | None = None) -> str:
    """The openid a valid token was issued for; :class:`Unauthorized` / :class:`SessionExpired`
    otherwise."""
    at = time.time() if now is None else now
    hit = _VERIFIED.get(token)
    if hit is not None:
        subject, expires, kid = hit
        if at < expires and any(k.kid == kid for k in keys):
            return subject
        del _VERIFIED[token]  # expired or its key retired: the full check below says which
    return _verify(token, keys, at)


def _verify(token: str, keys: Sequence[SigningKey], at: float) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise Unauthorized from None
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        raise Unauthorized
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthorized from None
    subject, expires = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not subject or not isinstance(expires, int):
        raise Unauthorized
    if at >= expires:  # checked here against the same clock as the cache's hits
        raise SessionExpired
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[next(iter(_VERIFIED))]  # the oldest
    _VERIFIED[token] = (subject, expires, key.kid)
    return subject
