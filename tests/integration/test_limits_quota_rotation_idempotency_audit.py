"""Hardening over HTTP through the local stack: abuse limits, the WeChat quota guard, signing-key
and AppSecret rotation, idempotent key issuance, the audit trail.

One stack of its own (face API 2.0) with small limits, started with ``--parameter-overrides``
as an operator would deploy them. Each test logs its users in from its own loopback address
(127.x.y.z all reach the local API), since logins are limited per client address.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.iam import OPERATOR_ACCESS_KEY_ID, OPERATOR_SECRET_ACCESS_KEY
from tests.support.people import ALICE, BOB, CAROL, PEOPLE
from tests.support.stack import RunningStack, start_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GETVERIFYID = "/cityservice/face/identify/getverifyid"
QUOTA = 20  # getverifyid's daily quota in this stack: alarm at 16 calls (80 %), refuse past 19 (95 %)
OVERRIDES = {
    "KeyLimitPerHour": "3",
    "LookupLimitPerHour": "4",
    "SessionLimitPerAddressPerHour": "5",
    "SessionSlowedPerMinute": "2",
    "WeChatDailyQuotas": json.dumps({GETVERIFYID: QUOTA}),
    "AuditRetentionDays": "7",
    "KeyCacheSeconds": "2",
    "SecretCacheSeconds": "600",  # long: only the 40125 re-read can pick up a new AppSecret
    # The daily quota's thresholds are what these tests drive; the hourly budget (3 x 20 / 24 = 3
    # calls) would refuse first. It has its own tests (tests/domain/test_quota_drain.py).
    "WeChatHourlyBudgetShare": "0",
}
SECRET_PARAM = "/wechat-face/app-secret"


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    args = ["--parameter-overrides", *(f"{k}={v}" for k, v in OVERRIDES.items())]
    stack = start_stack(2, tmp_path_factory.mktemp("stack-hard") / "stack.log", None, *args)
    yield stack
    stack.stop()


_addresses = iter(f"127.0.{i // 250 + 1}.{i % 250 + 2}" for i in range(10_000))


def client_from(stack: RunningStack, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=stack.api, transport=transport, timeout=30.0)


def login(stack: RunningStack, openid: str, address: str | None = None) -> str:
    code = stack.sim_control("/sim/login", {"openid": openid})["code"]
    with client_from(stack, address or next(_addresses)) as http:
        resp = http.post("/v1/session", json={"code": code})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def user() -> str:
    return f"o-hard-{uuid.uuid4().hex[:10]}"


def person(body: tuple[str, str]) -> dict[str, str]:
    return {"name": body[0], "id_card_number": body[1]}


def issue(
    stack: RunningStack, token: str, who: tuple[str, str], key: str | bytes | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return stack.call("POST", "/v1/face/keys", token, person(who), headers=headers)


def table_items(stack: RunningStack) -> list[dict[str, Any]]:
    ddb = stack.aws_client("dynamodb")
    name = ddb.list_tables()["TableNames"][0]
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=name):
        items.extend(page["Items"])
    return items


def assert_refused(resp: httpx.Response, code: str, at_most_s: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.json()["error"]["code"] == code
    assert 0 < int(resp.headers["retry-after"]) <= at_most_s


# --- limits ------------------------------------------------------------------------------------


def test_lookups_are_limited_per_user_and_erasure_has_its_own_count(hard: RunningStack) -> None:
    openid = user()
    token = login(hard, openid)
    key = hard.key_of(token, ALICE)
    hard.verify_on_phone(openid, key)
    assert hard.lookup(token, key).status_code == 200  # WeChat once, then stored
    assert hard.lookup(token, key).status_code == 200
    assert hard.lookup(token, "vid_unknown_probe").status_code == 404  # probing counts too
    assert hard.call("GET", "/v1/face/results/latest", token).status_code == 200
    assert_refused(hard.lookup(token, key), "rate_limited", 3600)
    assert_refused(hard.call("GET", "/v1/face/results/latest", token), "rate_limited", 3600)
    assert hard.call("DELETE", "/v1/me", token).status_code == 204  # erasure: its own limit
    other = login(hard, user())
    assert hard.call("GET", "/v1/face/results/latest", other).status_code == 404  # per user


def test_refused_codes_slow_an_address_but_never_shut_it_and_it_is_stored_only_hashed(
    hard: RunningStack,
) -> None:
    """A script sends bogus wx.login codes from an address many users share (carrier-grade NAT):
    past the allowance of refused codes (5 here) the address is slowed to 2 logins a minute, not
    locked: the users behind it still log in."""
    address = next(_addresses)
    with client_from(hard, address) as http:
        bogus = [http.post("/v1/session", json={"code": f"bogus-{i}"}).status_code for i in range(5)]
        calls = hard.calls_to("/sns/jscode2session")
        admitted = []
        for _ in range(2):
            code = hard.sim_control("/sim/login", {"openid": user()})["code"]
            admitted.append(http.post("/v1/session", json={"code": code}).status_code)
        code = hard.sim_control("/sim/login", {"openid": user()})["code"]
        slowed = http.post("/v1/session", json={"code": code})
    assert bogus == [400] * 5  # each reached WeChat, which refused it
    assert admitted == [200, 200]  # still admitted, at the slowed rate
    assert_refused(slowed, "rate_limited", 60)  # for seconds, not the rest of the hour
    assert "logins from this network" in slowed.json()["error"]["message"]
    assert hard.calls_to("/sns/jscode2session") == calls + 2  # the slowed one never reached WeChat
    login(hard, user(), next(_addresses))  # another address: not slowed
    assert address not in json.dumps(table_items(hard))


def test_quota_guard_alarms_at_80_percent_refuses_new_keys_past_95_and_lookups_go_on(
    hard: RunningStack,
) -> None:
    openid = user()
    token = login(hard, openid)
    early = hard.key_of(token, CAROL)  # issued before the guard closes: its lookup must work
    hard.verify_on_phone(openid, early)
    statuses: list[int] = []
    while len(statuses) < 40 and 429 not in statuses:
        statuses.extend(issue(hard, login(hard, user()), BOB).status_code for _ in range(3))
        statuses = statuses[: statuses.index(429) + 1] if 429 in statuses else statuses
    counter = next(i for i in table_items(hard) if i["pk"]["S"].startswith(f"RATE#quota#{GETVERIFYID}#"))
    assert int(counter["n"]["N"]) == math.ceil(QUOTA * 0.95)  # 19 calls, then refused
    refused = issue(hard, login(hard, user()), BOB)
    assert_refused(refused, "wechat_quota_guard", 86400)
    assert hard.calls_to(GETVERIFYID) <= QUOTA  # the refused never reached WeChat
    found = hard.lookup(token, early)
    assert found.status_code == 200 and found.json()["passed"] is True
    log = hard.log_text()
    assert '"WeChatQuotaNearlyUsed"' in log  # the alarm metric (EMF), past 80 %
    percents = [
        value
        for line in log.splitlines()
        if '"WeChatQuotaUsedPercent"' in line and GETVERIFYID in line
        for value in json.loads(line.split("] ", 1)[1])["WeChatQuotaUsedPercent"]
    ]
    assert max(percents) >= 80 and min(percents) < 80
    # A new WeChat day, for the tests after this one (block size is 1 here: no container holds any).
    ddb = hard.aws_client("dynamodb")
    ddb.delete_item(
        TableName=ddb.list_tables()["TableNames"][0], Key={"pk": counter["pk"], "sk": counter["sk"]}
    )


# --- idempotent key issuance -------------------------------------------------------------------


def test_idempotency_key_replays_the_answer_without_wechat_and_counts_once(hard: RunningStack) -> None:
    hard.sim_control("/sim/reset")
    token = login(hard, user())
    first = issue(hard, token, ALICE, "tap-1")
    assert first.status_code == 200, first.text
    for _ in range(3):  # retries of the same action: same answer, no WeChat call, not counted
        again = issue(hard, token, ALICE, "tap-1")
        assert again.status_code == 200 and again.json() == first.json()
    assert hard.calls_to(GETVERIFYID) == 1
    conflict = issue(hard, token, BOB, "tap-1")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict"
    assert ALICE[1] not in conflict.text and BOB[1] not in conflict.text
    # Another user's identical key is their own.
    theirs = issue(hard, login(hard, user()), ALICE, "tap-1")
    assert theirs.status_code == 200 and theirs.json()["verify_id"] != first.json()["verify_id"]
    # The limit (3 an hour here) counted tap-1 once: two more actions, then 429.
    assert issue(hard, token, ALICE, "tap-2").status_code == 200
    assert issue(hard, token, ALICE).status_code == 200  # no header: plain issuance, counted
    assert_refused(issue(hard, token, ALICE, "tap-3"), "rate_limited", 3600)
    assert issue(hard, token, ALICE, "tap-1").json() == first.json()  # replays still answer


def test_a_malformed_idempotency_key_is_a_400_before_anything_counts(hard: RunningStack) -> None:
    hard.sim_control("/sim/reset")
    token = login(hard, user())
    bad_keys: list[str | bytes] = ["x" * 129, "has space", "中文".encode()]
    for bad in bad_keys:
        resp = issue(hard, token, ALICE, bad)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_idempotency_key"
    assert hard.calls_to(GETVERIFYID) == 0
    assert issue(hard, token, ALICE, "ok-key").status_code == 200


# --- rotation ----------------------------------------------------------------------------------


def kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def rotate(stack: RunningStack, payload: bytes = b"{}") -> dict[str, Any]:
    resp = stack.aws_client("lambda").invoke(FunctionName="wechat-face-local-key-rotator", Payload=payload)
    answer: dict[str, Any] = json.loads(resp["Payload"].read())
    assert answer["ok"] is True, answer
    return answer


def test_signing_key_rotation_mid_run_throws_no_logged_in_user_out(hard: RunningStack) -> None:
    openid = user()
    before = login(hard, openid)
    key = hard.key_of(before, CAROL)
    hard.verify_on_phone(openid, key)
    rotated = rotate(hard)
    assert rotated["kid"] != kid(before)
    # Until the new key may sign, logins keep signing with the old one; afterwards, the new one.
    deadline = time.time() + 30
    while kid(login(hard, user())) != rotated["kid"]:
        assert time.time() < rotated["not_before"] + 10 and time.time() < deadline
        time.sleep(0.5)
    assert time.time() >= rotated["not_before"]
    # The user who logged in before the rotation stays in, on every function.
    assert hard.lookup(before, key).status_code == 200
    assert hard.call("GET", "/v1/face/results/latest", before).status_code == 200
    after = login(hard, openid)
    assert kid(after) == rotated["kid"]
    assert hard.call("GET", "/v1/face/results/latest", after).status_code == 200
    # A second rotation still keeps the first key: its tokens have not expired yet.
    second = rotate(hard)
    assert second["keys"] == 3
    assert hard.call("GET", "/v1/face/results/latest", before).status_code == 200
    assert issue(hard, before, DAVE_LIKE).status_code in (200, 429)  # authenticated either way
    assert issue(hard, login(hard, user()), CAROL).status_code == 200


DAVE_LIKE = PEOPLE[3]


def test_an_emergency_rotation_ends_every_older_token_within_the_key_cache_age(hard: RunningStack) -> None:
    """The runbook's leak procedure: after it, a token signed with the retired key fails on every
    function within KeyCacheSeconds (2 s on this stack, 60 by default); logins keep working."""
    before = login(hard, user())
    assert hard.call("GET", "/v1/face/results/latest", before).status_code == 404  # valid, nothing yet
    rotated = rotate(hard, b'{"emergency": true}')
    assert (rotated["emergency"], rotated["keys"]) == (True, 1)
    started = time.monotonic()
    # (Polling spends this user's small lookup limit: a 429 until the 401 comes is expected.)
    while hard.call("GET", "/v1/face/results/latest", before).status_code != 401:
        assert time.monotonic() - started < 2 + 3  # the cache age, and a margin for this machine
        time.sleep(0.2)
    time.sleep(2.5)  # every container has re-read the set by now
    assert issue(hard, before, CAROL).status_code == 401
    after = login(hard, user())
    assert kid(after) == rotated["kid"]
    assert hard.call("GET", "/v1/face/results/latest", after).status_code == 404
    assert issue(hard, after, CAROL).status_code == 200


def test_a_new_app_secret_is_picked_up_on_40125_with_exactly_one_re_read(hard: RunningStack) -> None:
    ssm = hard.aws_client("ssm")
    login(hard, user())  # the session function has the current secret cached (for 600 s here)
    hard.sim_control("/sim/app-secret", {"secret": "rotated-secret-2"})  # reset in WeChat's console
    ssm.put_parameter(Name=SECRET_PARAM, Value="rotated-secret-2", Type="SecureString", Overwrite=True)
    hard.sim_control("/sim/reset")
    login(hard, user())  # 40125 with the cached secret, then the new one from SSM
    assert hard.calls_to("/sns/jscode2session") == 2
    refreshed = hard.aws_client("lambda").invoke(
        FunctionName="wechat-face-local-token-refresher", Payload=b"{}"
    )
    assert json.loads(refreshed["Payload"].read())["ok"] is True  # the refresher too
    # A secret reset in WeChat but not put into SSM: one re-read, then a generic 502 (the public
    # learns nothing of the configuration; the log names the errcode).
    hard.sim_control("/sim/app-secret", {"secret": "rotated-secret-3"})
    hard.sim_control("/sim/reset")
    code = hard.sim_control("/sim/login", {"openid": user()})["code"]
    with client_from(hard, next(_addresses)) as http:
        failed = http.post("/v1/session", json={"code": code})
    error = failed.json()["error"]
    assert (failed.status_code, error["code"], error["wechat_errcode"]) == (502, "wechat_error", None)
    assert "secret" not in failed.text.lower()
    assert hard.calls_to("/sns/jscode2session") == 2
    assert '"errcode":40125' in hard.log_text().replace(" ", "")
    ssm.put_parameter(Name=SECRET_PARAM, Value="rotated-secret-3", Type="SecureString", Overwrite=True)
    login(hard, user())


# --- audit -------------------------------------------------------------------------------------


def test_audit_records_say_who_when_and_how_without_personal_data(hard: RunningStack) -> None:
    from wxface.domain.stack_keys import DataKey

    openid = user()
    token = login(hard, openid)
    key = hard.key_of(token, ALICE)
    hard.verify_on_phone(openid, key, result_code=10004)  # a failed face check
    assert hard.lookup(token, key).json()["passed"] is False
    assert hard.call("DELETE", "/v1/me", token).status_code == 204
    # The operator, who knows the openid from their own records, computes its HMAC.
    ssm = hard.aws_client("ssm")
    raw = ssm.get_parameter(Name="/wechat-face-local/data-hmac-key", WithDecryption=True)["Parameter"][
        "Value"
    ]
    owner = DataKey(base64.b64decode(raw)).owner(openid)
    items = table_items(hard)
    audit = sorted((i for i in items if i["pk"]["S"] == f"AUDIT#{owner}"), key=lambda i: i["sk"]["S"])
    assert [(i["route"]["S"], i["outcome"]["S"]) for i in audit] == [
        ("POST /v1/face/keys", "issued"),
        ("POST /v1/face/results", "not_passed"),
        ("DELETE /v1/me", "erased"),
    ]
    assert audit[1]["result_code"]["N"] == "10004"
    now = time.time()
    for item in audit:
        assert now - 60 <= int(item["at"]["N"]) <= now + 1
        assert abs(int(item["ttl"]["N"]) - (now + 7 * 86400)) < 120  # AuditRetentionDays=7
    # Erasure removed the user's keys and results, not the audit trail.
    assert not [
        i for i in items if i.get("owner", {}).get("S") == owner and not i["pk"]["S"].startswith("AUDIT#")
    ]
    dump = json.dumps(items, ensure_ascii=False)
    assert openid not in dump
    # The operator's tool gives the same answer from the openid alone.
    env = {**os.environ, "AWS_ENDPOINT_URL": hard.aws, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": OPERATOR_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": OPERATOR_SECRET_ACCESS_KEY}  # fmt: skip
    table = hard.aws_client("dynamodb").list_tables()["TableNames"][0]
    tool = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "audit.py"), "--stack", "wechat-face-local", "--table", table,
         "--openid", openid], env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    trail = [json.loads(line) for line in tool.stdout.splitlines()]
    assert [(t["route"], t["outcome"], t["result_code"]) for t in trail] == [
        ("POST /v1/face/keys", "issued", None),
        ("POST /v1/face/results", "not_passed", 10004),
        ("DELETE /v1/me", "erased", None),
    ]
    for name, number in PEOPLE:
        assert name not in dump and number not in dump


def test_nothing_personal_or_secret_in_this_stacks_log_last_in_this_module(hard: RunningStack) -> None:
    log = hard.log_text()
    assert "rotated-secret" not in log and "sim-app-secret" not in log
    for name, number in PEOPLE:
        assert name not in log and number not in log
    assert "127.0.1." not in log  # client addresses are not logged
