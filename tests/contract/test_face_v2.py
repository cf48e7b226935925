"""Face API 2.0: getverifyid, wx.requestFacialVerify (simulated), queryverifyinfo, getimage."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.people import CAROL, DAVE
from tests.support.simulator import RunningSim, SimTokens, fast_config, start_sim
from tests.support.wechat import Calls, wechat_calls
from wxface.identity import CERT_TYPE_IDENTITY_CARD, cert_hash
from wxface.wechat.catalogue import VERIFY_PASS
from wxface.wechat.errors import WeChatApiError, WeChatProtocolError
from wxface.wechat.models import VerifyId

pytestmark = pytest.mark.integration

F = "/cityservice/face/identify"
# The simulator's placeholders where WeChat documents no errcode (84104 is no longer one: an
# unfinished check is errcode 0 with verify_ret 10300, as WeChat answers it).
SEQ_NO_USED, VERIFY_ID_EXPIRED, VERIFY_MISMATCH, VERIFY_ID_NOT_FOUND = 84101, 84102, 84103, 84105
NOT_FINISHED, STILL_CHECKING = 10300, 10005


def issue(client: Calls, openid: str = "o-carol", person: tuple[str, str] = CAROL) -> tuple[VerifyId, str]:
    answer = client.get_verify_id(person[0], person[1], openid)
    return answer, cert_hash(CERT_TYPE_IDENTITY_CARD, *person)


def query_errcode(client: Calls, verify_id: str, seq: str, chash: str, openid: str) -> int:
    with pytest.raises(WeChatApiError) as err:
        client.query_verify_info(verify_id, seq, chash, openid)
    return err.value.errcode


def test_full_flow_passes_with_the_products_cert_hash(fresh_sim: RunningSim, client: Calls) -> None:
    answer, chash = issue(client)
    assert answer.expires_in == 3600
    assert answer.verify_id and answer.out_seq_no
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
    result = client.query_verify_info(answer.verify_id, answer.out_seq_no, chash, "o-carol")
    assert result.verify_ret == VERIFY_PASS
    image = client.get_image(answer.verify_id, answer.out_seq_no, chash, "o-carol")
    assert image.startswith(b"\xff\xd8")  # a JPEG


def test_a_failed_comparison_is_a_result(fresh_sim: RunningSim, client: Calls) -> None:
    answer, chash = issue(client)
    fresh_sim.control(
        "/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id, "result_code": 10004}
    )
    assert client.query_verify_info(answer.verify_id, answer.out_seq_no, chash, "o-carol").verify_ret == 10004


def test_query_before_the_user_finished_is_errcode_0_with_verify_ret_10300(
    fresh_sim: RunningSim, client: Calls
) -> None:
    answer, chash = issue(client)
    token = SimTokens(fresh_sim.url).get()
    body = {
        "verify_id": answer.verify_id,
        "out_seq_no": answer.out_seq_no,
        "cert_hash": chash,
        "openid": "o-carol",
    }
    raw = httpx.post(f"{fresh_sim.url}{F}/queryverifyinfo", params={"access_token": token}, json=body).json()
    assert (raw["errcode"], raw["verify_ret"]) == (0, NOT_FINISHED)
    assert (
        client.query_verify_info(answer.verify_id, answer.out_seq_no, chash, "o-carol").verify_ret
        == NOT_FINISHED
    )
    with pytest.raises(WeChatProtocolError):  # no photo of a check not done
        client.get_image(answer.verify_id, answer.out_seq_no, chash, "o-carol")
    # The user finishes: the same verify_id now answers the outcome.
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
    assert (
        client.query_verify_info(answer.verify_id, answer.out_seq_no, chash, "o-carol").verify_ret
        == VERIFY_PASS
    )


def test_still_checking_is_10005_when_told_then_the_outcome(fresh_sim: RunningSim, client: Calls) -> None:
    answer, chash = issue(client)
    vid, seq = answer.verify_id, answer.out_seq_no
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": vid, "result_code": STILL_CHECKING})
    assert client.query_verify_info(vid, seq, chash, "o-carol").verify_ret == STILL_CHECKING
    with pytest.raises(WeChatProtocolError):
        client.get_image(vid, seq, chash, "o-carol")
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": vid, "result_code": 10004})
    assert client.query_verify_info(vid, seq, chash, "o-carol").verify_ret == 10004


def test_mismatched_openid_seq_or_cert_hash_are_refused(fresh_sim: RunningSim, client: Calls) -> None:
    answer, chash = issue(client)
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
    other_hash = cert_hash(CERT_TYPE_IDENTITY_CARD, *DAVE)
    vid, seq = answer.verify_id, answer.out_seq_no
    assert query_errcode(client, vid, seq, chash, "o-someone-else") == VERIFY_MISMATCH
    assert query_errcode(client, vid, "other-seq-no", chash, "o-carol") == VERIFY_MISMATCH
    assert query_errcode(client, vid, seq, other_hash, "o-carol") == VERIFY_MISMATCH
    with pytest.raises(WeChatApiError) as err:
        client.get_image(vid, seq, other_hash, "o-carol")
    assert err.value.errcode == VERIFY_MISMATCH
    assert err.value.http_status == 502  # undocumented by WeChat: the product does not guess


def test_unknown_and_expired_verify_ids(fresh_sim: RunningSim, client: Calls) -> None:
    _, chash = issue(client)
    assert query_errcode(client, "vid_unknown", "seq-00001", chash, "o-carol") == VERIFY_ID_NOT_FOUND
    answer, chash = issue(client)
    fresh_sim.control("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
    fresh_sim.control("/sim/clock", {"advance_s": 3600})
    assert query_errcode(client, answer.verify_id, answer.out_seq_no, chash, "o-carol") == VERIFY_ID_EXPIRED


def test_the_phone_cannot_use_another_users_or_an_expired_verify_id(
    fresh_sim: RunningSim, client: Calls
) -> None:
    answer, _ = issue(client)
    resp = fresh_sim.post("/sim/verify", {"openid": "o-mallory", "verify_id": answer.verify_id})
    assert resp.status_code == 400
    assert "openid" in resp.json()["error"]
    fresh_sim.control("/sim/clock", {"advance_s": 3600})
    resp = fresh_sim.post("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
    assert resp.status_code == 400


def test_out_seq_no_is_unique_per_app(fresh_sim: RunningSim) -> None:
    seq = "dup-" + uuid.uuid4().hex[:20]
    with wechat_calls(
        fast_config(fresh_sim.url), tokens=SimTokens(fresh_sim.url), out_seq_no_factory=lambda: seq
    ) as c:
        assert c.get_verify_id(*CAROL, "o-carol").out_seq_no == seq
        with pytest.raises(WeChatApiError) as err:
            c.get_verify_id(*DAVE, "o-dave")
    assert err.value.errcode == SEQ_NO_USED


@pytest.mark.parametrize(
    "body",
    [
        {"out_seq_no": "abc", "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": "x", "cert_no": "y"}, "openid": "o"},
        {"out_seq_no": "a" * 33, "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": "x", "cert_no": "y"}, "openid": "o"},
        {"out_seq_no": "bad seq!", "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": "x", "cert_no": "y"}, "openid": "o"},
        {"out_seq_no": "fine-seq-1", "cert_info": {"cert_type": "PASSPORT", "cert_name": "x", "cert_no": "y"}, "openid": "o"},
        {"out_seq_no": "fine-seq-2", "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": "", "cert_no": "y"}, "openid": "o"},
        {"out_seq_no": "fine-seq-3", "cert_info": {"cert_type": "IDENTITY_CARD", "cert_name": "x", "cert_no": "y"}},
    ],
)  # fmt: skip
def test_getverifyid_refuses_malformed_requests_with_40097(
    fresh_sim: RunningSim, client: Calls, body: dict[str, object]
) -> None:
    token = SimTokens(fresh_sim.url).get()
    resp = httpx.post(f"{fresh_sim.url}{F}/getverifyid", params={"access_token": token}, json=body)
    assert resp.json()["errcode"] == 40097


def test_missing_token_and_malformed_json(fresh_sim: RunningSim) -> None:
    assert httpx.post(f"{fresh_sim.url}{F}/getverifyid", json={}).json()["errcode"] == 41001
    token = SimTokens(fresh_sim.url).get()
    resp = httpx.post(
        f"{fresh_sim.url}{F}/queryverifyinfo", params={"access_token": token}, content=b"{not json"
    )
    assert resp.json()["errcode"] == 47001


def test_getimage_is_48001_for_an_app_wechat_has_not_enabled_it_for(tmp_path: Path) -> None:
    """WeChat enables getimage on request; until then it answers 48001 (api unauthorized)."""
    sim = start_sim(tmp_path / "sim.log", {"WECHAT_SIM_DISABLED_APIS": json.dumps([f"{F}/getimage"])})
    try:
        with wechat_calls(fast_config(sim.url), tokens=SimTokens(sim.url)) as c:
            answer, chash = issue(c)
            sim.control("/sim/verify", {"openid": "o-carol", "verify_id": answer.verify_id})
            assert (
                c.query_verify_info(answer.verify_id, answer.out_seq_no, chash, "o-carol").verify_ret
                == VERIFY_PASS
            )
            with pytest.raises(WeChatApiError) as refused:
                c.get_image(answer.verify_id, answer.out_seq_no, chash, "o-carol")
        assert (refused.value.errcode, refused.value.http_status, refused.value.code) == (
            48001,
            502,
            "api_not_enabled",
        )
    finally:
        sim.stop()


def test_a_malformed_disabled_api_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        start_sim(tmp_path / "sim.log", {"WECHAT_SIM_DISABLED_APIS": "getimage"})
