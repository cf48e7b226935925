"""Identity input: GB 11643-1999 citizen ID numbers, names, and the hashes WeChat uses.

Every error raised here describes *why* a value was refused and never echoes the value itself,
so error bodies and logs stay free of personal data.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from typing import Final

__all__ = [
    "CERT_TYPE_IDENTITY_CARD",
    "InvalidIdentity",
    "cert_hash",
    "id_card_check_char",
    "id_card_number_md5",
    "is_valid_out_seq_no",
    "name_utf8_md5",
    "new_out_seq_no",
    "normalize_id_card_number",
    "normalize_name",
]

CERT_TYPE_IDENTITY_CARD: Final = "IDENTITY_CARD"

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final = "10X98765432"
_DIGITS: Final = frozenset("0123456789")

# Middle-dot look-alikes that people type in names of ethnic minorities and foreigners
# (e.g. 阿沛·阿旺晋美). ID cards print U+00B7 MIDDLE DOT, so all of them fold to it.
_MIDDLE_DOTS: Final = "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387\u16eb\u2e31"
_MIDDLE_DOT: Final = "\u00b7"
_NAME_PUNCTUATION: Final = frozenset(_MIDDLE_DOT + " -'.,")
NAME_MIN_LEN: Final = 2
NAME_MAX_LEN: Final = 64

_OUT_SEQ_NO_RE: Final = re.compile(r"[A-Za-z0-9_-]{5,32}")


class InvalidIdentity(ValueError):
    """A name or ID number that cannot be used. ``field`` names the input, never its value."""

    def __init__(self, field: str, reason: str, message: str, message_zh: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason
        self.message = message
        self.message_zh = message_zh

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def __repr__(self) -> str:
        return f"InvalidIdentity(field={self.field!r}, reason={self.reason!r})"


def _id_error(reason: str, message: str, message_zh: str) -> InvalidIdentity:
    return InvalidIdentity("id_card_number", reason, message, message_zh)


def id_card_check_char(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    if len(first17) != 17 or not set(first17) <= _DIGITS:
        raise ValueError("expected exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id_card_number(raw: str, *, today: dt.date | None = None) -> str:
    """Validate an 18-character resident ID number and return it normalised.

    Full-width characters are folded (NFKC), surrounding white space removed and a final
    lower-case ``x`` upper-cased. Checks: length, digits, a real birth date not in the
    future, and the check character.
    """
    if not isinstance(raw, str):
        raise _id_error("type", "The ID card number must be a string", "身份证号必须是字符串")
    value = unicodedata.normalize("NFKC", raw).strip()
    if len(value) == 15 and set(value) <= _DIGITS:
        raise _id_error(
            "first_generation",
            "15-digit first-generation ID card numbers are no longer accepted: "
            "use the 18-character number on the current card",
            "不再支持15位第一代身份证号码，请使用现行身份证上的18位号码",
        )
    if len(value) != 18:
        raise _id_error("length", "The ID card number must be 18 characters long", "身份证号必须为18位")
    body, check = value[:17], value[17].upper()
    if not set(body) <= _DIGITS or not (check in _DIGITS or check == "X"):
        raise _id_error(
            "characters",
            "The ID card number must be 17 digits followed by a digit or X",
            "身份证号前17位须为数字，最后一位为数字或X",
        )
    try:
        born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise _id_error(
            "birth_date", "The birth date in the ID card number does not exist", "身份证号中的出生日期不存在"
        ) from None
    if born.year < 1900 or born > (today or dt.date.today()):
        raise _id_error(
            "birth_date",
            "The birth date in the ID card number is not plausible",
            "身份证号中的出生日期不合理",
        )
    if id_card_check_char(body) != check:
        raise _id_error(
            "check_digit",
            "The ID card number's check digit is wrong: check the number",
            "身份证号校验位错误，请核对号码",
        )
    return body + check


def normalize_name(raw: str) -> str:
    """Validate a person's name as printed on an ID card and return it normalised.

    Trimmed, Unicode NFC, runs of white space collapsed, middle-dot variants folded to U+00B7;
    2 to 64 characters; letters required; digits, symbols and control characters refused.
    """
    if not isinstance(raw, str):
        raise InvalidIdentity("name", "type", "The name must be a string", "姓名必须是字符串")
    value = unicodedata.normalize("NFC", raw)
    value = " ".join(value.split())
    value = value.translate({ord(c): _MIDDLE_DOT for c in _MIDDLE_DOTS})
    if len(value) < NAME_MIN_LEN:
        raise InvalidIdentity(
            "name", "length", "The name must be at least 2 characters long", "姓名至少2个字符"
        )
    if len(value) > NAME_MAX_LEN:
        raise InvalidIdentity(
            "name", "length", "The name must be at most 64 characters long", "姓名最多64个字符"
        )
    has_letter = False
    for ch in value:
        category = unicodedata.category(ch)
        if category.startswith("L"):
            has_letter = True
        elif not (category.startswith("M") or ch in _NAME_PUNCTUATION):
            raise InvalidIdentity(
                "name",
                "characters",
                "The name may contain only letters, spaces and the middle dot (·)",
                "姓名只能包含文字、空格和间隔号（·）",
            )
    if not has_letter:
        raise InvalidIdentity("name", "characters", "The name must contain letters", "姓名必须包含文字")
    return value


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def cert_hash(cert_type: str, cert_name: str, cert_no: str) -> str:
    """WeChat 2.0 ``cert_hash``: lower-case hex SHA-256 of ``cert_type=B64&cert_name=B64&cert_no=B64``.

    Takes the strings as they are (no validation), as WeChat's own example does.
    """
    payload = f"cert_type={_b64(cert_type)}&cert_name={_b64(cert_name)}&cert_no={_b64(cert_no)}"
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def id_card_number_md5(id_card_number: str) -> str:
    """WeChat 1.0 ``id_card_number_md5``: MD5 (lower-case hex) of the number, final X upper-case."""
    value = id_card_number[:-1] + id_card_number[-1:].upper()
    return hashlib.md5(value.encode("utf-8"), usedforsecurity=False).hexdigest()


def name_utf8_md5(name: str) -> str:
    """WeChat 1.0 ``name_utf8_md5``: MD5 (lower-case hex) of the name's UTF-8 bytes."""
    return hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()


def new_out_seq_no() -> str:
    """A fresh, unguessable 2.0 ``out_seq_no``: 32 characters of ``[A-Za-z0-9_-]``."""
    return secrets.token_urlsafe(24)


def is_valid_out_seq_no(value: str) -> bool:
    """Whether ``value`` is 5 to 32 characters of ``[A-Za-z0-9_-]``."""
    return _OUT_SEQ_NO_RE.fullmatch(value) is not None
