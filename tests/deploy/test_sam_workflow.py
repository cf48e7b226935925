"""The SAM workflow people already know, checked without AWS or Docker: samconfig.toml's sections,
the make wrappers, events/ against the template's routes, and what `make run CONTAINERS=...`
writes for `sam local invoke` (env.json holds only variables the template declares for each
function, as SAM applies no others; one credentials profile per function, its role's)."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from devstack import containers
from devstack.template import REGION, load, read
from tests.support.stack import start_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_TEXT = (ROOT / "template.yaml").read_text()
STACK = load(ROOT / "template.yaml", stack_name="wechat-face-local")


DOC = read(ROOT / "template.yaml")


def declared_parameters() -> set[str]:
    return set(DOC["Parameters"])


def declared_variables(logical_id: str) -> set[str]:
    """The environment variables the template declares for a function (Globals and its own),
    whether or not a condition drops them."""
    names = set(DOC["Globals"]["Function"]["Environment"]["Variables"])
    own = DOC["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return names | set(own)


def test_samconfig_has_dev_and_prod_with_build_deploy_and_a_dev_only_sync() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    parameters = declared_parameters()
    for env in ("default", "dev", "prod"):
        assert config[env]["global"]["parameters"]["stack_name"].startswith("wechat-face-")
        assert config[env]["build"]["parameters"]["cached"] is True
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"  # one least-privilege role per function
        assert deploy["confirm_changeset"] is True
        assert "region" not in deploy  # left to the user (guided deploy asks and saves it)
        for pair in deploy["parameter_overrides"].split():
            assert pair.split("=", 1)[0] in parameters, pair
        assert config[env]["logs"]["parameters"]["tail"] is True
    assert config["dev"]["sync"]["parameters"]["watch"] is True
    assert "sync" not in config["prod"]
    assert (
        config["dev"]["global"]["parameters"]["stack_name"]
        != config["prod"]["global"]["parameters"]["stack_name"]
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "deploy",
            [
                "tools/preflight.py deploy dev",
                "sam build",
                "sam deploy --config-env dev --region $(cat .aws-sam/region-dev)",
            ],
        ),
        ("logs", ["tools/preflight.py access dev", "sam logs --config-env dev --region $region"]),
        ("delete", ["tools/preflight.py access dev", "sam delete --config-env dev --region $region"]),
        ("sync", ["tools/preflight.py access dev", "sam sync --watch --config-env dev --region $region"]),
    ],
)
def test_the_make_wrappers_check_first_then_call_the_pinned_sam_cli_with_samconfig(
    target: str, expected: list[str]
) -> None:
    out = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert ".venv-tools/bin/sam" in out.stdout
    assert "--guided" not in out.stdout  # a first deployment asks only what it needs (preflight)
    where = [out.stdout.index(e) for e in expected]
    assert where == sorted(where), out.stdout  # the checks come before the SAM CLI


def test_make_sync_refuses_the_prod_stack() -> None:
    out = subprocess.run(["make", "sync", "ENV=prod"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "make sync is for a dev stack" in out.stderr


def test_every_function_has_its_requirements_file() -> None:
    for fn in STACK.functions.values():
        assert (fn.code_dir / "requirements.txt").is_file(), fn.logical_id


def test_every_event_matches_a_route_of_the_template_or_is_the_schedule() -> None:
    routes = {route.route_key for route in STACK.routes}
    covered = set()
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("detail-type") == "Scheduled Event":
            assert event["source"] == "aws.events"
            continue
        assert event["version"] == "2.0", path.name  # HTTP API, payload format 2.0
        assert event["routeKey"] in routes, path.name
        assert event["rawPath"].startswith("/v1/"), path.name
        covered.add(event["routeKey"])
    # Every API function has an event to invoke it with.
    for fn in STACK.functions.values():
        if fn.routes:
            assert any(r.route_key in covered for r in fn.routes), fn.logical_id


def test_make_run_containers_writes_env_json_and_credentials_sam_local_would_apply(tmp_path: Path) -> None:
    issued = tmp_path / "issued.json"
    stack = start_stack(
        2,
        tmp_path / "stack.log",
        None,
        "--containers",
        "host.docker.internal",
        "--write-credentials",
        str(issued),
    )
    try:
        aws_port = stack.aws.rsplit(":", 1)[1]
        sim_port = stack.sim.rsplit(":", 1)[1]
        env = json.loads((ROOT / ".aws-sam" / "local" / "env.json").read_text())
        assert set(env) == set(STACK.functions)
        for logical_id, values in env.items():
            # SAM applies env.json only to variables the template declares for the function.
            assert set(values) <= declared_variables(logical_id), logical_id
            assert values["AWS_ENDPOINT_URL"] == f"http://host.docker.internal:{aws_port}"
            assert values["WECHAT_BASE_URL"] == f"http://host.docker.internal:{sim_port}"
            assert values["TABLE_NAME"] == STACK.table_name
        credentials = ROOT / ".aws-sam" / "local" / "credentials"
        assert credentials.stat().st_mode & 0o077 == 0  # the roles' secrets: owner only
        profiles = configparser.ConfigParser()
        profiles.read(credentials)
        roles = json.loads(issued.read_text())
        assert set(profiles.sections()) == set(roles)
        for logical_id, creds in roles.items():
            assert profiles[logical_id]["aws_access_key_id"] == creds["AWS_ACCESS_KEY_ID"]
        # The walkthrough's sam local invoke lines: one per function, each with an existing event.
        written = {"env": "env.json", "credentials": "credentials", "aws_url": "a", "sim_url": "s"}
        lines = containers.commands(STACK, written, ROOT, REGION)
        assert len(lines) == len(STACK.functions)
        for line in lines:
            event = re.search(r" -e (\S+) ", line)
            assert event and (ROOT / event.group(1)).is_file(), line
            assert "LocalAwsEndpointUrl=a" in line and "--profile" in line
    finally:
        stack.stop()


def test_deployed_functions_get_no_aws_endpoint_url() -> None:
    # The local endpoint's variable exists only when LocalAwsEndpointUrl is given (sam local).
    for fn in STACK.functions.values():
        assert "AWS_ENDPOINT_URL" not in fn.environment, fn.logical_id
    local = load(
        ROOT / "template.yaml",
        stack_name="x",
        overrides={"LocalAwsEndpointUrl": "http://host.docker.internal:3002"},
    )
    assert all(
        fn.environment["AWS_ENDPOINT_URL"] == "http://host.docker.internal:3002"
        for fn in local.functions.values()
    )
