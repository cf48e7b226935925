"""Models and exceptions never show a name, ID number, secret, token or session_key."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from tests.support.people import BOB
from wxface.identity import InvalidIdentity
from wxface.wechat.errors import WeChatApiError, WeChatTokenError, error_for_errcode
from wxface.wechat.models import (
    AccessToken,
    CertInfo,
    Code2Session,
    GetInfoResponse,
    GetUserIdKeyRequest,
    GetVerifyIdRequest,
    Secret,
    StableTokenRequest,
    decode,
)

NAME, NUMBER = BOB
TOKEN = "TOKEN-abcdefghijklmnopqrstuvwxyz-0123456789"
SECRET = "the-app-secret-value"
SESSION_KEY = "c2Vzc2lvbi1rZXktdmFsdWU="


def _shown(obj: object, caplog: pytest.LogCaptureFixture) -> str:
    logging.getLogger("test").warning("%s %r", obj, obj)
    logging.getLogger("test").warning("model", extra={"obj": obj})
    dumped = msgspec.json.encode(obj, enc_hook=str).decode() if isinstance(obj, msgspec.Struct) else ""
    return " ".join([str(obj), repr(obj), dumped, caplog.text])


def test_requests_hide_personal_data_but_send_it_on_the_wire(caplog: pytest.LogCaptureFixture) -> None:
    req = GetUserIdKeyRequest(name=Secret(NAME), id_card_number=Secret(NUMBER))
    shown = _shown(req, caplog)
    assert NAME not in shown and NUMBER not in shown
    assert req.wire() == {"name": NAME, "id_card_number": NUMBER}


def test_cert_info_hides_and_nests_on_the_wire(caplog: pytest.LogCaptureFixture) -> None:
    cert = CertInfo(cert_name=Secret(NAME), cert_no=Secret(NUMBER))
    req = GetVerifyIdRequest(out_seq_no="abcde", cert_info=cert, openid="o1")
    shown = _shown(req, caplog)
    assert NAME not in shown and NUMBER not in shown
    assert req.wire()["cert_info"] == {"cert_type": "IDENTITY_CARD", "cert_name": NAME, "cert_no": NUMBER}


def test_token_and_secret_models(caplog: pytest.LogCaptureFixture) -> None:
    req = StableTokenRequest(appid="wx1", secret=Secret(SECRET))
    assert SECRET not in _shown(req, caplog)
    assert req.wire()["secret"] == SECRET
    token = decode(json.dumps({"access_token": TOKEN, "expires_in": 7200}).encode(), AccessToken)
    assert TOKEN not in _shown(token, caplog)
    assert token.access_token.get_secret_value() == TOKEN


def test_session_key_is_hidden(caplog: pytest.LogCaptureFixture) -> None:
    session = decode(json.dumps({"openid": "o1", "session_key": SESSION_KEY}).encode(), Code2Session)
    assert SESSION_KEY not in _shown(session, caplog)


def test_getinfo_hashes_stay_out_of_repr() -> None:
    info = decode(
        json.dumps({"identify_ret": 0, "id_card_number_md5": "a" * 32, "name_utf8_md5": "b" * 32}).encode(),
        GetInfoResponse,
    )
    assert "a" * 32 not in repr(info) and "b" * 32 not in repr(info)


def test_api_errors_show_code_not_what_wechat_echoed() -> None:
    err = error_for_errcode("/cgi-bin/x", 40001, f"invalid credential {TOKEN} for {NUMBER} {NAME}")
    assert isinstance(err, WeChatTokenError)
    for text in (str(err), repr(err), err.errmsg):
        assert TOKEN not in text and NUMBER not in text and NAME not in text
    assert "40001" in str(err)
    assert err.http_status == 503


def test_unknown_errcode_is_a_502_api_error() -> None:
    err = error_for_errcode("/x", 12345)
    assert type(err) is WeChatApiError
    assert err.http_status == 502
    assert err.code == "wechat_error"


def test_identity_errors_do_not_carry_the_value() -> None:
    err = InvalidIdentity("id_card_number", "length", "must be 18 characters", "必须为18位")
    assert NUMBER not in repr(err.args)
