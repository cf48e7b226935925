"""The HTTP API's bodies (docs/api.md). Requests refuse unknown fields and coercion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

# What the use cases answer; the routes send them as they are.
from ..answers import (
    BIZ_REF_PATTERN,
    OPENID_PATTERN,
    ORDER_ID_PATTERN,
    KeyAnswerV1,
    KeyAnswerV2,
    OrderAnswer,
    OrderCreated,
    PhotoAnswer,
    ResultAnswer,
    SessionAnswer,
    UserResultAnswer,
)

__all__ = [
    "OPENID_PATTERN",
    "ORDER_ID_PATTERN",
    "REQUEST_MEMBER_VERSIONS",
    "ErrorAnswer",
    "KeyAnswer",
    "KeyAnswerV1",
    "KeyAnswerV2",
    "KeyRequest",
    "KeyRequestByOrder",
    "KeyRequestTyped",
    "OrderAnswer",
    "OrderCreated",
    "OrderRequest",
    "PhotoAnswer",
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


# What JSON Schema can say of the identity rules, for the OpenAPI document: a name of Latin or CJK
# letters, words separated by single spaces, with the middle dot, hyphen, apostrophe and full stop
# inside words; an 18-character number with a plausible birth date. Every value the document admits
# the API accepts (tests/unit/test_identity.py), except what no schema can say: the GB 11643 check
# character and that the birth date exists. At run time wxface.identity decides, a little more
# widely (other scripts, surrounding spaces, full-width characters), and says why in a 400
# (invalid_name, invalid_id_card_number): so these are documented, not enforced by the model.
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u3400-\u4db5\u4e00-\u9fa5"
NAME_PATTERN = f"^[{_LETTER}][{_LETTER}\u00b7.'-]*(?: [{_LETTER}][{_LETTER}\u00b7.'-]*)*$"
ID_CARD_NUMBER_PATTERN = (
    r"^[0-9]{6}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$"
)


class KeyRequestTyped(_Request):
    """The identity typed by the user (with the business's optional ``biz_ref``)."""

    name: str = Field(
        max_length=256,  # what the model enforces: a bound; the identity rules do the rest
        repr=False,
        json_schema_extra={"minLength": 2, "maxLength": 64, "pattern": NAME_PATTERN},
        description="As on the ID card: 2-64 characters, letters required; words separated by single "
        "spaces; the middle dot · between the parts of a name. (The API also accepts other scripts, "
        "surrounding spaces and the middle-dot variants •‧・, which it reads as ·.)",
    )
    id_card_number: str = Field(
        max_length=64,
        repr=False,
        json_schema_extra={"minLength": 18, "maxLength": 18, "pattern": ID_CARD_NUMBER_PATTERN},
        description="18-character resident ID number (GB 11643-1999): a birth date that exists and is "
        "not in the future, and a valid check character (a final x is read as X); 15-digit "
        "first-generation numbers are refused. The schema cannot check the check character nor "
        "the calendar: the API answers 400 invalid_id_card_number.",
    )
    biz_ref: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=BIZ_REF_PATTERN,
        description="The business's own reference (an order, an account; never personal data): kept "
        "with the key and its result, returned in the result",
    )


class KeyRequestByOrder(_Request):
    """The identity of an order the business's servers created for this user (nothing else:
    the order's identity and biz_ref are the business's)."""

    order_id: str = Field(
        pattern=ORDER_ID_PATTERN,
        description="The order the business's servers created (POST /v1/face/orders) for this user",
    )


# A key for a typed identity or for a business's order; a body with both fits neither (400).
KeyRequest = KeyRequestTyped | KeyRequestByOrder


class OrderRequest(KeyRequestTyped):
    """``POST /v1/face/orders``: whom the business wants verified (the identity as for a typed
    key, and the user it is for)."""

    openid: str = Field(pattern=OPENID_PATTERN, description="The user (WeChat's openid for this app)")


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

# The face API version each member of a request union stands for: a body that fits neither fails
# both, and its validation errors name the member they come from.
REQUEST_MEMBER_VERSIONS: dict[str, Literal[1, 2]] = {
    ResultRequestV1.__name__: 1,
    ResultRequestV2.__name__: 2,
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    wechat_errcode: int | None
    request_id: str


class ErrorAnswer(BaseModel):
    error: ErrorDetail
