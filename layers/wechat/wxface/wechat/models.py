"""Request and response models of the WeChat server APIs the product calls (msgspec Structs).

Personal and secret values are :class:`Secret`: ``repr`` and ``str`` show ``**********``. Only
:meth:`WeChatRequest.wire` reveals them, to build the body sent to WeChat; an answer's secrets
(an access token, a session_key) arrive as :class:`Secret` too (:func:`decode`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from ..identity import CERT_TYPE_IDENTITY_CARD

__all__ = [
    "AccessToken",
    "CertInfo",
    "Code2Session",
    "GetInfoRequest",
    "GetInfoResponse",
    "GetUserIdKeyRequest",
    "GetVerifyIdRequest",
    "QueryVerifyInfoRequest",
    "QueryVerifyInfoResponse",
    "Secret",
    "StableTokenRequest",
    "UserIdKey",
    "VerifyId",
    "WeChatRequest",
    "WeChatResponse",
    "decode",
]

_HIDDEN = "**********"


class Secret:
    """A personal or secret string: never shown by ``repr``, ``str`` or a log line;
    :meth:`get_secret_value` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_HIDDEN}')"

    def __str__(self) -> str:
        return _HIDDEN

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _reveal(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.get_secret_value()
    raise NotImplementedError(type(value))


def _secret(kind: type, value: Any) -> Any:
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise NotImplementedError(kind)


class WeChatRequest(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    def wire(self) -> dict[str, Any]:
        """The JSON body to send to WeChat, secrets revealed. Never log this."""
        body: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_reveal)
        return body


class WeChatResponse(Struct, frozen=True, kw_only=True):
    """Every WeChat answer carries errcode / errmsg (absent means 0 on some endpoints); fields
    WeChat adds are ignored."""

    errcode: int = 0
    errmsg: str = ""


R = TypeVar("R", bound=WeChatResponse)


def decode(content: bytes, kind: type[R]) -> R:
    """A WeChat answer read into ``kind`` (msgspec's errors quote no value)."""
    return msgspec.json.decode(content, type=kind, dec_hook=_secret)


NonEmpty = Annotated[str, Meta(min_length=1)]
NonNegative = Annotated[int, Meta(ge=0)]


# --- tokens -------------------------------------------------------------------------------------


class StableTokenRequest(WeChatRequest, frozen=True, kw_only=True):
    grant_type: Literal["client_credential"] = "client_credential"
    appid: str
    secret: Secret
    force_refresh: bool = False


class AccessToken(WeChatResponse, frozen=True, kw_only=True):
    access_token: Secret
    expires_in: NonNegative


# --- login --------------------------------------------------------------------------------------


class Code2Session(WeChatResponse, frozen=True, kw_only=True):
    openid: NonEmpty
    session_key: Secret
    unionid: str | None = None


# --- face 1.0 -----------------------------------------------------------------------------------


class GetUserIdKeyRequest(WeChatRequest, frozen=True, kw_only=True):
    name: Secret
    id_card_number: Secret


class UserIdKey(WeChatResponse, frozen=True, kw_only=True):
    user_id_key: NonEmpty
    expires_in: NonNegative


class GetInfoRequest(WeChatRequest, frozen=True, kw_only=True):
    verify_result: NonEmpty


class GetInfoResponse(WeChatResponse, frozen=True, kw_only=True):
    identify_ret: int
    identify_time: int | None = None
    validate_data: str | None = None
    openid: str | None = None
    user_id_key: str | None = None
    finish_time: int | None = None
    # Hashes of personal data (an MD5 of an ID number can be brute-forced): kept out of repr.
    id_card_number_md5: str | None = None
    name_utf8_md5: str | None = None

    def __repr__(self) -> str:
        shown = ("errcode", "identify_ret", "identify_time", "openid", "user_id_key", "finish_time")
        return f"GetInfoResponse({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"


# --- face 2.0 -----------------------------------------------------------------------------------


class CertInfo(WeChatRequest, frozen=True, kw_only=True):
    cert_type: Literal["IDENTITY_CARD"] = CERT_TYPE_IDENTITY_CARD
    cert_name: Secret
    cert_no: Secret


class GetVerifyIdRequest(WeChatRequest, frozen=True, kw_only=True):
    out_seq_no: str
    cert_info: CertInfo
    openid: str


class VerifyId(WeChatResponse, frozen=True, kw_only=True):
    verify_id: Annotated[str, Meta(min_length=1, max_length=256)]
    expires_in: NonNegative
    # Not part of WeChat's answer: the out_seq_no of the attempt that succeeded (a retried
    # getverifyid uses a fresh one), which queryverifyinfo must send back.
    out_seq_no: str = ""


class QueryVerifyInfoRequest(WeChatRequest, frozen=True, kw_only=True):
    verify_id: str
    out_seq_no: str
    cert_hash: str  # a hash of the identity: kept out of repr
    openid: str

    def __repr__(self) -> str:
        return f"QueryVerifyInfoRequest(verify_id={self.verify_id!r}, out_seq_no={self.out_seq_no!r})"


class QueryVerifyInfoResponse(WeChatResponse, frozen=True, kw_only=True):
    verify_ret: int
