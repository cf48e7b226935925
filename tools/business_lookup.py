"""A business server reads a user's latest face verification result:
``GET /v1/users/{openid}/face/results/latest``, authorised by IAM (SigV4), not by a session.

    .venv/bin/python tools/business_lookup.py <api url> <openid> [--region REGION]

The request is signed with botocore's SigV4 signer (service ``execute-api``) with the credentials
boto3 finds as for any AWS program (environment, profile, instance or task role); the caller's
IAM identity needs the stack's ``ResultReaderPolicy`` (stack output) attached. The region comes
from the API's URL (``https://<id>.execute-api.<region>.amazonaws.com``), else ``--region`` or
the environment. Prints the answer's JSON; exits 0 on 200, 1 otherwise (404: no stored result;
403: IAM does not allow the caller).

Copy it into your own services as a starting point: it needs only boto3 (or botocore alone).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def latest_result_url(api: str, openid: str) -> str:
    if urllib.parse.urlsplit(api).scheme not in ("http", "https"):
        raise SystemExit(f"not an http(s) URL: {api}")
    return f"{api.rstrip('/')}/v1/users/{urllib.parse.quote(openid, safe='')}/face/results/latest"


def signed_request(url: str, region: str, credentials: Credentials) -> AWSRequest:
    """A GET of ``url`` signed for API Gateway (``execute-api``) in ``region``."""
    request = AWSRequest(method="GET", url=url, headers={"Accept": "application/json"})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return request


def send(request: AWSRequest, timeout: float = 10.0) -> tuple[int, Any]:
    prepared = request.prepare()
    # http(s) only (latest_result_url checks the scheme)
    outgoing = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method=prepared.method)  # noqa: S310
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body or b"null")
        except ValueError:
            return err.code, body.decode("utf-8", "replace")


def region_of(api: str, given: str | None, session: boto3.Session) -> str:
    host = urllib.parse.urlsplit(api).hostname or ""
    match = _REGION_IN_URL.search(host)
    region = given or (match.group(1) if match else None) or session.region_name
    if not region:
        raise SystemExit("no region: pass --region or set AWS_DEFAULT_REGION")
    return region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "api", help="the API's base URL (stack output ApiUrl, or http://127.0.0.1:3000 locally)"
    )
    parser.add_argument("openid", help="the user's openid (the business's own key of the user)")
    parser.add_argument("--region", help="the API's region (default: from the URL, else the environment)")
    args = parser.parse_args(argv)
    session = boto3.Session()
    found = session.get_credentials()
    if found is None:
        raise SystemExit("no AWS credentials found (environment, profile or role)")
    status, body = send(
        signed_request(
            latest_result_url(args.api, args.openid), region_of(args.api, args.region, session), found
        )
    )
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
