"""What the use cases answer: the API's 200 bodies, independent of HTTP (the routes send them
as they are, ``api/models.py`` describes them in the OpenAPI document). msgspec Structs: JSON
in and out with :func:`to_json` / :func:`from_json`."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec
from msgspec import Struct

# The business's own reference on a key and its result: 1-64 of these, never personal data.
BIZ_REF_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# An openid in a path (the business's route): WeChat's are 28 URL-safe characters; room to spare.
OPENID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# An order the business's servers created: "ord_" and 128 random bits in lower-case hex.
ORDER_ID_PATTERN = r"^ord_[0-9a-f]{32}$"


class Answer(Struct, kw_only=True):
    """An answer of the API (every field sent, its defaults too)."""


A = TypeVar("A", bound=Answer)


def to_json(answer: Answer) -> str:
    return msgspec.json.encode(answer).decode("utf-8")


def from_json(body: str | bytes, kind: type[A]) -> A:
    """An answer stored as :func:`to_json` wrote it."""
    return msgspec.json.decode(body, type=kind)


def to_dict(answer: Answer) -> dict[str, Any]:
    """The answer as JSON-ready builtins (what an idempotency record keeps)."""
    data: dict[str, Any] = msgspec.to_builtins(answer)
    return data


def from_dict(data: dict[str, Any], kind: type[A]) -> A:
    return msgspec.convert(data, type=kind)


class SessionAnswer(Answer, kw_only=True):
    token: str
    expires_in: int

    def __repr__(self) -> str:  # the token is a credential
        return f"SessionAnswer(token='**********', expires_in={self.expires_in})"


class KeyAnswerV1(Answer, kw_only=True):
    api_version: Literal[1] = 1
    user_id_key: str
    expires_in: int


class KeyAnswerV2(Answer, kw_only=True):
    api_version: Literal[2] = 2
    verify_id: str
    expires_in: int


class ResultAnswer(Answer, kw_only=True):
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


class UserResultAnswer(ResultAnswer, kw_only=True):
    """A user's newest stored result, as the business's servers read it (with whose it is)."""

    openid: str


OrderStatus = Literal["open", "expired", "cancelled", "passed"]


class OrderCreated(Answer, kw_only=True):
    order_id: str
    expires_in: int


class OrderAnswer(Answer, kw_only=True):
    """An order as the business's servers read it (never its identity)."""

    order_id: str
    openid: str
    biz_ref: str | None
    status: OrderStatus
    attempts: int  # keys issued from it
    created_at: int
    expires_at: int  # no new key from then on
    result: ResultAnswer | None  # the passing result of a passed order, else its latest stored one


class PhotoAnswer(Answer, kw_only=True):
    """The verification photo of a passed order, as WeChat's ``getimage`` sent it."""

    content_type: str
    image_base64: str

    def __repr__(self) -> str:  # a face
        return f"PhotoAnswer(content_type={self.content_type!r}, image_base64='...')"
