"""The HTTP API's bodies (docs/api.md). Requests refuse unknown fields and coercion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

# What the use cases answer; the routes send them as they are.
from ..answers import (
    BIZ_REF_PATTERN,
    OPENID_PATTERN,
    KeyAnswerV1,
    KeyAnswerV2,
    ResultAnswer,
    SessionAnswer,
    UserResultAnswer,
)

__all__ = [
    "OPENID_PATTERN",
    "ErrorAnswer",
    "KeyAnswer",
    "KeyAnswerV1",
    "KeyAnswerV2",
    "KeyRequest",
    "ResultAnswer",
    "ResultRequest",
    "ResultRequestV1",
    "ResultRequestV2",
    "SessionAnswer",
    "SessionRequest",
    "UserResultAnswer",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SessionRequest(_Request):
    code: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="The code from wx.login: single-use, valid 5 minutes (a bad or used one is a 400)",
    )


class KeyRequest(_Request):
    # Lengths are generous; wxface.identity decides what is valid and says why (a 400).
    name: str = Field(
        max_length=256,
        repr=False,
        description="As on the ID card: 2-64 characters after trimming, letters required; middle-dot "
        "variants (·•‧・) are read as ·",
    )
    id_card_number: str = Field(
        max_length=64,
        repr=False,
        description="18-character resident ID number (GB 11643-1999): a real birth date, a valid check "
        "character; a final x is read as X; 15-digit numbers are refused",
    )
    biz_ref: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=BIZ_REF_PATTERN,
        description="The business's own reference (an order, an account; never personal data): kept "
        "with the key and its result, returned in the result",
    )


class ResultRequestV1(_Request):
    verify_result: str = Field(min_length=1, max_length=512)

    @property
    def api_version(self) -> Literal[1]:
        return 1

    @property
    def reference(self) -> str:
        return self.verify_result


class ResultRequestV2(_Request):
    verify_id: str = Field(min_length=1, max_length=256)

    @property
    def api_version(self) -> Literal[2]:
        return 2

    @property
    def reference(self) -> str:
        return self.verify_id


# One document serves both face API versions: a deployment uses one of each pair.
class KeyAnswer(RootModel[Annotated[KeyAnswerV1 | KeyAnswerV2, Field(discriminator="api_version")]]):
    """1.0: ``user_id_key``; 2.0: ``verify_id`` (``api_version`` tells which)."""


ResultRequest = ResultRequestV1 | ResultRequestV2


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    wechat_errcode: int | None
    request_id: str


class ErrorAnswer(BaseModel):
    error: ErrorDetail
