"""Each function's handler, in-process, driven by the sample events in events/ (the same files
`sam local invoke -e` takes), against the simulator and a real local AWS endpoint."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.aws import Deployment, fresh_container
from tests.support.handlers import EVENTS, ROOT, Context, event, load, login, refresh
from tests.support.people import ALICE
from tests.support.simulator import RunningSim
from wxface.domain.results import SWEEP_CALL_BUDGET_S


def test_refresher_with_the_schedule_event(deployment: Deployment, fresh_sim: RunningSim) -> None:
    fresh_sim.control("/sim/expire-tokens")
    assert refresh(deployment) == {"ok": True, "changed": True, "forced": False, "expires_in": 7200}
    assert refresh(deployment)["changed"] is False


def test_session_with_its_event(deployment: Deployment, fresh_sim: RunningSim) -> None:
    token = login(fresh_sim, "o-unit-session")
    assert token.count(".") == 2
    bad = load("session", "session_handler").lambda_handler(event("session.json"), Context())
    assert bad["statusCode"] == 400  # the sample's placeholder code is not a valid wx.login code
    assert json.loads(bad["body"])["error"]["request_id"] == "JKJaXmPLvHcESHA="


def test_key_issuance_with_its_event(deployment: Deployment, fresh_sim: RunningSim) -> None:
    refresh(deployment)
    token = login(fresh_sim, "o-unit-keys")
    handler = load("face_keys", "keys_handler").lambda_handler
    answer = handler(event("face_keys.json", token=token), Context())
    assert answer["statusCode"] == 200, answer
    body = json.loads(answer["body"])
    assert body["api_version"] == 2 and body["verify_id"]
    assert answer["headers"]["Cache-Control"] == "no-store"
    unauthenticated = handler(event("face_keys.json"), Context())  # the sample's placeholder token
    assert unauthenticated["statusCode"] == 401


def test_results_with_their_events(deployment: Deployment, fresh_sim: RunningSim) -> None:
    refresh(deployment)
    token = login(fresh_sim, "o-unit-results")
    keys = load("face_keys", "keys_handler").lambda_handler
    verify_id = json.loads(keys(event("face_keys.json", token=token), Context())["body"])["verify_id"]
    fresh_sim.control("/sim/verify", {"openid": "o-unit-results", "verify_id": verify_id})
    results = load("face_results", "results_handler").lambda_handler
    found = results(event("face_results_v2.json", token=token, body={"verify_id": verify_id}), Context())
    assert found["statusCode"] == 200, found
    assert json.loads(found["body"])["passed"] is True
    latest = results(event("face_results_latest.json", token=token), Context())
    assert json.loads(latest["body"]) == json.loads(found["body"])
    erased = results(event("erase_me.json", token=token), Context())
    assert erased["statusCode"] == 204
    # The erasure ended the session it came with (on every container); a new login finds nothing.
    assert results(event("face_results_latest.json", token=token), Context())["statusCode"] == 401
    time.sleep(1)  # a token issued in the erasure's second would end with it
    again = login(fresh_sim, "o-unit-results")
    assert results(event("face_results_latest.json", token=again), Context())["statusCode"] == 404


def test_results_v1_event(
    deployment: Deployment, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACE_API_VERSION", "1")
    fresh_container()
    refresh(deployment)
    token = login(fresh_sim, "o-unit-v1")
    keys = load("face_keys", "keys_handler").lambda_handler
    key = json.loads(keys(event("face_keys.json", token=token, body={"name": ALICE[0], "id_card_number": ALICE[1]}),
                          Context())["body"])  # fmt: skip
    assert key["api_version"] == 1
    verify_result = fresh_sim.control(
        "/sim/verify", {"openid": "o-unit-v1", "user_id_key": key["user_id_key"]}
    )["verify_result"]
    results = load("face_results", "results_handler").lambda_handler
    found = results(
        event("face_results_v1.json", token=token, body={"verify_result": verify_result}), Context()
    )
    body = json.loads(found["body"])
    assert (body["passed"], body["identity_matched"], body["api_version"]) == (True, True, 1)


def test_every_sample_event_names_a_route_in_the_template() -> None:
    template = (ROOT / "template.yaml").read_text()
    for path in EVENTS.glob("*.json"):
        data = json.loads(path.read_text())
        if "routeKey" in data:
            method, route = data["routeKey"].split(" ", 1)
            assert f"Method: {method}\n            Path: {route}\n" in template, path.name


def test_an_aws_failure_is_a_503_without_details(
    deployment: Deployment, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(deployment)
    token = login(fresh_sim, "o-unit-aws-down")
    monkeypatch.setenv("TABLE_NAME", "no-such-table")  # DynamoDB answers ResourceNotFoundException
    fresh_container()
    answer = load("face_keys", "keys_handler").lambda_handler(event("face_keys.json", token=token), Context())
    assert answer["statusCode"] == 503
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "service_unavailable"
    assert "no-such-table" not in answer["body"] and "ResourceNotFound" not in answer["body"]


@pytest.mark.parametrize("version", [1, 2])
def test_a_cold_containers_first_request_reads_ssm_once_and_a_warm_one_never(
    deployment: Deployment, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """In both versions: 1.0 never creates the 2.0 sealing key, and a parameter that does not exist
    must not turn every request into an SSM read."""
    monkeypatch.setenv("FACE_API_VERSION", str(version))
    fresh_container()
    refresh(deployment)
    token = login(fresh_sim, "o-unit-ssm")
    keys = load("face_keys", "keys_handler").lambda_handler
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200  # creates the data key
    fresh_container()
    calls: list[str] = []
    module = load("face_keys", "keys_handler")  # a new container of the keys function
    module.container.aws.ssm().meta.events.register(
        "before-call.ssm.*", lambda model, **_: calls.append(model.name)
    )
    keys = module.lambda_handler
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200
    assert calls == ["GetParameters"]  # signing key, data key and token in one call
    calls.clear()
    assert keys(event("face_keys.json", token=token), Context())["statusCode"] == 200
    assert calls == []
    module = load("face_results", "results_handler")  # the results function: a container of its own
    module.container.aws.ssm().meta.events.register(
        "before-call.ssm.*", lambda model, **_: calls.append(model.name)
    )
    for _ in range(2):
        assert (
            module.lambda_handler(event("face_results_latest.json", token=token), Context())["statusCode"]
            == 404
        )
    # Its keys, token and sealing key in one call (in 1.0 the sealing key, which the events it
    # writes need, is not created yet: looked for in that call, not again).
    assert calls == ["GetParameters"]


def test_a_key_not_created_yet_is_not_asked_for_on_every_request(
    deployment: Deployment, fresh_sim: RunningSim
) -> None:
    """Before the first key issuance of a new 2.0 stack the sealing key does not exist: the
    results function's prefetch finds it missing once, not on every request."""
    refresh(deployment)
    token = login(fresh_sim, "o-unit-absent")
    fresh_container()
    calls: list[str] = []
    module = load("face_results", "results_handler")
    module.container.aws.ssm().meta.events.register(
        "before-call.ssm.*", lambda model, **_: calls.append(model.name)
    )
    results = module.lambda_handler
    for _ in range(3):
        assert results(event("face_results_latest.json", token=token), Context())["statusCode"] == 404
    assert calls == ["GetParameters"]


def test_the_business_route_with_its_event(deployment: Deployment, fresh_sim: RunningSim) -> None:
    """API Gateway authorises the route with IAM and passes the caller; the function answers only
    then (a route deployed without its authoriser fails closed, with API Gateway's own 403)."""
    refresh(deployment)
    results = load("face_results", "results_handler").lambda_handler
    sample = event("business_latest_result.json")
    openid = sample["pathParameters"]["openid"]
    assert results(sample, Context())["statusCode"] == 404  # nothing stored for the user yet
    token = login(fresh_sim, openid)
    keys = load("face_keys", "keys_handler").lambda_handler
    body = {"name": ALICE[0], "id_card_number": ALICE[1], "biz_ref": "order-77"}
    verify_id = json.loads(keys(event("face_keys.json", token=token, body=body), Context())["body"])[
        "verify_id"
    ]
    fresh_sim.control("/sim/verify", {"openid": openid, "verify_id": verify_id})
    found = results(event("face_results_v2.json", token=token, body={"verify_id": verify_id}), Context())
    answer = results(event("business_latest_result.json"), Context())
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {**json.loads(found["body"]), "openid": openid}
    assert json.loads(answer["body"])["biz_ref"] == "order-77"
    # Without the IAM caller API Gateway passes (no authoriser), even with a user's session: 403.
    unauthorised = event("business_latest_result.json", token=token)
    del unauthorised["requestContext"]["authorizer"]
    refused = results(unauthorised, Context())
    assert (refused["statusCode"], json.loads(refused["body"])) == (403, {"message": "Forbidden"})
    malformed = event("business_latest_result.json")
    malformed["pathParameters"]["openid"] = "not an openid!"
    malformed["rawPath"] = malformed["requestContext"]["http"]["path"] = (
        "/v1/users/not an openid!/face/results/latest"
    )
    assert results(malformed, Context())["statusCode"] == 400


def test_the_emitter_and_the_sweeper_with_the_schedule_event(
    deployment: Deployment, fresh_sim: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULT_SWEEP_AFTER_SECONDS", "0")
    fresh_container()
    refresh(deployment)
    scheduled = json.loads((EVENTS / "schedule.json").read_text())
    emitter = load("event_emitter", "emitter_handler").lambda_handler
    sweeper = load("result_sweeper", "sweeper_handler").lambda_handler
    assert emitter(scheduled, Context()) == {"sent": 0, "deferred": 0, "dropped": 0}
    token = login(fresh_sim, "o-unit-sweep")
    keys = load("face_keys", "keys_handler").lambda_handler
    verify_id = json.loads(keys(event("face_keys.json", token=token), Context())["body"])["verify_id"]
    fresh_sim.control("/sim/verify", {"openid": "o-unit-sweep", "verify_id": verify_id})
    assert sweeper(scheduled, Context()) == {"stored": 1}  # the app never looked it up
    assert sweeper(scheduled, Context()) == {}
    # The sweep's WeChat calls have a short budget of their own (nobody waits for them), so a run
    # starts lookups for longer within its Timeout; the users' lookups keep the whole budget.
    module = load("result_sweeper", "sweeper_handler")
    assert module.container.sweep.wechat.policy.total_budget == SWEEP_CALL_BUDGET_S == 3.0
    assert module.container.results.wechat.policy.total_budget == 10.0
    results = load("face_results", "results_handler").lambda_handler
    latest = results(event("face_results_latest.json", token=token), Context())
    assert json.loads(latest["body"])["passed"] is True
