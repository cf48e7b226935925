"""The code catalogue: every documented code, in its own code space, with both languages."""

from __future__ import annotations

import re

import pytest

from wxface.wechat.catalogue import CodeKind, all_codes, describe, describe_api, is_final, lookup

P_GETUSERIDKEY = "/cityservice/face/identify/getuseridkey"

# The seed's callback table ("回调结果说明"), which 1.0 identify_ret reuses.
SEED_CALLBACK = [
    0, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008, 10009, 10010, 10011, 10012, 10013,
    10014, 10015, 10016, 10017, 10018, 10020, 10021, 10022, 10026, 10027, 10028, 10029, 10030,
    10031, 10032, 10040, 10041, 10042, 10045, 10052, 10057, 10066, 10069, 90100, 90101, 90102,
    90103, 90104, 90105, 90106, 90107, 90108, 90109, 90199,
]  # fmt: skip

# errcode: HTTP status, from the seed's getinfo table and wechat-notes.md.
API_STATUS = {
    -1: 503,
    40001: 503,
    40014: 503,
    42001: 503,
    40013: 502,
    40125: 502,
    40164: 502,
    45009: 429,
    45011: 429,
    40029: 400,
    40163: 400,
    40226: 403,
    48001: 502,
    84001: 404,
    84002: 410,
    84003: 404,
    84006: 400,
}

# WeChat's queryverifyinfo table in its own order: 10000-10004 from the stored page, the rest as
# independent SDKs (WxJava, SKIT) transcribe it.
VERIFY_RET_FROM_10005 = [
    10005, 10006, 10007, 10008, 10010, 10012, 10013, 10014, 10015, 10016, 10017, 10018, 10020,
    10021, 10026, 10029, 10040, 10041, 10042, 10045, 10052, 10300,
]  # fmt: skip

VERIFY_RET = [
    10000,
    10001,
    10002,
    10003,
    10004,
    *VERIFY_RET_FROM_10005,
    *range(90001, 90025),
    90104,
    90105,
    90106,
    90107,
    90109,
    90110,
    90199,
]


@pytest.mark.parametrize("code", SEED_CALLBACK)
def test_seed_callback_codes_are_catalogued_for_callback_and_identify_ret(code: int) -> None:
    for kind in (CodeKind.CALLBACK, CodeKind.IDENTIFY_RET):
        info = lookup(kind, code)
        assert info is not None, (kind, code)
        assert info.http_status is None  # result codes are never HTTP errors


@pytest.mark.parametrize(("errcode", "status"), sorted(API_STATUS.items()))
def test_api_errcodes_map_to_the_contracts_http_status(errcode: int, status: int) -> None:
    info = lookup(CodeKind.API, errcode)
    assert info is not None
    assert info.http_status == status


def test_only_minus_one_is_retried_and_only_token_codes_refresh() -> None:
    api = [c for c in all_codes() if c.kind is CodeKind.API]
    assert {c.code for c in api if c.retryable} == {-1}
    assert {c.code for c in api if c.token_error} == {40001, 40014, 42001}


@pytest.mark.parametrize("code", VERIFY_RET)
def test_2_0_verify_ret_codes_are_catalogued(code: int) -> None:
    assert lookup(CodeKind.VERIFY_RET, code) is not None


def test_only_unfinished_checks_are_not_final() -> None:
    assert {(i.kind, i.code) for i in all_codes() if not i.final} == {
        (CodeKind.IDENTIFY_RET, 10005),
        (CodeKind.VERIFY_RET, 10005),
        (CodeKind.VERIFY_RET, 10300),
    }
    assert is_final(CodeKind.VERIFY_RET, 10004) and is_final(CodeKind.VERIFY_RET, 10021)
    assert is_final(CodeKind.VERIFY_RET, 12345)  # an unknown code is an outcome: not passed
    assert not is_final(CodeKind.VERIFY_RET, 10300) and not is_final(CodeKind.IDENTIFY_RET, 10005)
    assert is_final(CodeKind.IDENTIFY_RET, 10300)  # 1.0 has no 10300


@pytest.mark.parametrize("code", [10007, 10008, 10013, 10014, 10015, 10016, 10021, 10029, 10045, 10052])
def test_wechats_own_failures_tell_the_user_to_start_a_new_face_check(code: int) -> None:
    info = lookup(CodeKind.VERIFY_RET, code)
    assert info is not None and info.final
    assert "start a new face check" in info.message and "重新发起核身" in info.message_zh


@pytest.mark.parametrize("endpoint", ["/cgi-bin/token", "/cgi-bin/stable_token"])
def test_40001_at_a_token_endpoint_is_a_configuration_fault(endpoint: str) -> None:
    info = describe_api(endpoint, 40001)
    assert (info.http_status, info.config_error, info.token_error) == (502, True, False)
    assert describe_api("/cityservice/face/identify/getinfo", 40001).token_error
    assert describe_api("/sns/jscode2session", 40001).http_status == 503


def test_support_check_reuses_numbers_with_other_meanings() -> None:
    support = lookup(CodeKind.SUPPORT_CHECK, 10001)
    callback = lookup(CodeKind.CALLBACK, 10001)
    assert support is not None and callback is not None
    assert support.message_zh != callback.message_zh
    assert "摄像头" in support.message_zh
    assert {c for k, c in [(i.kind, i.code) for i in all_codes()] if k is CodeKind.SUPPORT_CHECK} == {
        0, 10001, 10002, 10003,
    }  # fmt: skip


def test_same_number_means_different_things_in_different_spaces() -> None:
    assert lookup(CodeKind.IDENTIFY_RET, 0) is not None
    assert lookup(CodeKind.VERIFY_RET, 0) is None  # 2.0 passes with 10000, not 0
    assert lookup(CodeKind.VERIFY_RET, 10000) is not None
    assert lookup(CodeKind.IDENTIFY_RET, 10000) is None


def test_every_entry_has_a_snake_case_name_and_both_languages() -> None:
    for info in all_codes():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", info.name), info
        assert info.message and info.message[0].isupper(), info
        assert re.search(r"[\u4e00-\u9fff]", info.message_zh), info
        if info.kind is CodeKind.API:
            assert info.http_status in {400, 403, 404, 410, 429, 502, 503}


def test_names_are_unique_within_a_kind() -> None:
    for kind in CodeKind:
        names = [i.name for i in all_codes() if i.kind is kind]
        assert len(names) == len(set(names)), kind


def test_unknown_codes_get_a_generic_entry() -> None:
    api = describe(CodeKind.API, 99999)
    assert api.http_status == 502
    assert "99999" in api.message and "99999" in api.message_zh
    ret = describe(CodeKind.VERIFY_RET, 10099)
    assert ret.http_status is None
    assert ret.name == "not_passed"


@pytest.mark.parametrize("errcode", [40013, 40125, 40164, 41001])
def test_configuration_problems_are_a_generic_502_that_discloses_nothing(errcode: int) -> None:
    from wxface.api.errors import from_wechat
    from wxface.wechat.errors import error_for_errcode

    answered = from_wechat(error_for_errcode("/sns/jscode2session", errcode, "invalid appsecret, rid: x"))
    assert (answered.status, answered.code, answered.wechat_errcode) == (502, "wechat_error", None)
    said = f"{answered.message} {answered.message_zh}".lower()
    assert not any(word in said for word in ("appsecret", "appid", "allow", "ip ", "白名单", "token"))


@pytest.mark.parametrize("errcode", [-1, 40001, 40014, 42001])
def test_every_wechat_503_says_when_to_try_again(errcode: int) -> None:
    """Found by the fault soak: a key request whose fresh token was refused too (WeChat changed
    tokens twice within a second) answered 503 without Retry-After."""
    from wxface.api.errors import WECHAT_RETRY_AFTER_S, from_wechat
    from wxface.wechat.errors import WeChatUnavailable, error_for_errcode

    for err in (error_for_errcode(P_GETUSERIDKEY, errcode), WeChatUnavailable(P_GETUSERIDKEY, "HTTP 502")):
        answered = from_wechat(err)
        assert answered.status == 503
        assert answered.headers == {"Retry-After": str(WECHAT_RETRY_AFTER_S)}
    assert from_wechat(error_for_errcode(P_GETUSERIDKEY, 84001)).headers == {}  # not a 503


@pytest.mark.parametrize("errcode", [40029, 40163, 40226, 84001, 84002, 84003])
def test_codes_about_the_caller_keep_their_code_and_stay_out_of_the_alarm(errcode: int) -> None:
    info = lookup(CodeKind.API, errcode)
    assert info is not None and info.caller_error and not info.config_error


def test_48001_says_the_api_must_be_enabled_and_is_not_hidden_as_configuration() -> None:
    """getimage is enabled per app on request: the operator must learn that from the answer."""
    info = lookup(CodeKind.API, 48001)
    assert info is not None and not info.config_error and not info.token_error
    assert "enabled" in info.message and "开通" in info.message_zh
