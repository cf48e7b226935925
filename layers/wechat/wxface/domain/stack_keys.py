"""Secret key material this stack owns (created on first use, kept in SSM SecureString).

- the *data key*: HMAC key for what the table stores instead of personal values (the openid,
  WeChat's MD5s of name and number), so a table dump reveals nothing brute-forceable without it;
- the *session signing keys*: HS256 keys for session tokens, newest first. Rotation (the
  key-rotator function, on a schedule) adds a key that signs only from ``not_before`` on, later
  than every container's cache of the set, so no container meets a token signed with a key it
  does not know yet; previous keys stay for verification until their last tokens have expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..ports.params import ParameterMissing, SecureParams

KEY_CACHE_S = 60


def sha256_hex(value: str) -> str:
    """Table keys for WeChat references (user_id_key, verify_id, verify_result): never in clear."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


SEALED_PREFIX = "v1:"


class SealBroken(ValueError):
    """A sealed value that does not open: altered, moved to another record, or another key's."""


@dataclass(frozen=True)
class SealingKey:
    """The stack's AES-256-GCM key (``/<stack>/data-sealing-key``, kept like the data key) for
    what must be stored only to be sent back to WeChat (2.0 ``cert_hash``): sealed at rest, bound
    to its record, opened in memory when the lookup needs it. No KMS call per request."""

    key: bytes

    def __repr__(self) -> str:
        return "SealingKey(***)"

    def seal(self, plaintext: str, bound_to: str) -> str:
        """``plaintext`` encrypted, bound to ``bound_to`` (associated data: the record's
        reference, so a sealed value moved to another record does not open)."""
        import os

        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode(), bound_to.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, bound_to: str) -> str:
        """What :meth:`seal` sealed; :class:`SealBroken` if it was altered or moved."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not sealed.startswith(SEALED_PREFIX):
            raise SealBroken("not a sealed value")
        try:
            raw = base64.b64decode(sealed[len(SEALED_PREFIX) :], validate=True)
            return AESGCM(self.key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (InvalidTag, ValueError) as err:
            raise SealBroken("the sealed value does not open") from err


@dataclass(frozen=True)
class DataKey:
    key: bytes

    def __repr__(self) -> str:
        return "DataKey(***)"

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def owner(self, openid: str) -> str:
        """The openid as stored: an HMAC (32 hex characters are plenty to key a partition)."""
        return self.mac("openid", openid)[:32]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: bytes
    not_before: int = 0  # signs from this time on (unix seconds); verifies at once

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def active_signing_key(keys: Sequence[SigningKey], now: float | None = None) -> SigningKey:
    """The key new tokens are signed with: the newest whose ``not_before`` has come."""
    at = time.time() if now is None else now
    ready = [k for k in keys if k.not_before <= at]
    return max(ready, key=lambda k: k.not_before) if ready else min(keys, key=lambda k: k.not_before)


def rotated(
    raw: str | None, now: int, *, activation_delay_s: int, keep_s: int, emergency: bool = False
) -> tuple[str, str]:
    """The key set after one rotation (and the new kid): a new key signing from ``now +
    activation_delay_s``; a previous key stays while tokens it signed may be valid, that is until
    ``keep_s`` after the key that replaced it began to sign.

    ``emergency`` (a leaked key): the new key signs at once and is the only one left, so every
    token signed before fails as soon as a container has re-read the set."""
    if emergency:
        new = {"kid": secrets.token_hex(4), "secret": _new_random(), "not_before": now}
        return json.dumps({"keys": [new]}), str(new["kid"])
    keys = sorted(
        json.loads(raw)["keys"] if raw else [], key=lambda k: int(k.get("not_before", 0)), reverse=True
    )
    kept = [
        key for i, key in enumerate(keys) if i == 0 or now < int(keys[i - 1].get("not_before", 0)) + keep_s
    ]
    new = {"kid": secrets.token_hex(4), "secret": _new_random(), "not_before": now + activation_delay_s}
    return json.dumps({"keys": [new, *kept]}), str(new["kid"])


def _new_random() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _new_signing_keys() -> str:
    return json.dumps({"keys": [{"kid": secrets.token_hex(4), "secret": _new_random()}]})


def load_data_key(params: SecureParams, param: str, max_age: int = KEY_CACHE_S) -> DataKey:
    return DataKey(base64.b64decode(params.read_or_create(param, _new_random, max_age=max_age)))


def load_sealing_key(params: SecureParams, param: str, max_age: int = KEY_CACHE_S) -> SealingKey:
    return SealingKey(base64.b64decode(params.read_or_create(param, _new_random, max_age=max_age)))


def load_signing_keys(
    params: SecureParams, param: str, max_age: int = KEY_CACHE_S, *, force: bool = False
) -> tuple[SigningKey, ...]:
    """The signing key set (cached ``max_age``; ``force``: read now, as after a token signed with
    a key the cached set lacks)."""
    return _signing_key_set(params.read_or_create(param, _new_signing_keys, max_age=max_age, force=force))


@lru_cache(maxsize=4)
def _signing_key_set(raw: str) -> tuple[SigningKey, ...]:
    """The parsed set, once per distinct value (every request reads the set: parsing its JSON and
    base64 each time was on a warm request's path)."""
    keys = json.loads(raw)["keys"]
    return tuple(
        SigningKey(k["kid"], base64.b64decode(k["secret"]), int(k.get("not_before", 0))) for k in keys
    )


@dataclass(frozen=True)
class StackKeys:
    """The stack's key material, read through the parameters port on every use (the port caches
    ``max_age`` seconds): the data key, the sealing key, the order-sealing key and the session
    signing key set. The use cases hold these bound methods, so a read goes down to the port,
    never back up to the wiring."""

    params: SecureParams
    data_param: str
    sealing_param: str
    order_param: str
    signing_param: str
    max_age: int = KEY_CACHE_S

    def data_key(self) -> DataKey:
        return load_data_key(self.params, self.data_param, self.max_age)

    def sealing_key(self) -> SealingKey:
        return load_sealing_key(self.params, self.sealing_param, self.max_age)

    def order_key(self) -> SealingKey:
        """The order-sealing key (the orders function seals, the keys function opens)."""
        return load_sealing_key(self.params, self.order_param, self.max_age)

    def signing_keys(self, force: bool = False) -> tuple[SigningKey, ...]:
        return load_signing_keys(self.params, self.signing_param, self.max_age, force=force)


def rotate_signing_keys(
    params: SecureParams,
    param: str,
    now: int,
    *,
    activation_delay_s: int,
    keep_s: int,
    emergency: bool = False,
) -> dict[str, object]:
    """The key-rotator's one job: read the set (or none yet), rotate it, write it back."""
    try:
        current: str | None = params.read(param, max_age=0, force=True)
    except ParameterMissing:
        current = None
    raw, kid = rotated(
        current, now, activation_delay_s=activation_delay_s, keep_s=keep_s, emergency=emergency
    )
    params.write(param, raw)
    count = len(json.loads(raw)["keys"])
    signs_from = now if emergency else now + activation_delay_s
    return {"ok": True, "kid": kid, "not_before": signs_from, "keys": count, "emergency": emergency}
