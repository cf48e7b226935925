"""The HTTP API's bodies (docs/api.md). Requests refuse unknown fields and coercion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


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


class ResultRequestV1(_Request):
    verify_result: str = Field(min_length=1, max_length=512)


class ResultRequestV2(_Request):
    verify_id: str = Field(min_length=1, max_length=256)


class SessionAnswer(BaseModel):
    token: str = Field(repr=False)
    expires_in: int


class KeyAnswerV1(BaseModel):
    api_version: Literal[1] = 1
    user_id_key: str
    expires_in: int


class KeyAnswerV2(BaseModel):
    api_version: Literal[2] = 2
    verify_id: str
    expires_in: int


# One document serves both face API versions: a deployment uses one of each pair.
class KeyAnswer(RootModel[Annotated[KeyAnswerV1 | KeyAnswerV2, Field(discriminator="api_version")]]):
    """1.0: ``user_id_key``; 2.0: ``verify_id`` (``api_version`` tells which)."""


ResultRequest = ResultRequestV1 | ResultRequestV2


class ResultAnswer(BaseModel):
    api_version: Literal[1, 2]
    passed: bool
    result_code: int
    message: str
    message_zh: str
    identity_matched: bool | None
    verified_at: int
    validate_data: str | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    wechat_errcode: int | None
    request_id: str


class ErrorAnswer(BaseModel):
    error: ErrorDetail
