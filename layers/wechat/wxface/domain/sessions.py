"""Session tokens: short-lived HS256 JWTs bound to the openid, with a key id.

A token carries ``iss``, ``aud``, ``sub`` (the openid), ``iat``, ``exp`` and ``ep``: the user's
erasure epoch, read (consistently) at login. The verifier, not the signer, bounds its lifetime:
``exp - iat`` may exceed the session TTL by at most :data:`CLOCK_SKEW_S`, and ``iat`` may not lie
in the future, so a token minted with a leaked key for a year is refused all the same. What a
valid token stands for is a :class:`Session`: whose it is, when it was issued and under which
erasure epoch (an erasure moves the epoch on, ending every session of an earlier one whatever the
clocks say, while a login sent after it reads the new one: ``domain/limits.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import SessionExpired, Unauthorized
from .stack_keys import SigningKey, active_signing_key

# HS256 JSON Web Tokens (RFC 7519, JWS compact form), written here instead of PyJWT: the sessions
# need one algorithm, and PyJWT's import (even without ``cryptography``) was about 35 ms of every API
# function's first request (docs/benchmarks.md), for algorithms a session must never accept. The
# verifier accepts exactly ``alg: HS256``; a token PyJWT signs verifies here and the other way
# round (tests/unit/test_sessions.py checks both ways).
MAX_TOKEN_CHARS = 4096
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class _Malformed(ValueError):
    """Not a well-formed HS256 token of this stack (nothing about which part: a 401 says no more)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(part: str) -> bytes:
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise _Malformed
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json_object(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64(part))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Malformed from None
    if not isinstance(value, dict):
        raise _Malformed
    return value


def _signature(secret: bytes, signing_input: str) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode_hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64(_signature(secret, signing_input))}"


def unverified_header(token: str) -> dict[str, Any]:
    """The header of a token in compact form (three parts), before its signature is checked."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3:
        raise _Malformed
    return _json_object(parts[0])


def decode_hs256(token: str, secret: bytes, header: dict[str, Any] | None = None) -> dict[str, Any]:
    """The claims of a token signed with ``secret`` by HS256, and by nothing else (``alg`` must be
    exactly HS256: no ``none``, no other algorithm); its signature compared in constant time.
    ``header``: the token's :func:`unverified_header`, when the caller read it already."""
    if (unverified_header(token) if header is None else header).get("alg") != "HS256":
        raise _Malformed
    encoded_header, payload, signature = token.split(".")
    if not hmac.compare_digest(_signature(secret, f"{encoded_header}.{payload}"), _unb64(signature)):
        raise _Malformed
    return _json_object(payload)


ISSUER = "wxface"
AUDIENCE = "wxface-session"
CLOCK_SKEW_S = 60  # between the signer's and the verifier's clocks


@dataclass(frozen=True)
class Session:
    """A verified session: the caller's openid, when its token was issued (unix seconds), and the
    user's erasure epoch at login (every write made for the session is refused once an erasure
    has moved it on)."""

    openid: str
    issued_at: int
    epoch: int = 0


class UnknownSigningKey(Unauthorized):
    """The token names a key this container does not know (yet): after an emergency rotation,
    a container that has not re-read the key set meets tokens signed with the new key."""


def issue_session(
    openid: str, keys: Sequence[SigningKey], ttl_s: int, now: float | None = None, *, epoch: int = 0
) -> str:
    issued = int(time.time() if now is None else now)
    key = active_signing_key(keys, issued)
    return encode_hs256(
        {"iss": ISSUER, "sub": openid, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_s, "ep": epoch},
        key.secret,
        key.kid,
    )


class VerifiedTokens:
    """Tokens this container has verified: token -> (openid, iat, exp, kid, ep). A hit is the
    same string, signature included, so nothing unverified can match; expiry and the key's
    presence are checked on every hit. A user sends the same token for an hour: this skips
    decoding and HMAC-checking it on each request (about a tenth of a warm request,
    docs/benchmarks.md). Revocation by erasure is checked in the table on every request
    (domain/limits.py), so this cache cannot outlive it. Held by the :class:`SessionVerifier`
    (one per container), never by the module."""

    MAX = 2048

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, int, int, str, int]] = {}

    def get(self, token: str) -> tuple[str, int, int, str, int] | None:
        return self._tokens.get(token)

    def forget(self, token: str) -> None:
        self._tokens.pop(token, None)

    def remember(self, token: str, verified: tuple[str, int, int, str, int]) -> None:
        if len(self._tokens) >= self.MAX:
            del self._tokens[next(iter(self._tokens))]  # the oldest
        self._tokens[token] = verified


def verify_session(
    token: str,
    keys: Sequence[SigningKey],
    *,
    max_ttl_s: int,
    now: float | None = None,
    verified: VerifiedTokens | None = None,
) -> Session:
    """The session a valid token stands for; :class:`Unauthorized` (:class:`UnknownSigningKey`
    for a key id not in ``keys``) or :class:`SessionExpired` otherwise. ``verified``: the tokens
    this container verified already (checked first, and told of this one)."""
    at = time.time() if now is None else now
    if verified is not None and (hit := verified.get(token)) is not None:
        subject, issued, expires, kid, epoch = hit
        if at < expires and any(k.kid == kid for k in keys):
            return Session(subject, issued, epoch)
        verified.forget(token)  # expired or its key retired: the full check below says which
    return _verify(token, keys, at, max_ttl_s, verified)


def _verify(
    token: str, keys: Sequence[SigningKey], at: float, max_ttl_s: int, verified: VerifiedTokens | None
) -> Session:
    try:
        header = unverified_header(token)
    except _Malformed:
        raise Unauthorized from None
    kid = header.get("kid")
    key = next((k for k in keys if isinstance(kid, str) and k.kid == kid), None)
    if key is None:
        raise UnknownSigningKey
    try:
        claims = decode_hs256(token, key.secret, header)
    except _Malformed:
        raise Unauthorized from None
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise Unauthorized
    subject, issued, expires = claims.get("sub"), claims.get("iat"), claims.get("exp")
    epoch = claims.get("ep", 0)  # tokens from before the epoch existed carry none: 0
    if (
        not isinstance(subject, str)
        or not subject
        or not isinstance(expires, int)
        or isinstance(expires, bool)
        or not isinstance(issued, int)
        or isinstance(issued, bool)
        or not isinstance(epoch, int)
        or isinstance(epoch, bool)
        or epoch < 0
    ):
        raise Unauthorized
    if expires - issued > max_ttl_s + CLOCK_SKEW_S or issued > at + CLOCK_SKEW_S:
        raise Unauthorized  # longer-lived than this stack issues, or from the future: not ours
    if at >= expires:  # checked here against the same clock as the cache's hits
        raise SessionExpired
    if verified is not None:
        verified.remember(token, (subject, issued, expires, key.kid, epoch))
    return Session(subject, issued, epoch)


@dataclass
class SessionVerifier:
    """Verifies tokens against the key set ``keys(force)`` answers (cached by the caller).

    A token signed with a key the cached set lacks (an emergency rotation replaced the set)
    makes the verifier re-read the set once, at most every ``reread_interval_s`` per container,
    so logins on containers that already know the new key work everywhere at once, and a
    script sending made-up key ids cannot turn every request into an SSM read.
    """

    keys: Callable[[bool], Sequence[SigningKey]]
    max_ttl_s: int
    reread_interval_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    verified: VerifiedTokens = field(default_factory=VerifiedTokens)
    _last_reread: float = field(default=float("-inf"))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, token: str) -> Session:
        try:
            return verify_session(token, self.keys(False), max_ttl_s=self.max_ttl_s, verified=self.verified)
        except UnknownSigningKey:
            with self._lock:
                if self.clock() - self._last_reread < self.reread_interval_s:
                    raise
                self._last_reread = self.clock()
            return verify_session(token, self.keys(True), max_ttl_s=self.max_ttl_s, verified=self.verified)
