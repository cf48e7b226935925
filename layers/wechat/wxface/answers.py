"""What the use cases answer: the API's 200 bodies, independent of HTTP (the routes send them
as they are, ``api/models.py`` describes them in the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# The business's own reference on a key and its result: 1-64 of these, never personal data.
BIZ_REF_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# An openid in a path (the business's route): WeChat's are 28 URL-safe characters; room to spare.
OPENID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# An order the business's servers created: "ord_" and 128 random bits in lower-case hex.
ORDER_ID_PATTERN = r"^ord_[0-9a-f]{32}$"


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
    biz_ref: str | None = None  # the business's reference given with the key (None: none given)
    # Who chose the identity checked: "user" (typed in the mini-program, or a 1.0 check not bound
    # to a key issued here) or "business" (an order its servers created); and that order.
    order_id: str | None = None
    identity_source: Literal["user", "business"] = "user"


class UserResultAnswer(ResultAnswer):
    """A user's newest stored result, as the business's servers read it (with whose it is)."""

    openid: str


OrderStatus = Literal["open", "expired", "cancelled", "passed"]


class OrderCreated(BaseModel):
    order_id: str
    expires_in: int


class OrderAnswer(BaseModel):
    """An order as the business's servers read it (never its identity)."""

    order_id: str
    openid: str
    biz_ref: str | None
    status: OrderStatus
    attempts: int  # keys issued from it
    created_at: int
    expires_at: int  # no new key from then on
    result: ResultAnswer | None  # the passing result of a passed order, else its latest stored one


class PhotoAnswer(BaseModel):
    """The verification photo of a passed order, as WeChat's ``getimage`` sent it."""

    content_type: str
    image_base64: str = Field(repr=False)
