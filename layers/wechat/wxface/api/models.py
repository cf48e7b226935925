"""The HTTP API's bodies (../shared/contract.md). Requests refuse unknown fields and coercion."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SessionRequest(_Request):
    code: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")


class KeyRequest(_Request):
    # Lengths are generous; wxface.identity decides what is valid and says why.
    name: str = Field(max_length=256, repr=False)
    id_card_number: str = Field(max_length=64, repr=False)


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
