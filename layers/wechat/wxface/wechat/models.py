"""Request and response models of the WeChat server APIs the product calls (pydantic v2).

Personal and secret values are ``SecretStr``: ``repr``, ``str`` and ordinary dumps show
``**********``. Only :meth:`WeChatRequest.wire` reveals them, to build the body sent to WeChat.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SecretStr, SerializationInfo

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
    "StableTokenRequest",
    "UserIdKey",
    "VerifyId",
    "WeChatRequest",
    "WeChatResponse",
]

_WIRE = "wire"


def _reveal_on_wire(value: SecretStr, info: SerializationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get(_WIRE):
        return value.get_secret_value()
    return str(value)


Sensitive = Annotated[SecretStr, PlainSerializer(_reveal_on_wire, return_type=str)]


# defer_build: a model's validator is built on its first use, not when the module is imported.
# Every function imports all of WeChat's models and uses one or two (a 2.0 key function never
# builds 1.0's, nor the login's): building them all was about 40 ms of every cold start.
class WeChatRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def wire(self) -> dict[str, Any]:
        """The JSON body to send to WeChat, secrets revealed. Never log this."""
        return self.model_dump(mode="json", context={_WIRE: True})


class WeChatResponse(BaseModel):
    """Every WeChat answer carries errcode / errmsg (absent means 0 on some endpoints)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    errcode: int = 0
    errmsg: str = ""


# --- tokens -------------------------------------------------------------------------------------


class StableTokenRequest(WeChatRequest):
    grant_type: Literal["client_credential"] = "client_credential"
    appid: str
    secret: Sensitive
    force_refresh: bool = False


class AccessToken(WeChatResponse):
    access_token: SecretStr
    expires_in: int = Field(ge=0)


# --- login --------------------------------------------------------------------------------------


class Code2Session(WeChatResponse):
    openid: str = Field(min_length=1)
    session_key: SecretStr
    unionid: str | None = None


# --- face 1.0 -----------------------------------------------------------------------------------


class GetUserIdKeyRequest(WeChatRequest):
    name: Sensitive
    id_card_number: Sensitive


class UserIdKey(WeChatResponse):
    user_id_key: str = Field(min_length=1)
    expires_in: int = Field(ge=0)


class GetInfoRequest(WeChatRequest):
    verify_result: str = Field(min_length=1)


class GetInfoResponse(WeChatResponse):
    identify_ret: int
    identify_time: int | None = None
    validate_data: str | None = None
    openid: str | None = None
    user_id_key: str | None = None
    finish_time: int | None = None
    # Hashes of personal data (an MD5 of an ID number can be brute-forced): kept out of repr.
    id_card_number_md5: str | None = Field(default=None, repr=False)
    name_utf8_md5: str | None = Field(default=None, repr=False)


# --- face 2.0 -----------------------------------------------------------------------------------


class CertInfo(WeChatRequest):
    cert_type: Literal["IDENTITY_CARD"] = CERT_TYPE_IDENTITY_CARD
    cert_name: Sensitive
    cert_no: Sensitive


class GetVerifyIdRequest(WeChatRequest):
    out_seq_no: str = Field(pattern=r"^[A-Za-z0-9_-]{5,32}$")
    cert_info: CertInfo
    openid: str = Field(min_length=1)


class VerifyId(WeChatResponse):
    verify_id: str = Field(min_length=1, max_length=256)
    expires_in: int = Field(ge=0)
    # Not part of WeChat's answer: the out_seq_no of the attempt that succeeded (a retried
    # getverifyid uses a fresh one), which queryverifyinfo must send back.
    out_seq_no: str = ""


class QueryVerifyInfoRequest(WeChatRequest):
    verify_id: str = Field(min_length=1)
    out_seq_no: str = Field(min_length=1)
    cert_hash: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)
    openid: str = Field(min_length=1)


class QueryVerifyInfoResponse(WeChatResponse):
    verify_ret: int
