"""The simulator's /sim control routes, exactly as docs/api.md describes them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.people import ALICE
from tests.support.simulator import APPID, SECRET, RunningSim, start_sim
from tests.support.wechat import Calls

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"path": "no-slash", "errcode": -1},
        {"path": "/cgi-bin/token"},
        {"path": "/cgi-bin/token", "errcode": -1, "http_status": 502},
        {"path": "/cgi-bin/token", "errcode": "busy"},
        {"path": "/cgi-bin/token", "http_status": 42},
        {"path": "/cgi-bin/token", "delay_ms": -5},
        {"path": "/cgi-bin/token", "errcode": -1, "times": 0},
        {"path": "/cgi-bin/token", "errcode": -1, "times": True},
    ],
)
def test_malformed_faults_are_400_with_an_error(fresh_sim: RunningSim, body: dict[str, object]) -> None:
    resp = fresh_sim.post("/sim/faults", body)
    assert resp.status_code == 400
    assert isinstance(resp.json()["error"], str)


@pytest.mark.parametrize("body", [{}, {"advance_s": -1}, {"advance_s": "60"}, {"advance_s": None}])
def test_malformed_clock_calls_are_400(fresh_sim: RunningSim, body: dict[str, object]) -> None:
    assert fresh_sim.post("/sim/clock", body).status_code == 400


def test_control_routes_refuse_non_json(fresh_sim: RunningSim) -> None:
    resp = fresh_sim.http.post("/sim/faults", content=b"{nope")
    assert resp.status_code == 400
    assert "error" in resp.json()


def test_control_routes_answer_empty_objects(fresh_sim: RunningSim) -> None:
    for path, body in [
        ("/sim/faults", {"path": "/cgi-bin/token", "delay_ms": 1}),
        ("/sim/expire-tokens", None),
        ("/sim/clock", {"advance_s": 0}),
        ("/sim/reset", None),
    ]:
        resp = fresh_sim.post(path, body)
        assert (resp.status_code, resp.json()) == (200, {}), path


def test_calls_count_faulted_calls_and_reset_zeroes_counts_and_faults(
    fresh_sim: RunningSim, client: Calls
) -> None:
    code = fresh_sim.login_code("o-reset")
    key = client.get_user_id_key(*ALICE)
    fresh_sim.control(
        "/sim/faults", {"path": "/cityservice/face/identify/getinfo", "http_status": 500, "times": 1}
    )
    httpx.post(f"{fresh_sim.url}/cityservice/face/identify/getinfo", json={})
    calls = fresh_sim.calls()
    assert calls["/cityservice/face/identify/getinfo"] == 1
    assert calls["/cityservice/face/identify/getuseridkey"] == 1
    assert "/sim/login" not in calls  # control routes are not WeChat calls
    fresh_sim.control(
        "/sim/faults", {"path": "/cityservice/face/identify/getinfo", "http_status": 500, "times": 5}
    )
    fresh_sim.control("/sim/reset")
    assert fresh_sim.calls() == {}
    # Faults are gone; tokens, codes and keys issued before the reset stay valid.
    verify_result = fresh_sim.control("/sim/verify", {"openid": "o", "user_id_key": key.user_id_key})[
        "verify_result"
    ]
    assert client.get_info(verify_result).identify_ret == 0
    assert client.code2session(APPID, SECRET, code).openid == "o-reset"


def test_the_clock_moves_only_forward_by_request(fresh_sim: RunningSim, client: Calls) -> None:
    code = fresh_sim.login_code("o-clock")
    fresh_sim.control("/sim/clock", {"advance_s": 299})
    assert client.code2session(APPID, SECRET, code).openid == "o-clock"


def test_on_the_containers_address_only_wechats_endpoints_are_served(tmp_path: Path) -> None:
    """``--also-host`` (make run CONTAINERS=...; 127.0.0.2 stands in for a Docker bridge): the
    simulator's controls (log anyone in, pass any face check), the phone page and the API
    pass-through stay on the loopback."""
    sim = start_sim(tmp_path / "sim.log", None, "--also-host", "127.0.0.2")
    try:
        port = sim.url.rsplit(":", 1)[1]
        bridge = f"http://127.0.0.2:{port}"
        for method, path in (
            ("POST", "/sim/login"),
            ("GET", "/sim/calls"),
            ("GET", "/"),
            ("GET", "/api/v1/x"),
        ):
            assert httpx.request(method, bridge + path, json={"openid": "o"}, timeout=5).status_code == 404, (
                path
            )
        token = httpx.post(
            f"{bridge}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
            timeout=5,
        ).json()
        assert "access_token" in token
        assert httpx.post(f"{sim.url}/sim/login", json={"openid": "o"}, timeout=5).status_code == 200
    finally:
        sim.stop()
