"""The contract's errors are one table (wxface.api.errors): every code the domain or WeChat's side
names has its row there (status, English, Chinese), and no error class carries a status of its
own (an errcode's is the code catalogue's, the other table of facts)."""

from __future__ import annotations

from wxface.api.errors import _ERRORS, _REFUSALS, from_domain, from_wechat
from wxface.domain import errors as domain_errors
from wxface.wechat import errors as wechat_errors


def refusals() -> list[type[domain_errors.DomainError]]:
    import wxface.domain.sessions  # noqa: F401 - its UnknownSigningKey is a refusal too

    found: list[type[domain_errors.DomainError]] = [domain_errors.DomainError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found[1:]


def test_every_domain_refusal_has_its_code_and_row_at_the_edge_and_no_status_of_its_own() -> None:
    assert len(refusals()) > 20, "the domain's refusals"
    for cls in refusals():
        assert _REFUSALS.keys() & set(cls.__mro__), cls.__name__  # its own row, or its base's
        assert _code(cls) in _ERRORS, cls.__name__
        assert not {"code", "http_status", "status"} & set(vars(cls)), cls.__name__


def _code(cls: type[domain_errors.DomainError]) -> str:
    return next(_REFUSALS[c] for c in cls.__mro__ if c in _REFUSALS)


def test_wechats_failures_without_an_errcode_have_their_row() -> None:
    for cls in (
        wechat_errors.WeChatUnavailable,
        wechat_errors.WeChatProtocolError,
        wechat_errors.WeChatError,
    ):
        assert cls.code in _ERRORS
        assert from_wechat(cls("/x", "d")).status == _ERRORS[cls.code][0]
        assert "http_status" not in vars(cls)


def test_a_refusal_without_a_row_of_its_own_answers_its_bases() -> None:
    from wxface.domain.sessions import UnknownSigningKey

    assert from_domain(UnknownSigningKey()).code == "unauthorized"
    assert from_domain(domain_errors.SessionEnded()).status == 401
