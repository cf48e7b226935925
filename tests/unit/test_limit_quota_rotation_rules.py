"""The rules behind the hardening, without AWS: WeChat's day, quota blocks, the Idempotency-Key
format, signing-key rotation and the AppSecret re-read."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxface.api.errors import from_domain
from wxface.domain.errors import DomainError, QuotaGuardRefused, RateLimited
from wxface.domain.idempotency import checked_key
from wxface.domain.limits import QuotaPolicy, wechat_day
from wxface.domain.stack_keys import SigningKey, active_signing_key, rotated
from wxface.domain.tokens import with_app_secret
from wxface.settings import Settings, SettingsError
from wxface.wechat.errors import WeChatApiError, error_for_errcode

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def test_wechat_days_turn_at_beijing_midnight() -> None:
    assert wechat_day(at("2026-11-28T15:59:59+00:00")) == ("20261128", 1)
    assert wechat_day(at("2026-11-28T16:00:00+00:00")) == ("20261129", 86400)
    day, left = wechat_day(at("2026-11-29T06:00:00+08:00"))
    assert (day, left) == ("20261129", 18 * 3600)


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_the_seconds_left_always_reach_the_next_beijing_midnight(now: float) -> None:
    day, left = wechat_day(now)
    assert 1 <= left <= 86400
    assert dt.datetime.fromtimestamp(now, BEIJING).strftime("%Y%m%d") == day
    assert dt.datetime.fromtimestamp(now + left, BEIJING).strftime("%Y%m%d") != day


def test_quota_blocks_are_exact_for_small_quotas_and_at_most_50() -> None:
    assert [QuotaPolicy.block(budget) for budget in (20, 12_500, 100_000, 1_000_000, 0)] == [1, 6, 50, 50, 50]


def test_the_hourly_budget_is_three_even_hourly_shares_and_priorities_order_the_refusals() -> None:
    policy = QuotaPolicy({"/face": 100_000})
    assert policy.hourly("/face") == 12_500 and policy.hourly("/unknown") == 0
    assert QuotaPolicy({"/face": 100_000}, hourly_share=0).hourly("/face") == 0
    hourly = [policy.refuse_at(1000, p, daily=False) for p in ("unbound", "photo", "new", "bound")]
    # lookups with no key here first, then the business's photos, new keys, bound lookups last
    assert hourly == [800, 900, 950, 1000]
    daily = [policy.refuse_at(100_000, p, daily=True) for p in ("unbound", "photo", "new", "bound")]
    assert daily == [80_000, 90_000, 95_000, None]  # a started face check is never refused by the day


VISIBLE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128)


@given(VISIBLE)
def test_any_visible_ascii_key_up_to_128_is_taken_as_is(key: str) -> None:
    assert checked_key(key) == key


@given(st.text(max_size=200))
def test_anything_else_is_a_400(key: str) -> None:
    if re.fullmatch(r"[\x21-\x7e]{1,128}", key):
        return
    with pytest.raises(DomainError) as refused:
        checked_key(key)
    mapped = from_domain(refused.value)  # the domain refuses, the edge answers
    assert (mapped.status, mapped.code) == (400, "invalid_idempotency_key")


def test_no_header_no_idempotency() -> None:
    assert checked_key(None) is None


def kids(raw: str) -> list[str]:
    return [k["kid"] for k in json.loads(raw)["keys"]]


def test_rotation_signs_late_and_keeps_old_keys_until_their_tokens_expired() -> None:
    t0 = 1_800_000_000
    first, k1 = rotated(None, t0, activation_delay_s=0, keep_s=3660)
    second, k2 = rotated(first, t0 + 30 * 86400, activation_delay_s=360, keep_s=3660)
    assert kids(second) == [k2, k1]
    keys = tuple(SigningKey(k["kid"], b"x", k["not_before"]) for k in json.loads(second)["keys"])
    assert active_signing_key(keys, t0 + 30 * 86400 + 359).kid == k1  # not every cache has k2 yet
    assert active_signing_key(keys, t0 + 30 * 86400 + 360).kid == k2
    # k1 stopped signing at k2's not_before: kept while its last tokens may live.
    third, k3 = rotated(second, t0 + 30 * 86400 + 360 + 3659, activation_delay_s=360, keep_s=3660)
    assert kids(third) == [k3, k2, k1]
    fourth, k4 = rotated(third, t0 + 30 * 86400 + 360 + 3660, activation_delay_s=360, keep_s=3660)
    assert kids(fourth) == [k4, k3, k2]


def test_a_key_set_from_before_rotation_existed_still_loads() -> None:
    old = json.dumps({"keys": [{"kid": "a1", "secret": "eA=="}]})
    raw, kid = rotated(old, 1_800_000_000, activation_delay_s=10, keep_s=100)
    assert kids(raw) == [kid, "a1"]


def bad_secret() -> WeChatApiError:
    return WeChatApiError("/sns/jscode2session", 40125, "invalid appsecret")


def test_40125_re_reads_the_secret_once_and_retries_once() -> None:
    reads: list[bool] = []
    sent: list[str] = []

    def read(force: bool) -> str:
        reads.append(force)
        return "new" if force else "old"

    def call(secret: str) -> str:
        sent.append(secret)
        if secret == "old":
            raise bad_secret()
        return "ok"

    assert with_app_secret(read, call) == "ok"
    assert (reads, sent) == ([False, True], ["old", "new"])

    def always_bad(secret: str) -> str:
        sent.append(secret)
        raise bad_secret()

    sent.clear()
    with pytest.raises(WeChatApiError):
        with_app_secret(read, always_bad)
    assert sent == ["old", "new"]  # one re-read, never a loop


@pytest.mark.parametrize(
    ("endpoint", "re_read"), [("/cgi-bin/stable_token", True), ("/sns/jscode2session", False)]
)
def test_40001_re_reads_the_secret_only_where_a_token_endpoint_means_the_appsecret(
    endpoint: str, re_read: bool
) -> None:
    reads: list[bool] = []

    def read(force: bool) -> str:
        reads.append(force)
        return "s"

    def call(secret: str) -> str:
        raise error_for_errcode(endpoint, 40001, "invalid credential")

    with pytest.raises(WeChatApiError):
        with_app_secret(read, call)
    assert reads == ([False, True] if re_read else [False])


def test_other_errcodes_are_not_a_reason_to_re_read() -> None:
    reads: list[bool] = []

    def read(force: bool) -> str:
        reads.append(force)
        return "s"

    def call(secret: str) -> str:
        raise WeChatApiError("/sns/jscode2session", 40029, "invalid code")

    with pytest.raises(WeChatApiError):
        with_app_secret(read, call)
    assert reads == [False]


BASE = {"PARAM_PATH": "/p", "FACE_API_VERSION": "2"}


def test_quotas_merge_over_the_defaults_and_bad_ones_are_refused() -> None:
    s = Settings.from_env({**BASE, "WECHAT_DAILY_QUOTAS": '{"/cityservice/face/identify/getverifyid": 20}'})
    assert s.wechat_daily_quotas["/cityservice/face/identify/getverifyid"] == 20
    assert s.wechat_daily_quotas["/cityservice/face/identify/queryverifyinfo"] == 100_000
    for bad in ("[1]", "{", '{"getverifyid": 20}', '{"/x": -1}', '{"/x": "20"}'):
        with pytest.raises(SettingsError):
            Settings.from_env({**BASE, "WECHAT_DAILY_QUOTAS": bad})


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (RateLimited(retry_after=5, scope="keys"), ("face-check keys", "凭证")),
        (RateLimited(retry_after=5, scope="lookups"), ("looked up results", "查询")),
        (RateLimited(retry_after=5, scope="erasures"), ("erased", "删除")),
        (RateLimited(retry_after=5, scope="sessions-by-address"), ("logins from this network", "登录")),
        (QuotaGuardRefused(retry_after=5, what="keys"), ("new face checks", "新核身")),
        (QuotaGuardRefused(retry_after=5, what="lookups"), ("looking up face-check results", "查询")),
        (QuotaGuardRefused(retry_after=5, what="logins"), ("logins", "登录")),
    ],
)
def test_each_refusal_names_what_was_refused(error: DomainError, named: tuple[str, str]) -> None:
    answered = from_domain(error)
    assert answered.status == 429 and answered.headers == {"Retry-After": "5"}
    assert named[0] in answered.message and named[1] in answered.message_zh


@pytest.mark.parametrize(
    ("endpoint", "what"),
    [
        ("/cityservice/face/identify/getverifyid", "keys"),
        ("/cityservice/face/identify/queryverifyinfo", "lookups"),
        ("/cityservice/face/identify/getinfo", "lookups"),
    ],
)
def test_the_quota_guard_says_which_calls_it_refused(endpoint: str, what: str) -> None:
    from tests.support.memory import MemoryStore
    from wxface.domain.limits import QuotaGuard

    guard = QuotaGuard(
        MemoryStore(), QuotaPolicy({endpoint: 24}), report=lambda *r: None, clock=lambda: 1.0e9
    )
    for _ in range(3):  # an hourly budget of 3 x 24 / 24
        guard.admit(endpoint)
    with pytest.raises(QuotaGuardRefused) as refused:
        guard.admit(endpoint)
    assert refused.value.what == what
