"""The runbook's emergency rotation with a bound (tools/emergency_rotation.py): once it has
returned and the functions' timeout has passed, no container signs with or accepts the retired
key, on a stack with the default KeyCacheSeconds (60 s, which alone would leave old containers
signing and accepting it for up to a minute); logins keep working throughout."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.people import ALICE
from tests.support.stack import RunningStack, start_stack
from tools.emergency_rotation import ROTATED_AT, rotate

pytestmark = pytest.mark.integration

STACK = "wechat-face-local"


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, Path]]:
    where = tmp_path_factory.mktemp("emergency")
    credentials = where / "credentials.json"
    stack = start_stack(2, where / "stack.log", None, "--write-credentials", str(credentials))
    yield stack, credentials
    stack.stop()


def kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def test_after_the_command_no_container_signs_with_or_accepts_the_retired_key(
    defaults: tuple[RunningStack, Path],
) -> None:
    stack, _ = defaults
    old = stack.login("rot-old")
    assert stack.issue_key(old, ALICE).status_code == 200  # every token function has a warm container
    assert stack.call("GET", "/v1/face/results/latest", old).status_code == 404
    # Logins go on while the command runs: every one is answered, whatever key signs it.
    answered: list[int] = []
    stop = threading.Event()

    def keep_logging_in() -> None:
        while not stop.is_set():
            code = stack.sim_control("/sim/login", {"openid": "rot-busy"})["code"]
            answered.append(stack.http.post("/v1/session", json={"code": code}).status_code)

    busy = threading.Thread(target=keep_logging_in)
    busy.start()
    try:
        done = rotate(stack.aws_client("lambda"), STACK, wait_s=30)
    finally:
        stop.set()
        busy.join()
    assert answered and set(answered) == {200}
    time.sleep(max(0.0, done["bound"] - time.time()))  # the functions' timeout: in-flight ones end
    for route in (("GET", "/v1/face/results/latest"), ("POST", "/v1/face/keys")):
        refused = stack.call(*route, old, {"name": ALICE[0], "id_card_number": ALICE[1]})
        assert refused.status_code == 401, route  # on every function, at once: no cache to age out
    new = stack.login("rot-new")
    assert kid(new) == done["kid"] != kid(old)
    assert stack.issue_key(new, ALICE).status_code == 200
    assert stack.call("GET", "/v1/face/results/latest", new).status_code == 404


def test_the_scheduled_rotator_cannot_rewrite_a_function(defaults: tuple[RunningStack, Path]) -> None:
    """Only the operator's command replaces environments: the rotator's own role may not."""
    stack, credentials = defaults
    issued = json.loads(credentials.read_text())["KeyRotatorFunction"]
    rotator = stack.aws_client(
        "lambda",
        aws_access_key_id=issued["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=issued["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=issued.get("AWS_SESSION_TOKEN", ""),
    )
    with pytest.raises(ClientError) as refused:
        rotator.update_function_configuration(
            FunctionName=f"{STACK}-session", Environment={"Variables": {ROTATED_AT: "0"}}
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_routes_run_the_aliases_version_not_a_configuration_update_alone(
    defaults: tuple[RunningStack, Path],
) -> None:
    """As Lambda does for routes that invoke an alias: an environment update changes $LATEST
    only; the routes run it once a version of it is published and the alias moved there (which
    is why the rotation publishes and moves the alias: an update alone would rotate nothing)."""
    stack, _ = defaults
    lam = stack.aws_client("lambda")
    name = f"{STACK}-session"
    before = lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
    deployed = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]

    def expires_in() -> int:
        code = stack.sim_control("/sim/login", {"openid": "alias-check"})["code"]
        answer = stack.http.post("/v1/session", json={"code": code})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["expires_in"])

    default = expires_in()
    try:
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**deployed, "SESSION_TTL_SECONDS": "120"}}
        )
        assert expires_in() == default  # the routes still run the alias's version
        assert (
            lam.get_function_configuration(FunctionName=name, Qualifier="live")["Environment"]["Variables"]
            == deployed
        )
        version = lam.publish_version(FunctionName=name)["Version"]
        assert int(version) > int(before)
        lam.update_alias(FunctionName=name, Name="live", FunctionVersion=version)
        assert expires_in() == 120
        with pytest.raises(ClientError) as refused:  # the local stack runs it at its alias only
            lam.invoke(FunctionName=name, Payload=b"{}")
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": deployed})
        lam.update_alias(
            FunctionName=name, Name="live", FunctionVersion=lam.publish_version(FunctionName=name)["Version"]
        )
    assert expires_in() == default
