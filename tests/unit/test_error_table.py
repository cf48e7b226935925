"""The contract's errors are one table (wxface.api.errors): every code the domain or WeChat's side
names has its row there (status, English, Chinese), and no error class carries a status of its
own (an errcode's is the code catalogue's, the other table of facts)."""

from __future__ import annotations

from wxface.api.errors import _ERRORS, from_wechat
from wxface.domain import errors as domain_errors
from wxface.wechat import errors as wechat_errors


def refusals() -> list[type[domain_errors.DomainError]]:
    found: list[type[domain_errors.DomainError]] = [domain_errors.DomainError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return [c for c in found if "code" in vars(c)]


def test_every_domain_refusal_has_its_row_and_nothing_else_names_a_status() -> None:
    assert refusals(), "the domain's refusals"
    for cls in refusals():
        assert cls.code in _ERRORS, cls.__name__
        assert not hasattr(cls, "http_status") and not hasattr(cls, "status"), cls.__name__


def test_wechats_failures_without_an_errcode_have_their_row() -> None:
    for cls in (
        wechat_errors.WeChatUnavailable,
        wechat_errors.WeChatProtocolError,
        wechat_errors.WeChatError,
    ):
        assert cls.code in _ERRORS
        assert from_wechat(cls("/x", "d")).status == _ERRORS[cls.code][0]
        assert "http_status" not in vars(cls)
