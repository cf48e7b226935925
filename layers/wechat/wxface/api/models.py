"""The HTTP API's bodies (docs/api.md), as msgspec Structs. Requests refuse unknown fields and
coercion (msgspec's strict conversion)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

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
from .router import OneOf

__all__ = [
    "DOCUMENTED",
    "KEY_ANSWER",
    "KEY_REQUEST",
    "OPENID_PATTERN",
    "ORDER_ID_PATTERN",
    "RESULT_REQUEST",
    "ErrorAnswer",
    "KeyAnswerV1",
    "KeyAnswerV2",
    "KeyRequest",
    "KeyRequestByOrder",
    "KeyRequestTyped",
    "OneOf",
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


class _Request(Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class SessionRequest(_Request, frozen=True, kw_only=True):
    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=128,
            pattern=r"^[\x21-\x7e]+$",
            description="The code from wx.login: single-use, valid 5 minutes (a bad or used one is a 400)",
        ),
    ]


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


# What the OpenAPI document says of a field beyond what the model enforces (a bound: the identity
# rules do the rest), by model and field: tools/openapi.py writes it over the generated schema.
DOCUMENTED: dict[str, dict[str, dict[str, Any]]] = {}

Name = Annotated[
    str,
    Meta(
        max_length=256,  # what the model enforces: a bound; the identity rules do the rest
        description="As on the ID card: 2-64 characters, letters required; words separated by single "
        "spaces; the middle dot · between the parts of a name. (The API also accepts other scripts, "
        "surrounding spaces and the middle-dot variants •‧・, which it reads as ·.)",
    ),
]
IdCardNumber = Annotated[
    str,
    Meta(
        max_length=64,
        description="18-character resident ID number (GB 11643-1999): a birth date that exists and is "
        "not in the future, and a valid check character (a final x is read as X); 15-digit "
        "first-generation numbers are refused. The schema cannot check the check character nor "
        "the calendar: the API answers 400 invalid_id_card_number.",
    ),
]
BizRef = Annotated[
    Annotated[str, Meta(min_length=1, max_length=64, pattern=BIZ_REF_PATTERN)] | None,
    Meta(
        description="The business's own reference (an order, an account; never personal data): kept "
        "with the key and its result, returned in the result",
    ),
]
_IDENTITY_DOCUMENTED = {
    "name": {"minLength": 2, "maxLength": 64, "pattern": NAME_PATTERN},
    "id_card_number": {"minLength": 18, "maxLength": 18, "pattern": ID_CARD_NUMBER_PATTERN},
}


class KeyRequestTyped(_Request, frozen=True, kw_only=True):
    """The identity typed by the user (with the business's optional ``biz_ref``)."""

    name: Name
    id_card_number: IdCardNumber
    biz_ref: BizRef = None

    def __repr__(self) -> str:  # a name and an ID number: never shown
        return f"{type(self).__name__}(biz_ref={self.biz_ref!r})"


class KeyRequestByOrder(_Request, frozen=True, kw_only=True):
    """The identity of an order the business's servers created for this user (nothing else:
    the order's identity and biz_ref are the business's)."""

    order_id: Annotated[
        str,
        Meta(
            pattern=ORDER_ID_PATTERN,
            description="The order the business's servers created (POST /v1/face/orders) for this user",
        ),
    ]


# A key for a typed identity or for a business's order; a body with both fits neither (400).
KeyRequest = KeyRequestTyped | KeyRequestByOrder
KEY_REQUEST = OneOf((KeyRequestTyped, KeyRequestByOrder))


class OrderRequest(KeyRequestTyped, frozen=True, kw_only=True):
    """``POST /v1/face/orders``: whom the business wants verified (the identity as for a typed
    key, and the user it is for)."""

    openid: Annotated[
        str, Meta(pattern=OPENID_PATTERN, description="The user (WeChat's openid for this app)")
    ]


DOCUMENTED.update(
    {KeyRequestTyped.__name__: _IDENTITY_DOCUMENTED, OrderRequest.__name__: _IDENTITY_DOCUMENTED}
)


class ResultRequestV1(_Request, frozen=True, kw_only=True):
    API_VERSION = 1

    verify_result: Annotated[str, Meta(min_length=1, max_length=512)]

    @property
    def api_version(self) -> Literal[1]:
        return 1

    @property
    def reference(self) -> str:
        return self.verify_result


class ResultRequestV2(_Request, frozen=True, kw_only=True):
    API_VERSION = 2

    verify_id: Annotated[str, Meta(min_length=1, max_length=256)]

    @property
    def api_version(self) -> Literal[2]:
        return 2

    @property
    def reference(self) -> str:
        return self.verify_id


# One document serves both face API versions: a deployment uses one of each pair.
KEY_ANSWER = OneOf(
    (KeyAnswerV1, KeyAnswerV2),
    name="KeyAnswer",
    description="1.0: ``user_id_key``; 2.0: ``verify_id`` (``api_version`` tells which).",
)

ResultRequest = ResultRequestV1 | ResultRequestV2
RESULT_REQUEST = OneOf((ResultRequestV1, ResultRequestV2))


class ErrorDetail(Struct, kw_only=True):
    code: str
    message: str
    message_zh: str
    wechat_errcode: int | None
    request_id: str


class ErrorAnswer(Struct, kw_only=True):
    error: ErrorDetail
