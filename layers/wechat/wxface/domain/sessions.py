"""Session tokens: short-lived HS256 JWTs (PyJWT) bound to the openid, with a key id.

A token carries ``iss``, ``aud``, ``sub`` (the openid), ``iat``, ``exp`` and ``ep``: the user's
erasure epoch, read (consistently) at login. The verifier, not the signer, bounds its lifetime:
``exp - iat`` may exceed the session TTL by at most :data:`CLOCK_SKEW_S`, and ``iat`` may not lie
in the future, so a token minted with a leaked key for a year is refused all the same. What a
valid token stands for is a :class:`Session`: whose it is, when it was issued and under which
erasure epoch (an erasure moves the epoch on, ending every session of an earlier one whatever the
clocks say, while a login sent after it reads the new one: ``domain/limits.py``).
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from .errors import SessionExpired, Unauthorized
from .stack_keys import SigningKey, active_signing_key


class _WithoutCryptography(importlib.abc.MetaPathFinder):
    """Makes ``cryptography`` look absent, for the one import below."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "cryptography" or fullname.startswith("cryptography."):
            raise ModuleNotFoundError(fullname)


def _hmac_only_jwt() -> ModuleType:
    """PyJWT as these tokens need it: HMAC algorithms only.

    PyJWT imports ``cryptography`` whenever it is installed, for its RSA, EC and EdDSA algorithms,
    and the layer ships ``cryptography`` (the 2.0 sealing key's AES-GCM): that import was about 45
    ms of every function's cold start (docs/benchmarks.md), for algorithms a session token must
    never use. Imported with ``cryptography`` hidden, PyJWT offers HS256/384/512 only, which also
    rules out any algorithm confusion; ``cryptography`` itself is imported later where it is
    needed (sealing), unaffected."""
    if "jwt" in sys.modules:
        return sys.modules["jwt"]
    hide = _WithoutCryptography()
    sys.meta_path.insert(0, hide)
    try:
        import jwt as module
    finally:
        sys.meta_path.remove(hide)
    return module


if TYPE_CHECKING:
    import jwt
else:
    jwt = _hmac_only_jwt()

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
    return jwt.encode(
        {"iss": ISSUER, "sub": openid, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_s, "ep": epoch},
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid},
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
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise Unauthorized from None
    key = next((k for k in keys if k.kid == kid), None)
    if key is None:
        raise UnknownSigningKey
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["exp", "iat", "sub", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidTokenError:
        raise Unauthorized from None
    subject, issued, expires = claims.get("sub"), claims.get("iat"), claims.get("exp")
    epoch = claims.get("ep", 0)  # tokens from before the epoch existed carry none: 0
    if (
        not isinstance(subject, str)
        or not subject
        or not isinstance(expires, int)
        or not isinstance(issued, int)
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
