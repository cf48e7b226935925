"""Secret key material this stack owns (created on first use, kept in SSM SecureString).

- the *data key*: HMAC key for what the table stores instead of personal values (the openid,
  WeChat's MD5s of name and number), so a table dump reveals nothing brute-forceable without it;
- the *session signing keys*: HS256 keys for session tokens, newest first (rotation keeps the
  previous ones for verification until their tokens expire).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from ..dal.params import read_or_create_secure

KEY_CACHE_S = 300


def sha256_hex(value: str) -> str:
    """Table keys for WeChat references (user_id_key, verify_id, verify_result): never in clear."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


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

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _new_random() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _new_signing_keys() -> str:
    return json.dumps({"keys": [{"kid": secrets.token_hex(4), "secret": _new_random()}]})


def load_data_key(param: str) -> DataKey:
    return DataKey(base64.b64decode(read_or_create_secure(param, _new_random, max_age=KEY_CACHE_S)))


def load_signing_keys(param: str) -> tuple[SigningKey, ...]:
    raw = json.loads(read_or_create_secure(param, _new_signing_keys, max_age=KEY_CACHE_S))
    return tuple(SigningKey(k["kid"], base64.b64decode(k["secret"])) for k in raw["keys"])
