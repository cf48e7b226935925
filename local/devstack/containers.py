"""``make run CONTAINERS=<host>``: what `sam local invoke` (Docker) needs to run a function
against this run's stack: an ``env.json`` (the template's own variables, with the local values and
the URLs a container reaches this machine by) and a shared-credentials file with one profile per
function holding that function's role credentials (the local AWS endpoint enforces IAM, as AWS
does). `sam local` applies env.json only to variables the template declares; the endpoint itself
reaches the functions as ``AWS_ENDPOINT_URL`` through the template's ``LocalAwsEndpointUrl``
parameter, which deployments leave empty."""

from __future__ import annotations

import configparser
import io
import ipaddress
import json
from pathlib import Path
from typing import Any

from .template import Stack

SCHEDULE_EVENT = "events/schedule.json"


def extra_listen_address(host: str) -> str | None:
    """An IP address other than the loopback is listened on as well (a Docker bridge, e.g.
    172.17.0.1 on Linux); a name (host.docker.internal on Docker Desktop) reaches the loopback."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_loopback else host


def event_for(stack: Stack, logical_id: str, root: Path) -> str:
    """The events/ file for a function: one for its first route, else the scheduled event."""
    fn = stack.functions[logical_id]
    for path in sorted((root / "events").glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        if any(event.get("routeKey") == route.route_key for route in fn.routes):
            return f"events/{path.name}"
    return SCHEDULE_EVENT


def write(
    directory: Path,
    host: str,
    stack: Stack,
    principals: dict[str, dict[str, str]],
    aws_port: int,
    sim_port: int,
) -> dict[str, Any]:
    """Writes env.json and credentials into ``directory``; answers what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    aws_url, sim_url = f"http://{host}:{aws_port}", f"http://{host}:{sim_port}"
    env: dict[str, dict[str, str]] = {}
    for logical_id, fn in stack.functions.items():
        values = dict(fn.environment)
        values["WECHAT_BASE_URL"] = sim_url
        values["AWS_ENDPOINT_URL"] = aws_url
        env[logical_id] = values
    (directory / "env.json").write_text(json.dumps(env, indent=2, ensure_ascii=False), encoding="utf-8")
    profiles = configparser.ConfigParser()
    for logical_id, creds in principals.items():
        profiles[logical_id] = {
            "aws_access_key_id": creds["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"],
            **({"aws_session_token": creds["AWS_SESSION_TOKEN"]} if "AWS_SESSION_TOKEN" in creds else {}),
        }
    text = io.StringIO()
    profiles.write(text)
    credentials = directory / "credentials"
    credentials.touch(mode=0o600)
    credentials.chmod(0o600)
    credentials.write_text(text.getvalue(), encoding="utf-8")
    return {"env": directory / "env.json", "credentials": credentials, "aws_url": aws_url, "sim_url": sim_url}


def commands(stack: Stack, written: dict[str, Any], root: Path, region: str) -> list[str]:
    """One `sam local invoke` line per function, to paste (after `make build`)."""
    params = {
        "LocalAwsEndpointUrl": written["aws_url"],
        "WeChatBaseUrl": written["sim_url"],
        "WeChatAppId": stack.parameters["WeChatAppId"],
        "FaceApiVersion": stack.parameters["FaceApiVersion"],
    }
    overrides = " ".join(f"{k}={v}" for k, v in params.items())
    return [
        f"AWS_SHARED_CREDENTIALS_FILE={written['credentials']} .venv-tools/bin/sam local invoke {logical_id} "
        f"-e {event_for(stack, logical_id, root)} --env-vars {written['env']} --profile {logical_id} "
        f"--region {region} --parameter-overrides {overrides}"
        for logical_id in stack.functions
    ]
