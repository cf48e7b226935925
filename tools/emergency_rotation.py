"""The emergency rotation of the session signing key, with a bound: after a leak.

    .venv/bin/python tools/emergency_rotation.py <stack name> [--region REGION]

1. Invokes ``<stack>-key-rotator`` with ``{"emergency": true}``: the key set in SSM is replaced by
   one new key that signs at once.
2. Replaces the execution environments of the functions that sign or verify session tokens
   (``<stack>-session``, ``-face-keys``, ``-face-results``): an environment update
   (``WXFACE_SIGNING_KEYS_ROTATED_AT``); their routes invoke the alias ``live``, so a version of
   the update is published and the alias moved to it, after which every new invocation runs in a
   new environment, which reads the new key set; an environment still serving an invocation begun
   before ends with it, within the function's timeout. With ``SnapStart=true`` the published
   version is snapshotted first (its init holds no key: keys are read on the first request), which
   takes a minute or two: the command waits for the version to be active before moving the alias.

So once this command has returned and the functions' timeout (15 s) has passed, no container signs
with or accepts the retired key. New logins work throughout; a token signed just before the bound
stops working at it (one 401, and the shipped client logs in again by itself).

It runs with the operator's own AWS credentials (boto3 finds them as for any AWS program):
``lambda:InvokeFunction`` on the rotator; ``lambda:GetFunctionConfiguration``,
``lambda:UpdateFunctionConfiguration``, ``lambda:PublishVersion``, ``lambda:GetAlias`` and
``lambda:UpdateAlias`` on the three functions. The scheduled rotator's role has none of the last
four, on purpose: nothing the stack runs can rewrite a function. The variable it sets is not in
the template: the next ``sam deploy`` that changes the functions publishes a version without it
(and deletes the rotation's version, VersionDeletionPolicy), which changes nothing else. Locally, ``AWS_ENDPOINT_URL`` (the local AWS
endpoint) and the local operator's credentials, as the ``make run`` walkthrough shows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import boto3

ROTATED_AT = "WXFACE_SIGNING_KEYS_ROTATED_AT"
TOKEN_FUNCTIONS = ("session", "face-keys", "face-results")
ALIAS = "live"  # the template's AutoPublishAlias: what the routes invoke


def rotate(client: Any, stack: str, *, wait_s: float = 300.0, now: float | None = None) -> dict[str, Any]:
    """Rotate, then replace the token functions' environments; answers what was done and the
    time from which no container holds the retired key."""
    answer = client.invoke(
        FunctionName=f"{stack}-key-rotator", Payload=json.dumps({"emergency": True}).encode()
    )
    rotated = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError") or not rotated.get("emergency"):
        raise SystemExit(f"the key rotator failed: {rotated}")
    stamp = str(int(time.time() if now is None else now))
    longest = 0
    for suffix in TOKEN_FUNCTIONS:
        name = f"{stack}-{suffix}"
        config = client.get_function_configuration(FunctionName=name)
        variables = {**config.get("Environment", {}).get("Variables", {}), ROTATED_AT: stamp}
        client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        deadline = time.monotonic() + wait_s
        while client.get_function_configuration(FunctionName=name).get("LastUpdateStatus") != "Successful":
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not finish updating within {wait_s:.0f} s")
            time.sleep(1)
        # The routes invoke the alias: publish the update (a SnapStart version is active once its
        # snapshot is made) and move the alias there, which replaces the alias's environments.
        version = client.publish_version(FunctionName=name)["Version"]
        while (
            client.get_function_configuration(FunctionName=name, Qualifier=version).get("State") != "Active"
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} version {version} was not active within {wait_s:.0f} s")
            time.sleep(2)
        client.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
        longest = max(longest, int(config.get("Timeout", 15)))
    return {"kid": rotated.get("kid"), "replaced": list(TOKEN_FUNCTIONS), "bound": time.time() + longest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("stack", help="the stack's name (its functions are <stack>-session, ...)")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    done = rotate(boto3.client("lambda", region_name=args.region), args.stack)
    bound = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(done["bound"]))
    print(json.dumps({**done, "bound": bound}))
    print(f"From {bound} no container signs with or accepts the retired key.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
